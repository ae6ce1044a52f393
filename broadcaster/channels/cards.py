"""Notice cards: one 1080×1350 JPEG per notice, for the platforms that show a picture.

Instagram publishes nothing but images, and Meta fetches the image from a public URL at the
moment the post is made. So a card is rendered from the notice's facts (a closure's dates,
reason and reopening day, or an article's title), written beside the banner files -- the
folder the website already serves -- and addressed by ``channels.banner.public_url``.
Telegram, Bluesky and Mastodon attach the same card when their section says ``cards: true``.

Two halves: :func:`card_text` and :func:`render_card` are pure (facts in, words and JPEG
bytes out), so tests and ``preview`` can look at a card without I/O; :class:`Cards` names a
card by its content and writes it once. A card's file name carries a digest of its words
and the layout version, so a moved closure gets a new URL and no platform shows a cached
picture of the old dates.

A card speaks the language of the notice variant it is drawn for (:mod:`.card_words`: CLDR
dates, and the card's own words per language), and draws each run of text in its script's
font -- Source Sans Pro for Latin, Noto Sans SC for Chinese, Noto Sans Tamil, shaped by
HarfBuzz (:mod:`.card_fonts`). Every font ships with the package or as a declared dependency:
nothing is fetched at run time and nothing depends on the machine's own fonts.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from broadcaster.channels.base import Outgoing
from broadcaster.channels.card_fonts import Face, Weight, uncovered
from broadcaster.channels.card_words import WORDS, card_language, day_words
from broadcaster.channels.settings.banner import BannerConfig
from broadcaster.config import Config, Site
from broadcaster.errors import PermanentError, RetryableError
from broadcaster.notices.base import about_days

if TYPE_CHECKING:  # PIL is imported when a card is drawn: most runs draw none
    from PIL import ImageDraw

log = logging.getLogger("broadcaster.cards")
SIZE = (1080, 1350)  # Instagram's tallest feed shape (4:5)
LAYOUT_VERSION = "2"  # part of every card's name: change it when the drawing changes
FOLDER = "cards"  # under the banner's output_dir
MARGIN = 96
BACKGROUND = (18, 52, 59)
INK = (246, 239, 227)
MUTED = (190, 212, 208)
ACCENT = (232, 168, 124)
BAND = (12, 38, 44)
JPEG_QUALITY = 88
#: the space between a number and a word: a no-break one in a headline (``26 March``)
NUMBER_AND_WORD = re.compile(r"(?<=\d) (?=\w)|(?<=\w) (?=\d)")


@dataclass(frozen=True)
class CardText:
    """The words on one card, top to bottom, and its description for screen readers."""

    site: str  # the organisation's name, at the top
    kicker: str  # "Closed", "New on our blog"
    headline: str  # the closure's dates, or the article's title
    subline: str  # weekdays, or the article's summary
    detail: str  # the reason and outlets of a closure
    footer: str  # "Open again Thursday 28 March"
    domain: str  # the site's address, at the bottom
    alt: str


@dataclass(frozen=True)
class Card:
    """A card as addressed on the website: its words, its file name and its public URL."""

    text: CardText
    name: str  # "cards/<notice-id>-<digest>.jpg", relative to the banner's output_dir
    url: str

    @property
    def alt(self) -> str:
        return self.text.alt


# -- words ------------------------------------------------------------------------------------


class NoCard(ValueError):
    """A notice of a kind that has no card (never drawn as something it is not)."""


def card_text(
    occasion: str,
    site: Site,
    facts: Mapping[str, Any],
    title: str | None = None,
    summary: str | None = None,
) -> CardText:
    """What a notice's card says, in the language of the notice (:mod:`.card_words`): the
    days of a notice about opening days (a closure, an hours change) from its ``facts``, or
    an article's ``title`` and ``summary``; any other kind has no card (:class:`NoCard`), so
    it is never drawn as a blog post."""
    domain = urlsplit(site.url).netloc
    language = card_language(facts, site.all_languages[0])
    if about_days(facts):
        said = day_words(occasion, facts, site.name, language, site.region)
        return CardText(
            site.name,
            said.kicker,
            said.headline,
            said.subline,
            said.detail,
            said.footer,
            domain,
            said.alt,
        )
    if facts.get("kind") != "article":
        raise NoCard(f"a {facts.get('kind', 'notice')} notice has no card")
    words = WORDS[language]
    headline = title or site.name
    blurb = _clip(summary or "", 220)
    alt = words.article_alt.format(name=site.name, headline=headline) + (
        f" {blurb}" if blurb else ""
    )
    return CardText(site.name, words.article, headline, blurb, "", "", domain, alt)


def draws(facts: Mapping[str, Any] | None) -> bool:
    """Whether a ``cards: true`` channel attaches a card: to notices about opening days."""
    return about_days(facts)


def has_card(facts: Mapping[str, Any] | None) -> bool:
    """Whether :func:`card_text` can draw this notice at all."""
    return about_days(facts) or (facts or {}).get("kind") == "article"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


# -- drawing ----------------------------------------------------------------------------------


def render_card(text: CardText) -> bytes:
    """The card as JPEG bytes (1080×1350, sRGB, baseline); pure and deterministic. Each run
    of text is drawn in its script's font (:mod:`.card_fonts`)."""
    from PIL import Image, ImageDraw

    missing = uncovered(" ".join(asdict(text).values()))
    if missing:
        log.warning(
            "the card's Chinese font has no %s: drawn as boxes", "".join(sorted(set(missing)))
        )
    image = Image.new("RGB", SIZE, BACKGROUND)
    draw = ImageDraw.Draw(image)
    width = SIZE[0] - 2 * MARGIN
    draw.rectangle((0, 0, SIZE[0], 18), fill=ACCENT)
    site = Face("Semibold", 38)
    site.draw(draw, (MARGIN, 110), site.clip(text.site.upper(), width, 4), MUTED, spacing=4)
    y = 330
    kicker = Face("Bold", 46)
    for line in kicker.wrap(text.kicker.upper(), width)[:2]:
        kicker.draw(draw, (MARGIN, y), line, ACCENT)
        y += 60
    y += 24
    largest = 150 if len(text.headline) <= 24 else 112  # dates big, a title still bold
    headline = NUMBER_AND_WORD.sub("\u00a0", text.headline)  # "30 March –" / "2 April"
    face, lines = _fitted(headline, "Bold", largest, 64, width, max_lines=4)
    bottom = y
    for line in lines:
        bottom = face.draw(draw, (MARGIN, y), line, INK)
        y += int(face.size * 1.12)
    y = max(y, bottom + 12) + 18
    for part, size, colour, most in ((text.subline, 50, INK, 4), (text.detail, 42, MUTED, 4)):
        face = Face("Regular", size)
        for line in face.wrap(part, width)[:most]:
            if y > SIZE[1] - 330:
                break
            face.draw(draw, (MARGIN, y), line, colour)
            y += int(size * 1.3)
        y += 26
    if text.footer:
        _footer(draw, text.footer, width)
    domain = Face("Regular", 36)
    domain.draw(draw, (MARGIN, SIZE[1] - 108), domain.clip(text.domain, width), MUTED)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _footer(draw: ImageDraw.ImageDraw, footer: str, width: int) -> None:
    """The band near the bottom: one line at up to 48 px, or two smaller ones."""
    top, bottom = SIZE[1] - 270, SIZE[1] - 150
    draw.rectangle((0, top, SIZE[0], bottom), fill=BAND)
    face, lines = _fitted(footer, "Semibold", 48, 40, width, max_lines=1)
    if face.length(footer) > width:
        face, lines = _fitted(footer, "Semibold", 38, 30, width, max_lines=2)
    step = int(face.size * 1.25)
    y = top + (bottom - top - step * len(lines)) // 2 + (step - face.size) // 2
    for line in lines:
        face.draw(draw, (MARGIN, y), line, ACCENT)
        y += step


def _fitted(
    text: str, weight: Weight, largest: int, smallest: int, width: int, max_lines: int
) -> tuple[Face, list[str]]:
    """The largest size at which ``text`` wraps into ``max_lines``; else clipped at the
    smallest size, the last line ending in an ellipsis."""
    size = largest
    while True:
        face = Face(weight, size)
        lines = face.wrap(text, width)
        if len(lines) <= max_lines:
            return face, lines
        if size <= smallest:
            return face, [*lines[: max_lines - 1], face.clip(lines[max_lines - 1] + "…", width)]
        size = max(smallest, int(size * 0.88))


# -- files --------------------------------------------------------------------------------------


class Cards:
    """Names, renders and writes the cards of one site beside its banner files."""

    def __init__(self, output_dir: Path, public_url: str, site: Site) -> None:
        self.output_dir = output_dir
        self.public_url = public_url.rstrip("/")
        self.site = site

    def card(self, outgoing: Outgoing) -> Card:
        """The card of one delivery (pure: nothing is drawn or written yet)."""
        try:
            text = card_text(
                outgoing.occasion, self.site, outgoing.facts or {}, outgoing.title, outgoing.summary
            )
        except NoCard as exc:
            raise PermanentError(f"no notice card: {exc}") from None
        digest = hashlib.sha256(
            json.dumps([LAYOUT_VERSION, asdict(text)], sort_keys=True).encode()
        ).hexdigest()[:12]
        stem = re.sub(r"[^a-z0-9-]+", "-", outgoing.notice_id.lower()).strip("-")[:80] or "notice"
        name = f"{FOLDER}/{stem}-{digest}.jpg"
        return Card(text, name, f"{self.public_url}/{name}")

    def path(self, card: Card) -> Path:
        return self.output_dir / card.name

    def write(self, card: Card) -> bytes:
        """Make sure the card's file exists (same name, same content); return its bytes."""
        path = self.path(card)
        try:
            if path.is_file():
                return path.read_bytes()
            content = render_card(card.text)
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, content)
        except OSError as exc:
            raise RetryableError(
                f"cannot write the notice card in {path.parent}: {exc.strerror or exc}"
            ) from None
        return content


def notice_cards(config: Config) -> Cards:
    """The site's cards, beside its banner files (config validation makes sure there are)."""
    banner = config.channels.section("banner", BannerConfig)
    if banner is None or banner.public_url is None:
        raise ValueError("notice cards need channels.banner.public_url")
    return Cards(banner.output_dir, banner.public_url, config.site)


def _write_atomically(path: Path, content: bytes) -> None:
    """Write through a temporary file and rename, so the web server never serves half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
