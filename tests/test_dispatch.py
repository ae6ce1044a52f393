"""One pass: each due message goes out once per channel; failures stay in their lane."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from broadcaster import config as config_module
from broadcaster.channels.base import Channel, Limits, Outgoing, Receipt, Target
from broadcaster.config import Secrets
from broadcaster.dispatch import Dispatcher, Selection
from broadcaster.errors import AlreadyDelivered, NoReply, PermanentError, RetryableError
from broadcaster.ledger import Group, Ledger
from broadcaster.ledger.schema import deliveries
from broadcaster.report import Report

SG = ZoneInfo("Asia/Singapore")
DEMO = datetime(2024, 3, 20, 9, 0, tzinfo=SG)


class Recording(Channel):
    """A channel that records what it was asked to send and fails on command."""

    accepts = frozenset({"announce", "remind", "publish"})
    limits = Limits(max_length=120)

    def __init__(self, name: str) -> None:
        self.name = name  # type: ignore[misc]
        self.sent: list[dict[str, Any]] = []
        self.failures: list[Exception] = []

    def build(self, outgoing: Outgoing) -> dict[str, Any]:
        return {"text": outgoing.message["text"], "key": outgoing.key, "link": outgoing.link}

    async def send(self, payload: dict[str, Any]) -> Receipt:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(payload)
        return {"id": str(len(self.sent))}


@pytest.fixture
def ledger(project: Path) -> Iterator[Ledger]:
    instance = Ledger(f"sqlite:///{project / 'var/ledger.db'}")
    yield instance
    instance.close()


async def run(
    ledger: Ledger,
    channels: list[Channel],
    now: datetime = DEMO,
    selection: Selection = Selection(),
    dry_run: bool = False,
) -> Report:
    loaded = config_module.load("config/broadcaster.yaml")
    async with httpx.AsyncClient() as http:
        dispatcher = Dispatcher(loaded, Secrets(), ledger, http, extra_channels=channels)
        return await dispatcher.run(now, selection, dry_run=dry_run)


def statuses(report: Report, channel: str) -> dict[tuple[str, str], str]:
    return {(r.notice_id, r.occasion): r.status for r in report.rows if r.channel == channel}


async def test_each_due_notice_goes_out_once_per_channel(ledger: Ledger) -> None:
    social = Recording("social")
    report = await run(ledger, [social])
    assert statuses(report, "social") == {
        ("closure-2024-03-26", "announce"): "sent",
        ("closure-2024-03-26", "remind"): "upcoming",
        ("article-botox-depression", "publish"): "sent",
        ("article-uses-of-botox-in-singapore", "publish"): "stale",
    }
    assert len(social.sent) == 2
    assert social.sent[0]["text"].startswith("Our outlets will be closed from 26 Mar (Tue)")
    again = await run(ledger, [social])
    assert len(social.sent) == 2
    assert statuses(again, "social")[("closure-2024-03-26", "announce")] == "already sent"


async def test_a_failing_channel_does_not_stop_the_others(ledger: Ledger) -> None:
    broken, healthy = Recording("broken"), Recording("healthy")
    broken.failures = [PermanentError("401 token revoked"), PermanentError("401 token revoked")]
    report = await run(ledger, [broken, healthy])
    assert len(healthy.sent) == 2
    assert set(statuses(report, "broken").values()) >= {"failed"}
    assert report.exit_code() == 1
    failed = [r for r in report.rows if r.channel == "broken" and r.status == "failed"]
    assert failed[0].detail == "401 token revoked"


async def test_retryable_errors_are_retried_in_the_pass(ledger: Ledger) -> None:
    flaky = Recording("flaky")
    flaky.failures = [RetryableError("502"), RetryableError("timeout")]
    report = await run(ledger, [flaky])
    assert statuses(report, "flaky")[("closure-2024-03-26", "announce")] == "sent"
    assert len(flaky.sent) == 2


async def test_an_outage_is_left_for_the_next_pass_and_then_delivered(ledger: Ledger) -> None:
    down = Recording("down")
    down.failures = [RetryableError("503 down")] * 6
    report = await run(ledger, [down])
    assert set(statuses(report, "down").values()) >= {"retry"}
    retry = [d for d in ledger.history(channel="down") if d.state == "retry"]
    assert retry and all(d.next_attempt_at and d.next_attempt_at > DEMO for d in retry)
    early = await run(ledger, [down], DEMO + timedelta(seconds=10))
    assert (
        down.sent == [] and statuses(early, "down")[("closure-2024-03-26", "announce")] == "retry"
    )
    later = await run(ledger, [down], DEMO + timedelta(hours=1))
    assert statuses(later, "down")[("closure-2024-03-26", "announce")] == "sent"
    assert len(down.sent) == 2


async def test_a_retry_sends_the_stored_text_even_if_the_template_changed(
    ledger: Ledger, project: Path
) -> None:
    down = Recording("down")
    down.failures = [RetryableError("503")] * 6
    await run(ledger, [down])
    override = project / "templates/_default/closure.txt"
    override.parent.mkdir(parents=True)
    override.write_text("Changed wording {{ reason }}")
    await run(ledger, [down], DEMO + timedelta(hours=1))
    assert down.sent[0]["text"].startswith("Our outlets will be closed")


async def test_a_duplicate_refusal_counts_as_sent(ledger: Ledger) -> None:
    echo = Recording("echo")
    echo.failures = [AlreadyDelivered("duplicate status")]
    report = await run(ledger, [echo])
    assert statuses(report, "echo")[("closure-2024-03-26", "announce")] == "sent"
    (receipt,) = [d.receipt for d in ledger.history(channel="echo", notice_id="closure-2024-03-26")]
    assert receipt == {"already_delivered": "duplicate status"}


async def test_an_unknown_delivery_is_never_resent(ledger: Ledger, project: Path) -> None:
    crashed = Ledger(ledger.url, worker="gone-host:1:x", lease=timedelta(seconds=-1))
    group = Group("closure-2024-03-26", "announce", "social")
    claim = crashed.claim(group, ["social"], None, DEMO)["social"]
    crashed.record(DEMO, starting=[claim.id])  # the attempt began, then the process died
    crashed.close()
    social = Recording("social")
    report = await run(ledger, [social])
    assert statuses(report, "social")[("closure-2024-03-26", "announce")] == "unknown"
    assert [p["text"][:12] for p in social.sent] == ["New on our b"]


async def test_a_claim_a_dead_process_never_tried_is_sent_by_the_next_pass(
    ledger: Ledger,
) -> None:
    crashed = Ledger(ledger.url, worker="gone-host:1:x", lease=timedelta(seconds=-1))
    crashed.claim(Group("closure-2024-03-26", "announce", "social"), ["social"], None, DEMO)
    crashed.close()
    social = Recording("social")
    report = await run(ledger, [social])
    assert statuses(report, "social")[("closure-2024-03-26", "announce")] == "sent"
    assert sorted(p["text"][:12] for p in social.sent) == ["New on our b", "Our outlets "]


class Silent(Recording):
    """Takes the request, then never answers: the platform may or may not have posted."""

    async def send(self, payload: dict[str, Any]) -> Receipt:
        self.sent.append(payload)
        raise NoReply("social: no reply from social.example (ReadTimeout)")


async def test_no_reply_is_unknown_at_once_where_a_repeat_could_post_twice(
    ledger: Ledger,
) -> None:
    silent = Silent("social")
    report = await run(ledger, [silent])
    assert statuses(report, "social")[("closure-2024-03-26", "announce")] == "unknown"
    assert len(silent.sent) == 2  # one attempt per notice, no retry within the pass
    assert report.exit_code() == 1
    again = await run(ledger, [silent], DEMO + timedelta(days=1))
    assert len(silent.sent) == 2  # nor in a later one: a person settles it
    assert statuses(again, "social")[("closure-2024-03-26", "announce")] == "unknown"


async def test_no_reply_is_repeated_only_while_the_platform_makes_it_harmless(
    ledger: Ledger,
) -> None:
    class Keyed(Silent):
        repeat_unknown_within = timedelta(minutes=55)  # an idempotency key's life, say

    keyed = Keyed("social")
    await run(ledger, [keyed])
    assert len(keyed.sent) == 2 * 3  # retried within the pass: the key makes it safe
    first_try = datetime.now(UTC)
    await run(ledger, [keyed], DEMO + timedelta(minutes=5))
    assert len(keyed.sent) == 2 * 6  # and in the next pass, within the window
    with ledger.engine.begin() as conn:  # an hour after the first attempt...
        conn.execute(deliveries.update().values(attempted_at=first_try - timedelta(minutes=56)))
    report = await run(ledger, [keyed], DEMO + timedelta(hours=1))
    assert len(keyed.sent) == 2 * 6  # ...the key may be gone: never again by itself
    assert statuses(report, "social")[("closure-2024-03-26", "announce")] == "unknown"


async def test_the_reminder_goes_out_only_after_an_earlier_announcement(ledger: Ledger) -> None:
    social = Recording("social")
    late = datetime(2024, 3, 25, 8, 0, tzinfo=SG)
    report = await run(ledger, [social], late)
    rows = statuses(report, "social")
    assert rows[("closure-2024-03-26", "announce")] == "sent"
    assert rows[("closure-2024-03-26", "remind")] == "superseded"
    social2 = Recording("social2")
    await run(ledger, [social2], DEMO)
    report = await run(ledger, [social2], late)
    assert statuses(report, "social2")[("closure-2024-03-26", "remind")] == "sent"
    assert social2.sent[-1]["text"].startswith("Reminder: Our outlets")


async def test_over_long_messages_are_shortened_keeping_the_link(ledger: Ledger) -> None:
    social = Recording("social")
    await run(ledger, [social])
    article = next(p for p in social.sent if p["link"])
    assert len(article["text"]) <= 120
    assert article["text"].endswith("https://www.glow-aesthetics.example/blog/botox-depression/")
    assert "…" in article["text"]


class Tiny(Recording):
    """A platform whose limit is shorter than the article's link."""

    limits = Limits(max_length=40)


async def test_a_link_too_long_even_alone_is_left_out_and_named(ledger: Ledger) -> None:
    tiny = Tiny("tiny")
    report = await run(ledger, [tiny])
    article = next(
        r for r in report.rows if r.channel == "tiny" and r.notice_id == "article-botox-depression"
    )
    link = "https://www.glow-aesthetics.example/blog/botox-depression/"
    assert (article.status, article.detail) == (
        "sent",
        f"left out {link}: over the limit even alone",
    )
    (text,) = [p["text"] for p in tiny.sent if "Botox" in p["text"]]
    assert len(text) <= 40 and "https://" not in text  # prose only: no clipped, dead link


async def test_a_post_that_is_only_a_too_long_link_fails_with_the_reason(
    ledger: Ledger, project: Path
) -> None:
    break_template(project, "tiny/article.txt", "{{ url }}\n")
    tiny = Tiny("tiny")
    report = await run(ledger, [tiny])
    article = next(
        r for r in report.rows if r.channel == "tiny" and r.notice_id == "article-botox-depression"
    )
    assert article.status == "failed"
    assert article.detail == (
        "nothing left to post: the link https://www.glow-aesthetics.example/blog/"
        "botox-depression/ alone is over the limit of 40; shorten it (or its template) so it fits"
    )
    assert all("botox" not in p["text"].lower() for p in tiny.sent)


async def test_a_dry_run_claims_and_stores_nothing(ledger: Ledger) -> None:
    social = Recording("social")
    report = await run(ledger, [social], dry_run=True)
    assert statuses(report, "social")[("closure-2024-03-26", "announce")] == "due"
    assert social.sent == [] and ledger.history() == []


async def test_force_sends_again_with_a_new_sequence(ledger: Ledger) -> None:
    social = Recording("social")
    await run(ledger, [social])
    push = Selection(
        frozenset({"closure-2024-03-26"}), frozenset({"social"}), push=True, force=True
    )
    await run(ledger, [social], selection=push)
    closure_sends = [p for p in social.sent if "closure" in p["key"]]
    assert [p["key"].rsplit("/", 1)[-1] for p in closure_sends] == ["0", "1"]


class Crowd(Recording):
    """A fan-out channel with many targets, claimed 100 at a time; its first send sets
    ``stop``, as a SIGTERM arriving while the first batch is going out."""

    claim_batch = 100

    def __init__(self, name: str, stop: asyncio.Event) -> None:
        super().__init__(name)
        self.stop = stop

    def targets(self) -> list[Target]:
        return [Target(f"r{i}@x.example") for i in range(300)]

    async def send(self, payload: dict[str, Any]) -> Receipt:
        self.stop.set()
        return await super().send(payload)


async def test_a_stop_request_finishes_the_batch_in_hand_and_claims_nothing_more(
    ledger: Ledger,
) -> None:
    stop = asyncio.Event()
    crowd = Crowd("crowd", stop)
    loaded = config_module.load("config/broadcaster.yaml")
    async with httpx.AsyncClient() as http:
        dispatcher = Dispatcher(loaded, Secrets(), ledger, http, stop=stop, extra_channels=[crowd])
        await dispatcher.run(DEMO)
    assert len(crowd.sent) == 100
    assert len(ledger.history(channel="crowd", limit=1000)) == 100  # the rest never claimed
    assert {d.state for d in ledger.history(channel="crowd", limit=1000)} == {"sent"}


# -- a template that fails mid-run -----------------------------------------------------------------


def break_template(project: Path, name: str, text: str) -> None:
    file = project / "templates" / name
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")


async def test_a_template_failing_mid_run_fails_that_channel_only(
    ledger: Ledger, project: Path
) -> None:
    """No traceback, no pass cut short: the banner's closure is recorded as not shown (a
    publisher shows state, so it is left to retry once the template is fixed) and the other
    channel's messages go out."""
    break_template(project, "banner/closure.html", "<p>Closed</p>\n{{ nosuch }}\n")
    social = Recording("social")
    report = await run(ledger, [social])
    banner = next(r for r in report.rows if r.channel == "banner")
    assert (banner.status, banner.detail) == (
        "retry",
        "templates/banner/closure.html:2: 'nosuch' is undefined (fix the template, then: "
        "broadcast send closure-2024-03-26)",
    )
    assert {(d.notice_id, d.state) for d in ledger.history(channel="banner")} == {
        ("closure-2024-03-26", "retry"),  # not shown
        ("banner:state", "sent"),  # what could be shown was
    }
    assert len(social.sent) == 2  # the closure and the article
    assert report.exit_code() == 1
    assert json.loads((project / "site/notices/banner.json").read_text())["notices"] == []


async def test_the_fixed_template_shows_the_banner_on_the_next_pass(
    ledger: Ledger, project: Path
) -> None:
    break_template(project, "banner/closure.html", "{{ nosuch }}\n")
    await run(ledger, [])
    (project / "templates/banner/closure.html").unlink()
    report = await run(ledger, [], DEMO + timedelta(hours=1))
    assert statuses(report, "banner") == {("closure-2024-03-26", "banner"): "sent"}
    shown = ledger.history(channel="banner", notice_id="closure-2024-03-26")
    assert [d.state for d in shown] == ["sent"]


async def test_a_dry_run_shows_a_template_failure_and_records_nothing(
    ledger: Ledger, project: Path
) -> None:
    break_template(project, "_default/closure.txt", "{{ reasn }}\n")
    social = Recording("social")
    report = await run(ledger, [social], dry_run=True)
    row = next(r for r in report.rows if r.channel == "social" and r.occasion == "announce")
    assert row.status == "failed"
    assert row.detail.startswith("templates/_default/closure.txt:1: 'reasn' is undefined")
    assert ledger.history() == []
