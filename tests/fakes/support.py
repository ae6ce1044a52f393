"""Helpers for tests that drive the real channels against the fakes: a store, an Outgoing, and a
project config pointing all three social channels at running fakes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from broadcaster.channels.base import Outgoing, Receipt, Target

from .bluesky import FakeBluesky
from .conftest import Running
from .mastodon import FakeMastodon
from .telegram import FakeTelegram

ARTICLE_URL = "https://www.glow-aesthetics.example/blog/botox-depression/"
IMAGE_URL = "https://www.glow-aesthetics.example/images/botox-depression.jpg"


class MemoryStore:
    """The ledger's key-value store, in memory (sessions, migrations, cached limits)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get_value(self, key: str) -> str | None:
        return self.values.get(key)

    def set_value(self, key: str, value: str) -> None:
        self.values[key] = value


def outgoing(
    text: str,
    *,
    part: str = "text",
    channel: str = "social",
    target: str = "social",
    occasion: str = "announce",
    kind: str = "closure",
    delivery_id: int = 1,
    seq: int = 0,
    link: str | None = None,
    image: str | None = None,
    title: str | None = None,
    summary: str | None = None,
    original: Receipt | None = None,
) -> Outgoing:
    """One delivery as the dispatcher hands it to a channel."""
    notice = "article-botox-depression" if kind == "article" else "closure-2024-03-26"
    return Outgoing(
        delivery_id=delivery_id,
        key=f"{notice}/{occasion}/{channel}/{target}/{seq}",
        notice_id=notice,
        kind=kind,
        occasion=occasion,
        message={part: text},
        target=Target(target),
        link=link,
        image=image,
        title=title,
        summary=summary,
        original=original,
        # what an article says of itself; a closure's facts are given by each test
        facts=(
            {"kind": "article", "title": title, "url": link, "summary": summary, "image": image}
            if kind == "article"
            else None
        ),
    )


def article(text: str, *, part: str = "text", channel: str = "social", **fields: str) -> Outgoing:
    """The seed article: link, image, title and summary as the dispatcher fills them in."""
    values = {
        "link": ARTICLE_URL,
        "image": IMAGE_URL,
        "title": "Can Botox Treat Depression? Here’s the Science",
        "summary": "How relaxing the frown muscles may lift mood.",
    } | fields
    return outgoing(
        text,
        part=part,
        channel=channel,
        kind="article",
        occasion="publish",
        link=values["link"] or None,
        image=values["image"] or None,
        title=values["title"] or None,
        summary=values["summary"] or None,
    )


@dataclass
class Fakes:
    tg: Running[FakeTelegram]
    masto: Running[FakeMastodon]
    bsky: Running[FakeBluesky]

    def secrets(self) -> dict[str, str]:
        return {
            "BROADCAST_TELEGRAM_TOKEN": self.tg.fake.token,
            "BROADCAST_MASTODON_TOKEN": self.masto.fake.token,
            "BROADCAST_BLUESKY_APP_PASSWORD": self.bsky.fake.password,
        }

    def counts(self) -> tuple[int, int, int]:
        return len(self.tg.fake.sent), len(self.masto.fake.statuses), len(self.bsky.fake.posts)


def configure(project: Path, fakes: Fakes) -> None:
    """The example config with the three social sections pointed at the fakes."""
    path = project / "config/broadcaster.yaml"
    sections = (
        "channels:\n"
        f'  telegram:\n    chat_id: "@glowaesthetics"\n    api_url: "{fakes.tg.url}"\n'
        f'  mastodon:\n    instance: "{fakes.masto.url}"\n'
        f'  bluesky:\n    service: "{fakes.bsky.url}"\n'
        f'    handle: "{fakes.bsky.fake.handle}"\n    link_thumbnails: false\n'
    )
    path.write_text(path.read_text(encoding="utf-8").replace("channels:\n", sections, 1))
