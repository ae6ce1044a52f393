"""A closure's whole life over a scripted month: announce, remind, banner, correct, cancel."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from broadcaster import config as config_module
from broadcaster.channels.base import Channel, Limits, Outgoing, Receipt
from broadcaster.config import Secrets
from broadcaster.dispatch import Dispatcher
from broadcaster.ledger import Ledger
from broadcaster.report import Report
from tests.languages import english_only

SG = ZoneInfo("Asia/Singapore")
CLOSURE = (
    '  - start: 2024-03-26\n    end: 2024-03-27\n    reason: "our annual team bonding event"\n'
)


@pytest.fixture(autouse=True)
def _in_english(request: pytest.FixtureRequest) -> None:
    """The example clinic writing English alone: one message per channel, as these tests
    count them (each language's own messages: tests/test_dispatch_languages.py)."""
    if "project" in request.fixturenames:
        english_only(request.getfixturevalue("project"))


class Social(Channel):
    """A social channel that remembers every post and edit, by the day it happened."""

    accepts = frozenset({"announce", "remind", "publish"})
    limits = Limits(max_length=500)
    supports_edit = True

    def __init__(self, name: str = "social") -> None:
        self.name = name  # type: ignore[misc]
        self.posts: list[dict[str, Any]] = []
        self.today: date | None = None

    def build(self, outgoing: Outgoing) -> dict[str, Any]:
        return {
            "text": outgoing.message["text"],
            "occasion": outgoing.occasion,
            "notice": outgoing.notice_id,
            "edits": outgoing.original["id"] if outgoing.original else None,
        }

    async def send(self, payload: dict[str, Any]) -> Receipt:
        self.posts.append({**payload, "day": self.today})
        return {"id": payload["edits"] or f"post-{len(self.posts)}"}


@pytest.fixture
def ledger(project: Path) -> Iterator[Ledger]:
    instance = Ledger(f"sqlite:///{project / 'var/broadcaster.db'}")
    yield instance
    instance.close()


async def day(ledger: Ledger, social: Social, when: date, hour: int = 8) -> Report:
    """One daily pass at ``hour``:00 Singapore time, as the worker (or cron) runs it."""
    social.today = when
    loaded = config_module.load("config/broadcaster.yaml")
    async with httpx.AsyncClient() as http:
        dispatcher = Dispatcher(loaded, Secrets(), ledger, http, extra_channels=[social])
        return await dispatcher.run(datetime(when.year, when.month, when.day, hour, tzinfo=SG))


def banner_ids(project: Path) -> list[str]:
    data = json.loads((project / "site/notices/banner.json").read_text(encoding="utf-8"))
    now = datetime.fromisoformat(data["generated_at"])
    return [
        n["id"]
        for n in data["notices"]
        if datetime.fromisoformat(n["start"]) <= now < datetime.fromisoformat(n["end"])
    ]


def march() -> Iterator[date]:
    for offset in range(31):
        yield date(2024, 3, 1) + timedelta(days=offset)


def edit_config(project: Path, old: str, new: str) -> None:
    path = project / "config/broadcaster.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def email_sends(ledger: Ledger) -> Counter[tuple[str, str]]:
    """(occasion, local day) -> how many emails went out."""
    return Counter(
        (d.occasion.partition("@")[0], d.updated_at.astimezone(SG).date().isoformat())
        for d in ledger.iter_history(channel="email", notice_id="closure-2024-03-26")
        if d.state == "sent"
    )


async def test_a_month_of_daily_runs(project: Path, ledger: Ledger) -> None:
    social = Social()
    shown = {}
    for when in march():
        await day(ledger, social, when)
        shown[when.day] = banner_ids(project)
    closure_posts = [
        (p["day"].day, p["occasion"]) for p in social.posts if p["notice"] == "closure-2024-03-26"
    ]
    assert closure_posts == [(19, "announce"), (25, "remind")]
    assert [d for d, ids in shown.items() if ids] == list(range(19, 28))
    assert email_sends(ledger) == Counter({("announce", "2024-03-19"): 6})  # no reminder by email


async def test_moving_the_dates_sends_one_correction_per_channel(
    project: Path, ledger: Ledger
) -> None:
    social = Social()
    for when in march():
        if when.day == 22:
            edit_config(
                project,
                "start: 2024-03-26\n    end: 2024-03-27",
                "start: 2024-03-27\n    end: 2024-03-28",
            )
        await day(ledger, social, when)
        if when.day == 22:
            html = (project / "site/notices/banner.html").read_text(encoding="utf-8")
            assert "27 Mar (Wed)</strong> to <strong>28 Mar (Thu)" in html
            assert "26 Mar" not in html
    closure_posts = [
        (p["day"].day, p["occasion"]) for p in social.posts if p["notice"] == "closure-2024-03-26"
    ]
    assert closure_posts == [(19, "announce"), (22, "update"), (26, "remind")]
    update = next(p["text"] for p in social.posts if p["occasion"] == "update")
    assert update.startswith(
        "Update: our closure has changed. Our outlets will be closed from 27 Mar (Wed) to 28 Mar (Thu)"
    )
    assert "(We had announced from 26 Mar (Tue) to 27 Mar (Wed).)" in update
    assert email_sends(ledger) == Counter(
        {("announce", "2024-03-19"): 6, ("update", "2024-03-22"): 6}
    )


async def test_a_second_run_the_same_day_sends_no_second_correction(
    project: Path, ledger: Ledger
) -> None:
    social = Social()
    await day(ledger, social, date(2024, 3, 19))
    edit_config(project, "end: 2024-03-27", "end: 2024-03-28")
    await day(ledger, social, date(2024, 3, 22))
    await day(ledger, social, date(2024, 3, 22), hour=9)
    assert [p["occasion"] for p in social.posts if p["notice"] == "closure-2024-03-26"] == [
        "announce",
        "update",
    ]


async def test_editing_the_original_post_where_configured(project: Path, ledger: Ledger) -> None:
    edit_config(project, "database:", "lifecycle:\n  corrections: edit\ndatabase:")
    social = Social()
    await day(ledger, social, date(2024, 3, 19))
    edit_config(project, "our annual team bonding event", "a staff training day")
    await day(ledger, social, date(2024, 3, 22))
    _announce, edit = [p for p in social.posts if p["notice"] == "closure-2024-03-26"]
    assert edit["occasion"] == "edit" and edit["edits"] == "post-1"
    assert edit["text"].startswith(
        "Our outlets will be closed from 26 Mar (Tue) to 27 Mar (Wed) for a staff training day."
    )
    assert (
        email_sends(ledger)[("update", "2024-03-22")] == 6
    )  # email cannot edit: it gets a correction


async def test_removing_an_announced_closure_sends_a_cancellation(
    project: Path, ledger: Ledger
) -> None:
    social = Social()
    await day(ledger, social, date(2024, 3, 19))
    edit_config(project, CLOSURE, "")
    await day(ledger, social, date(2024, 3, 21))
    await day(ledger, social, date(2024, 3, 22))
    cancels = [p for p in social.posts if p["occasion"] == "cancel"]
    assert len(cancels) == 1
    assert cancels[0]["text"].startswith(
        "Good news: the closure we announced from 26 Mar (Tue) to 27 Mar (Wed) is cancelled."
    )
    assert banner_ids(project) == []
    assert email_sends(ledger)[("cancel", "2024-03-21")] == 6


async def test_a_closure_removed_after_it_happened_needs_no_cancellation(
    project: Path, ledger: Ledger
) -> None:
    social = Social()
    await day(ledger, social, date(2024, 3, 19))
    edit_config(project, CLOSURE, "")
    await day(ledger, social, date(2024, 3, 29))
    assert [p["occasion"] for p in social.posts if p["notice"] == "closure-2024-03-26"] == [
        "announce"
    ]


async def test_a_closure_never_announced_can_change_silently(project: Path, ledger: Ledger) -> None:
    social = Social()
    await day(ledger, social, date(2024, 3, 10))
    edit_config(project, "end: 2024-03-27", "end: 2024-03-28")
    await day(ledger, social, date(2024, 3, 19))
    texts = [p["text"] for p in social.posts if p["notice"] == "closure-2024-03-26"]
    assert len(texts) == 1 and "to 28 Mar (Thu)" in texts[0]


async def test_reopening_post_is_opt_in(project: Path, ledger: Ledger) -> None:
    # lifecycle: names real channels only; the recording stand-in takes Mastodon's name
    edit_config(project, "database:", "lifecycle:\n  reopen: [mastodon]\ndatabase:")
    social = Social("mastodon")
    for when in (date(2024, 3, 19), date(2024, 3, 28), date(2024, 3, 29)):
        await day(ledger, social, when)
    reopen = [p for p in social.posts if p["occasion"] == "reopen"]
    assert [(p["day"].day, p["text"]) for p in reopen] == [
        (
            28,
            "We're open again! Our outlets resumed operations today, 28 Mar (Thu). Thank you for your patience.",
        )
    ]
