"""What each feed item says, word for word, and what each channel sends of it.

The feeds in tests/feeds are written the way real blogs write them: WordPress's RSS 2.0
(HTML in CDATA, its "appeared first on" footer and "Continue reading" link), a hand-made RSS
without CDATA (escaped HTML, ``<`` and ``>`` in prose), and Atom with a ``text``, an ``html``
and an ``xhtml`` entry. A browser showing the item would show exactly the text in this table;
the channels then get it once -- escaped once for HTML, never stripped of a ``<1``.
"""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from broadcaster.channels.email.message import Prepared, Recipient, Sender
from broadcaster.config import Feed, Site
from broadcaster.notices import ArticleEvent, ArticleNotice, article_notices
from broadcaster.render import Message, Renderer
from broadcaster.sources import read_feed

from .fakes.telegram_html import TelegramHTML

FEEDS = Path(__file__).resolve().parent / "feeds"
SITE = Site(
    name="Glow Aesthetics",
    url="https://www.glow-aesthetics.example",
    timezone="Asia/Singapore",
    outlets=["Orchard", "Tampines"],
)

#: feed file -> (title, summary) of each item, in feed order, as a browser shows them
TABLE = {
    "wordpress.rss": [
        (
            "Lip Fillers & Hydration: 5 Myths",  # &#038; decoded once
            # inline link without a gap, typographic entities, emoji, "[…]" marks the cut,
            # "The post … appeared first on …" is gone
            "Do hyaluronic acid fillers dry your lips? “Plump” isn’t the same as “hydrated” – "
            "here’s what our doctors tell patients 💋…",
        ),
        (
            "HIFU vs. Thermage: which lifts more? 🤔",
            # <br /> is a new line; the "Continue reading" link is gone
            "HIFU: downtime <1 day and results that last >6 months.\n"
            "Thermage: one session, 2–3 visits for touch-ups.",
        ),
    ],
    "escaped.rss": [
        (
            "HIFU: what to expect",
            "HIFU: downtime <1 day and results that last >6 months",  # the claim, intact
        ),
        (
            "Botox & fillers: a guide",  # an escaped-HTML title is read as HTML, as readers do
            "Ask our doctors. Results in <1 week; effects fade after >4 months.\n\n"
            "Orchard\nTampines",
        ),
        ("中秋节 opening hours & 健康 tips", "Mooncakes & skin: less sugar, more water…"),
    ],
    "blog.atom": [
        (
            # type="text": what is written is what is shown, tags and all
            "Skin boosters <1 week before a wedding? & other questions",
            "Book <1 week ahead; results show in >2 weeks. Tags like <b> are just text here.",
        ),
        (
            # type="html": one level of escaping is the markup's, the next is the text's
            "Lip Fillers & Hydration: 5 Myths",
            "Why Glow. Not just plumper: <1 ml is often enough.\n\nRead on …",
        ),
        (
            "Sunscreen & SPF 50: <2 hours between coats",  # type="xhtml"
            "In short\n\nReapply every <2 hours ☀️\n— even indoors.\n\n"
            "Ask Dr. Tan, Tamil: தோல் பராமரிப்பு.",
        ),
    ],
}


async def read(name: str) -> list[ArticleEvent]:
    async with httpx.AsyncClient() as client:
        events, problem = await read_feed(Feed(url=str(FEEDS / name)), client)
    assert problem is None
    return events


async def item(name: str, index: int) -> ArticleNotice:
    """The notice made of one feed item."""
    return article_notices([(await read(name))[index]])[0][0]


@pytest.mark.parametrize("name", TABLE)
async def test_each_item_reads_as_a_browser_shows_it(name: str) -> None:
    assert [(e.title, e.summary) for e in await read(name)] == TABLE[name]


# -- what each channel gets ---------------------------------------------------------------------


@pytest.fixture
def renderer(tmp_path: Path) -> Renderer:
    return Renderer(SITE, tmp_path)  # an empty template folder: the built-in templates


def render(renderer: Renderer, notice: ArticleNotice, channel: str, *parts: str) -> Message:
    return renderer.render(notice, "publish", channel, parts)


async def test_mastodon_gets_the_plain_text(renderer: Renderer) -> None:
    lips = await item("blog.atom", 1)
    assert render(renderer, lips, "mastodon", "text")["text"] == (
        "New on our blog: Lip Fillers & Hydration: 5 Myths\n\n"
        "Why Glow. Not just plumper: <1 ml is often enough.\n\n"
        "Read on …\n\n"
        "https://www.glow-aesthetics.example/journal/lip-myths/"
    )


async def test_telegram_gets_the_text_escaped_once(renderer: Renderer) -> None:
    lips = await item("blog.atom", 1)
    html = render(renderer, lips, "telegram", "html")["html"]
    assert html == (
        "<b>New on our blog: Lip Fillers &amp; Hydration: 5 Myths</b>\n\n"
        "Why Glow. Not just plumper: &lt;1 ml is often enough.\n\n"
        "Read on …\n\n"
        "https://www.glow-aesthetics.example/journal/lip-myths/"
    )
    shown = TelegramHTML(html).plain_text()  # what Telegram's HTML parse mode displays
    assert shown == render(renderer, lips, "mastodon", "text")["text"]


def emailed(message: Message) -> EmailMessage:
    """The message one subscriber receives, parsed as a mail client parses it."""
    sender = Sender("Glow Aesthetics <hello@glow-aesthetics.example>")
    recipient = Recipient("amelia@example.com", "Amelia", "https://u.example/1", "mailto:u@x")
    data = Prepared(message, sender).build(1, "article/publish/email/amelia", recipient).data
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


async def test_email_gets_the_text_in_its_subject_text_and_html(renderer: Renderer) -> None:
    lips = await item("blog.atom", 1)
    mail = emailed(render(renderer, lips, "email", "subject", "text", "html"))

    assert mail["Subject"] == "New on the Glow Aesthetics blog: Lip Fillers & Hydration: 5 Myths"
    assert (
        "New on our blog: Lip Fillers & Hydration: 5 Myths\n\n"
        "Why Glow. Not just plumper: <1 ml is often enough.\n\n"
        "Read on …\n\n"
        "Read it here: https://www.glow-aesthetics.example/journal/lip-myths/\n"
    ) in body(mail, "plain")
    html = body(mail, "html")
    assert "<title>Lip Fillers &amp; Hydration: 5 Myths</title>" in html
    assert ">Lip Fillers &amp; Hydration: 5 Myths</h1>" in html
    assert (  # each paragraph its own <p>, as the feed had it
        '<p style="margin:0 0 24px;">Why Glow. Not just plumper: &lt;1 ml is often enough.</p>\n'
        '<p style="margin:0 0 24px;">Read on …</p>\n'
    ) in html


async def test_a_line_break_in_a_summary_is_a_br_in_the_html_email(renderer: Renderer) -> None:
    hifu = await item("wordpress.rss", 1)
    html = body(emailed(render(renderer, hifu, "email", "subject", "text", "html")), "html")
    assert (
        '<p style="margin:0 0 24px;">HIFU: downtime &lt;1 day and results that last &gt;6 '
        "months.<br>\nThermage: one session, 2–3 visits for touch-ups.</p>"
    ) in html


@pytest.mark.parametrize("name", TABLE)
async def test_no_channel_gets_markup_or_double_escaping(renderer: Renderer, name: str) -> None:
    for notice in article_notices(await read(name))[0]:
        for channel, parts in [("email", ("subject", "text", "html")), ("telegram", ("html",))]:
            message = render(renderer, notice, channel, *parts)
            for part, text in message.items():
                assert "&amp;amp;" not in text and "&amp;lt;" not in text, (channel, part)
                assert "<em>" not in text and "&lt;em&gt;" not in text, (channel, part)
                if part != "html":
                    assert "&amp;" not in text and "&lt;" not in text, (channel, part)
