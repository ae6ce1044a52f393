"""Notice cards: the words (pure), the JPEG (pure, deterministic), the file beside the banner,
and Telegram sending the card when ``cards: true``."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from PIL import Image

from broadcaster.channels.cards import SIZE, Cards, card_text, render_card
from broadcaster.channels.telegram import TelegramChannel
from broadcaster.config import Site
from broadcaster.errors import RetryableError
from tests.fakes.conftest import Running, running
from tests.fakes.support import IMAGE_URL, MemoryStore, article, outgoing
from tests.fakes.telegram import FakeTelegram

SITE = Site(name="Glow Aesthetics", url="https://www.glow-aesthetics.example")
FACTS = {
    "kind": "closure",
    "hours": None,
    "start": "2024-03-26",
    "end": "2024-03-27",
    "resume": "2024-03-28",
    "outlets": ["Orchard", "Tampines"],
    "all_outlets": True,
    "reason": "our annual team bonding event",
}
ARTICLE_FACTS = {"kind": "article"}


# The words ----------------------------------------------------------------------------------


def test_a_closure_card_says_the_dates_the_reason_and_the_reopening() -> None:
    text = card_text("announce", SITE, FACTS)
    assert (text.site, text.kicker, text.headline) == (
        "Glow Aesthetics",
        "Closed",
        "26 March – 27 March",
    )
    assert text.subline == "Tuesday and Wednesday"
    assert text.detail == "All outlets, for our annual team bonding event"
    assert text.footer == "Open again Thursday, 28 March 2024"
    assert text.domain == "www.glow-aesthetics.example"
    assert text.alt == (
        "Glow Aesthetics: closed 26 March – 27 March (Tuesday and Wednesday). All outlets, for "
        "our annual team bonding event. Open again Thursday, 28 March 2024."
    )


def test_a_reason_typed_with_a_full_stop_ends_the_cards_sentence_once() -> None:
    text = card_text("announce", SITE, FACTS | {"reason": "Good Friday."})
    assert text.detail == "All outlets, for Good Friday"
    assert "All outlets, for Good Friday. Open again Thursday, 28 March 2024." in text.alt


@pytest.mark.parametrize(
    ("facts", "occasion", "kicker", "headline", "subline", "detail"),
    [
        ({"end": "2024-03-26", "resume": "2024-03-27"}, "remind", "Reminder: closed", "26 March", "Tuesday", None),
        ({"end": "2024-04-02", "resume": "2024-04-03"}, "update", "New dates: closed", "26 March – 2 April", "Tuesday to Tuesday", None),
        ({"outlets": ["Orchard"], "all_outlets": False}, "cancel", "Cancelled: we are open", "26 March – 27 March", "Tuesday and Wednesday", "Orchard outlet, for our annual team bonding event"),
        ({}, "reopen", "We are open again", "28 March", "Thursday", None),
    ],
)  # fmt: skip
def test_each_occasion_has_its_own_words(
    facts: dict[str, object],
    occasion: str,
    kicker: str,
    headline: str,
    subline: str,
    detail: str | None,
) -> None:
    text = card_text(occasion, SITE, FACTS | facts)
    assert (text.kicker, text.headline, text.subline) == (kicker, headline, subline)
    if detail:
        assert text.detail == detail


def test_an_article_card_has_the_title_and_a_short_summary() -> None:
    text = card_text("publish", SITE, ARTICLE_FACTS, "Botox and mood", "word " * 100)
    assert (text.kicker, text.headline, text.footer) == ("New on our blog", "Botox and mood", "")
    assert len(text.subline) <= 220 and text.subline.endswith("…")


# The picture --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        card_text("announce", SITE, FACTS),
        card_text("publish", SITE, ARTICLE_FACTS, "Can Botox Treat Depression? " * 8, "Why."),
        card_text(
            "announce",
            SITE.model_copy(update={"name": "A" * 90}),
            FACTS | {"reason": "x" * 400},
        ),
    ],
    ids=["closure", "very-long-title", "overflowing-everything"],
)
def test_a_card_is_a_1080_by_1350_baseline_jpeg_and_deterministic(text: object) -> None:
    from broadcaster.channels.cards import CardText

    assert isinstance(text, CardText)
    data = render_card(text)
    assert data.startswith(b"\xff\xd8") and len(data) < 1_000_000  # Bluesky's blob limit too
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size, image.mode) == ("JPEG", SIZE, "RGB")
    assert not image.info.get("progressive")
    assert render_card(text) == data


def test_the_words_are_drawn_large_and_light_on_dark() -> None:
    image = Image.open(io.BytesIO(render_card(card_text("announce", SITE, FACTS))))
    headline_band = image.crop((96, 440, 984, 580)).convert("L")
    light = sum(headline_band.histogram()[201:])
    assert light > 0.12 * headline_band.width * headline_band.height  # big bold dates
    assert image.getpixel((1030, 800))[0] < 60  # type: ignore[index]  # dark background


# The file -----------------------------------------------------------------------------------


def test_a_card_is_named_by_its_content_and_written_once(tmp_path: Path) -> None:
    cards = Cards(tmp_path, "https://www.glow-aesthetics.example/notices/", SITE)
    item = replace(outgoing("x", channel="instagram"), facts=FACTS)
    card = cards.card(item)
    assert card.name.startswith("cards/closure-2024-03-26-") and card.name.endswith(".jpg")
    assert card.url == f"https://www.glow-aesthetics.example/notices/{card.name}"
    data = cards.write(card)
    assert (tmp_path / card.name).read_bytes() == data
    assert oct((tmp_path / card.name).stat().st_mode & 0o777) == "0o644"
    assert cards.write(card) == data and len(list((tmp_path / "cards").iterdir())) == 1
    moved = cards.card(replace(item, facts=FACTS | {"end": "2024-03-28", "resume": "2024-03-29"}))
    assert moved.name != card.name  # new dates, new URL: no platform shows a cached picture


def test_an_unwritable_folder_is_retryable(tmp_path: Path) -> None:
    (tmp_path / "cards").write_text("a file where the folder should be")
    cards = Cards(tmp_path, "https://www.glow-aesthetics.example/notices", SITE)
    card = cards.card(replace(outgoing("x"), facts=FACTS))
    with pytest.raises(RetryableError, match="cannot write the notice card"):
        cards.write(card)


# Telegram with cards: true ------------------------------------------------------------------


@pytest.fixture
def tg() -> Iterator[Running[FakeTelegram]]:
    with running(FakeTelegram()) as r:
        yield r


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0, verify=False) as client:
        yield client


def telegram(tg: Running[FakeTelegram], http: httpx.AsyncClient, cards: Cards) -> TelegramChannel:
    return TelegramChannel(
        http,
        token=tg.fake.token,
        chat_id="@glowaesthetics",
        api_url=tg.url,
        store=MemoryStore(),
        cards=cards,
    )


async def test_telegram_sends_a_closure_as_its_card_with_the_message_as_caption(
    tg: Running[FakeTelegram], http: httpx.AsyncClient, tmp_path: Path
) -> None:
    cards = Cards(tmp_path, "https://www.glow-aesthetics.example/notices", SITE)
    ch = telegram(tg, http, cards)
    html = "Our outlets will be closed from <b>26 Mar (Tue)</b> to <b>27 Mar (Wed)</b>."
    item = replace(outgoing(html, part="html", channel="telegram"), facts=FACTS)
    receipt = await ch.send(ch.build(item))
    (sent,) = tg.fake.sent
    card = cards.card(item)
    assert sent["method"] == "sendPhoto" and sent["photo"] == card.url
    assert sent["caption"] == html and receipt["method"] == "sendPhoto"
    assert cards.path(card).is_file()  # written before Telegram was asked to fetch it


async def test_telegram_keeps_an_articles_own_image(
    tg: Running[FakeTelegram], http: httpx.AsyncClient, tmp_path: Path
) -> None:
    cards = Cards(tmp_path, "https://www.glow-aesthetics.example/notices", SITE)
    ch = telegram(tg, http, cards)
    await ch.send(ch.build(article("<b>New</b>", part="html", channel="telegram")))
    assert tg.fake.sent[0]["photo"] == IMAGE_URL and not (tmp_path / "cards").exists()
    await ch.send(ch.build(article("<b>Newer</b>", part="html", channel="telegram", image="")))
    assert tg.fake.sent[1]["photo"].startswith(cards.public_url + "/cards/article-")


# Mastodon and Bluesky with cards: true ------------------------------------------------------


async def test_mastodon_attaches_the_card_with_its_alt_text(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    from broadcaster.channels.mastodon import MastodonChannel
    from tests.fakes.mastodon import FakeMastodon

    cards = Cards(tmp_path, "https://www.glow-aesthetics.example/notices", SITE)
    with running(FakeMastodon(media_polls_until_ready=1)) as masto:
        ch = MastodonChannel(
            http, token=masto.fake.token, instance=masto.url, store=MemoryStore(), cards=cards
        )
        item = replace(outgoing("Closed 26–27 Mar.", channel="mastodon"), facts=FACTS)
        await ch.send(ch.build(item))
        await ch.send(ch.build(article("New on our blog", channel="mastodon")))
    (media,) = masto.fake.media.values()
    closure, post = masto.fake.statuses
    assert media["description"] == cards.card(item).alt and media["url"]
    assert [m["id"] for m in closure["status"]["media_attachments"]] == [media["id"]]
    assert post["status"]["media_attachments"] == []  # articles keep the server's link card
    paths = [r["path"] for r in masto.fake.requests]
    polled = f"/api/v1/media/{media['id']}"  # 202 at upload, 206 once, then 200 with its url
    assert paths[:4] == ["/api/v2/media", polled, polled, "/api/v1/statuses"]


async def test_bluesky_embeds_the_card_as_an_image_with_alt_text(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    from broadcaster.channels.bluesky import BlueskyChannel
    from tests.fakes.bluesky import FakeBluesky

    cards = Cards(tmp_path, "https://www.glow-aesthetics.example/notices", SITE)
    with running(FakeBluesky()) as bsky:
        ch = BlueskyChannel(
            http,
            handle=bsky.fake.handle,
            password=bsky.fake.password,
            service=bsky.url,
            store=MemoryStore(),
            cards=cards,
        )
        item = replace(outgoing("Closed 26–27 Mar.", channel="bluesky"), facts=FACTS)
        await ch.send(ch.build(item))
    record = bsky.fake.posts[0]["record"]
    (image,) = record["embed"]["images"]
    assert record["embed"]["$type"] == "app.bsky.embed.images"
    assert image["alt"] == cards.card(item).alt
    assert image["aspectRatio"] == {"width": 1080, "height": 1350}
    assert image["image"]["mimeType"] == "image/jpeg"
    (blob,) = bsky.fake.blobs.values()
    assert blob["data"] == cards.path(cards.card(item)).read_bytes()
