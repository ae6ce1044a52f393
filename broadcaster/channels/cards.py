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

The font is Source Sans Pro (SIL OFL), installed from PyPI with the ``font-source-sans-pro``
package: nothing is fetched at run time and nothing depends on the machine's own fonts.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from broadcaster.channels.base import Outgoing
from broadcaster.channels.settings.banner import BannerConfig
from broadcaster.config import Config, Site
from broadcaster.errors import PermanentError, RetryableError
from broadcaster.notices.base import about_days
from broadcaster.plaintext import clause

if TYPE_CHECKING:  # PIL is imported when a card is drawn: most runs draw none
    from PIL import ImageDraw, ImageFont

SIZE = (1080, 1350)  # Instagram's tallest feed shape (4:5)
LAYOUT_VERSION = "1"  # part of every card's name: change it when the drawing changes
FOLDER = "cards"  # under the banner's output_dir
MARGIN = 96
BACKGROUND = (18, 52, 59)
INK = (246, 239, 227)
MUTED = (190, 212, 208)
ACCENT = (232, 168, 124)
BAND = (12, 38, 44)
JPEG_QUALITY = 88
DAY_MONTH = re.compile(r"(\d{1,2}) ([A-Z][a-z]+)")


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
    """What a notice's card says: the days of a notice about opening days (a closure, an
    hours change) from its ``facts``, or an article's ``title`` and ``summary``; any other
    kind has no card (:class:`NoCard`), so it is never drawn as a blog post."""
    domain = urlsplit(site.url).netloc
    if about_days(facts):
        return _closure_text(occasion, facts, site.name, domain)
    if facts.get("kind") != "article":
        raise NoCard(f"a {facts.get('kind', 'notice')} notice has no card")
    headline = title or site.name
    blurb = _clip(summary or "", 220)
    alt = f"{site.name}: new on our blog, “{headline}”." + (f" {blurb}" if blurb else "")
    return CardText(site.name, "New on our blog", headline, blurb, "", "", domain, alt)


def draws(facts: Mapping[str, Any] | None) -> bool:
    """Whether a ``cards: true`` channel attaches a card: to notices about opening days."""
    return about_days(facts)


def has_card(facts: Mapping[str, Any] | None) -> bool:
    """Whether :func:`card_text` can draw this notice at all."""
    return about_days(facts) or (facts or {}).get("kind") == "article"


def _closure_text(occasion: str, facts: Mapping[str, Any], name: str, domain: str) -> CardText:
    start, end = date.fromisoformat(facts["start"]), date.fromisoformat(facts["end"])
    resume = date.fromisoformat(facts["resume"])
    outlets = list(facts.get("outlets") or [])
    where = "All outlets" if facts.get("all_outlets") or not outlets else _outlets(outlets)
    reason = clause(str(facts.get("reason") or ""))
    detail = f"{where}, for {reason}" if reason else where
    hours = facts.get("hours")
    state = f"open {hours['opens']}–{hours['closes']}" if hours else "closed"
    kicker, footer = state.capitalize(), f"Open again {_weekday_date(resume)}"
    if hours:
        footer = f"Usual hours again {_weekday_date(resume)}"
    if occasion == "remind":
        kicker = f"Reminder: {state}"
    elif occasion in ("update", "edit"):
        kicker = f"New dates: {state}"
    elif occasion == "cancel":
        kicker = "Cancelled: we are open" if not hours else "Cancelled: usual hours"
        footer = "Open as usual on these days"
    elif occasion == "reopen":
        kicker, footer = "We are open again", f"Closed {_span(start, end)}"
    headline, subline = _span(start, end), _weekdays(start, end)
    if occasion == "reopen":
        headline, subline = _day_month(resume), f"{resume:%A}"
    alt = f"{name}: {kicker.lower()} {headline} ({subline}). {detail}. {footer}."
    return CardText(name, kicker, headline, subline, detail, footer, domain, alt)


def _day_month(day: date) -> str:
    return f"{day.day} {day:%B}"


def _weekday_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def _span(start: date, end: date) -> str:
    """``26 March``, ``26–27 March``, ``30 March – 2 April``."""
    if start == end:
        return _day_month(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {end:%B}"
    return f"{_day_month(start)} – {_day_month(end)}"


def _weekdays(start: date, end: date) -> str:
    if start == end:
        return f"{start:%A}"
    joiner = " and " if (end - start).days == 1 else " to "
    return f"{start:%A}{joiner}{end:%A}"


def _outlets(outlets: list[str]) -> str:
    names = outlets[0] if len(outlets) == 1 else ", ".join(outlets[:-1]) + " and " + outlets[-1]
    return f"{names} outlet{'s' if len(outlets) > 1 else ''}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


# -- drawing ----------------------------------------------------------------------------------


def render_card(text: CardText) -> bytes:
    """The card as JPEG bytes (1080×1350, sRGB, baseline); pure and deterministic."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", SIZE, BACKGROUND)
    draw = ImageDraw.Draw(image)
    width = SIZE[0] - 2 * MARGIN
    draw.rectangle((0, 0, SIZE[0], 18), fill=ACCENT)
    _line(draw, text.site.upper(), MARGIN, 110, _font("Semibold", 38), MUTED, width, spacing=4)
    y = 330
    for line in _wrap(text.kicker.upper(), _font("Bold", 46), width)[:2]:
        draw.text((MARGIN, y), line, font=_font("Bold", 46), fill=ACCENT)
        y += 60
    y += 24
    largest = 150 if len(text.headline) <= 24 else 112  # dates big, a title still bold
    headline = DAY_MONTH.sub("\\1\u00a0\\2", text.headline)  # "30 March –" / "2 April"
    headline_font, lines = _fitted(headline, "Bold", largest, 64, width, max_lines=4)
    for line in lines:
        draw.text((MARGIN, y), line, font=headline_font, fill=INK)
        y += int(headline_font.size * 1.12)
    y += 18
    for part, size, colour, most in ((text.subline, 50, INK, 4), (text.detail, 42, MUTED, 4)):
        font = _font("Regular", size)
        for line in _wrap(part, font, width)[:most]:
            if y > SIZE[1] - 330:
                break
            draw.text((MARGIN, y), line, font=font, fill=colour)
            y += int(size * 1.3)
        y += 26
    if text.footer:
        draw.rectangle((0, SIZE[1] - 270, SIZE[0], SIZE[1] - 150), fill=BAND)
        footer = _font("Semibold", 48)
        _line(draw, text.footer, MARGIN, SIZE[1] - 238, footer, ACCENT, width)
    _line(draw, text.domain, MARGIN, SIZE[1] - 108, _font("Regular", 36), MUTED, width)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


@cache
def _font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    """Source Sans Pro from its PyPI package (Regular, Semibold, Bold)."""
    from PIL import ImageFont

    path = resources.files("font_source_sans_pro") / "files" / f"SourceSansPro-{weight}.ttf"
    with resources.as_file(path) as file:
        return ImageFont.truetype(str(file), size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Words in lines no wider than ``width``; a word too long for a line is cut."""
    lines: list[str] = []
    for word in text.split(" "):  # a no-break space (U+00A0) holds its words together
        if not word:
            continue
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and font.getlength(candidate) <= width:
            lines[-1] = candidate
            continue
        while font.getlength(word) > width and len(word) > 1:
            cut = max(i for i in range(1, len(word)) if font.getlength(word[:i]) <= width)
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    return lines


def _fitted(
    text: str, weight: str, largest: int, smallest: int, width: int, max_lines: int
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest size at which ``text`` wraps into ``max_lines``; else clipped at the
    smallest size, the last line ending in an ellipsis."""
    size = largest
    while True:
        font = _font(weight, size)
        lines = _wrap(text, font, width)
        if len(lines) <= max_lines:
            return font, lines
        if size <= smallest:
            last = lines[max_lines - 1]
            while last and font.getlength(last + "…") > width:
                last = last[:-1]
            return font, [*lines[: max_lines - 1], last.rstrip() + "…"]
        size = max(smallest, int(size * 0.88))


def _line(
    draw: ImageDraw.ImageDraw,
    text: str,
    x: int,
    y: int,
    font: ImageFont.FreeTypeFont,
    fill: tuple[int, int, int],
    width: int,
    spacing: int = 0,
) -> None:
    """One line, shortened with an ellipsis if it would overflow ``width``."""
    while text and font.getlength(text) + spacing * len(text) > width:
        text = text[:-2] + "…"
    if spacing:
        for char in text:
            draw.text((x, y), char, font=font, fill=fill)
            x += int(font.getlength(char)) + spacing
        return
    draw.text((x, y), text, font=font, fill=fill)


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
