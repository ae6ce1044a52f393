"""`broadcast worker`: the schedule, driven by a controlled clock (nothing here waits for real
time), and a real process stopped with a signal."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from broadcaster import config as config_module
from broadcaster.channels.base import Channel, Outgoing, Receipt
from broadcaster.config import Loaded, Secrets
from broadcaster.dispatch import Dispatcher, Selection
from broadcaster.ledger import Ledger
from broadcaster.report import Report
from broadcaster.worker import (
    LAST_DAILY_PASS,
    Worker,
    daily_trigger,
    missed_daily_pass,
    poll_trigger,
)

SG = ZoneInfo("Asia/Singapore")
LONDON = ZoneInfo("Europe/London")
CONFIG = """\
site:
  name: "Glow Aesthetics"
  url: "https://www.glow-aesthetics.example"
  timezone: "{zone}"
  outlets: ["Orchard", "Tampines"]
closures:
  - start: 2024-03-26
    end: 2024-03-27
    reason: "our annual team bonding event"
articles:
  items:
    - title: "Can Botox Treat Depression? Here’s the Science"
      url: "https://www.glow-aesthetics.example/blog/botox-depression/"
      published: 2024-03-20T08:00:00+08:00
channels:
  banner:
    output_dir: "site/notices"
database: "sqlite:///var/broadcaster.db"
schedule:
  daily_at: "{daily_at}"
  feed_poll_minutes: 15
"""


def write_config(project: Path, zone: str = "Asia/Singapore", daily_at: str = "08:00") -> Path:
    path = project / "config/broadcaster.yaml"
    path.write_text(CONFIG.format(zone=zone, daily_at=daily_at), encoding="utf-8")
    return path


def load(path: Path) -> Loaded:
    return config_module.load(path)


# -- when the passes fire -------------------------------------------------------------------------


def fires(loaded: Loaded, after: datetime, count: int) -> list[datetime]:
    trigger, found, moment = daily_trigger(loaded.config), [], after
    for _ in range(count):
        fire = trigger.get_next_fire_time(None, moment)
        found.append(fire)
        moment = fire + timedelta(seconds=1)
    return found


def test_the_daily_pass_fires_at_eight_in_singapore(project: Path) -> None:
    loaded = load(write_config(project))
    assert fires(loaded, datetime(2024, 3, 19, 7, 59, tzinfo=SG), 3) == [
        datetime(2024, 3, 19, 8, 0, tzinfo=SG),
        datetime(2024, 3, 20, 8, 0, tzinfo=SG),
        datetime(2024, 3, 21, 8, 0, tzinfo=SG),
    ]
    # from just after 08:00 UTC-wise it is the next morning, not "eight hours later"
    assert fires(loaded, datetime(2024, 3, 19, 0, 1, tzinfo=UTC), 1) == [
        datetime(2024, 3, 20, 8, 0, tzinfo=SG)
    ]


def test_the_daily_pass_keeps_local_time_across_a_dst_change(project: Path) -> None:
    loaded = load(write_config(project, zone="Europe/London", daily_at="8:00"))
    utc = [f.astimezone(UTC) for f in fires(loaded, datetime(2024, 3, 30, tzinfo=LONDON), 2)]
    assert utc == [datetime(2024, 3, 30, 8, 0, tzinfo=UTC), datetime(2024, 3, 31, 7, 0, tzinfo=UTC)]


def test_the_feed_poll_runs_every_few_minutes(project: Path) -> None:
    loaded = load(write_config(project))
    trigger = poll_trigger(loaded.config)
    assert trigger is not None and trigger.interval == timedelta(minutes=15)
    off = loaded.config.model_copy(
        update={"schedule": loaded.config.schedule.model_copy(update={"feed_poll_minutes": 0})}
    )
    assert poll_trigger(off) is None


@pytest.mark.parametrize(
    ("daily_at", "message"),
    [
        ("25:00", 'must be a time of day in quotes, like "08:00" (24-hour HH:MM)'),
        ("8", 'must be a time of day in quotes, like "08:00" (24-hour HH:MM)'),
    ],
)
def test_a_bad_daily_time_is_a_located_config_error(
    project: Path, daily_at: str, message: str
) -> None:
    path = write_config(project, daily_at=daily_at)
    with pytest.raises(config_module.ConfigError) as caught:
        load(path)
    assert [str(p) for p in caught.value.problems] == [f"{path}:20: schedule.daily_at: {message}"]


def test_an_unquoted_time_that_yaml_reads_as_a_number_is_explained(project: Path) -> None:
    path = write_config(project)
    path.write_text(path.read_text().replace('daily_at: "08:00"', "daily_at: 18:30"))
    with pytest.raises(config_module.ConfigError) as caught:
        load(path)
    assert 'schedule.daily_at: must be a time of day in quotes, like "08:00"' in str(caught.value)


# -- a missed pass runs once on start-up --------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "now", "missed"),
    [
        (None, "2024-03-21T10:00", True),  # first start: catch up today's pass
        ("2024-03-18T08:00:03", "2024-03-21T10:00", True),  # three passes missed: one runs
        ("2024-03-21T08:00:02", "2024-03-21T10:00", False),
        ("2024-03-20T08:00:02", "2024-03-21T07:59", False),  # today's is still to come
        ("2024-03-20T08:00:02", "2024-03-21T08:00", True),
    ],
)
def test_whether_the_daily_pass_was_missed(
    project: Path, last: str | None, now: str, missed: bool
) -> None:
    trigger = daily_trigger(load(write_config(project)).config)
    stamp = datetime.fromisoformat(last).replace(tzinfo=SG) if last else None
    assert (
        missed_daily_pass(trigger, stamp, datetime.fromisoformat(now).replace(tzinfo=SG)) is missed
    )


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now


class Recording(Channel):
    """Takes closures and articles, and records what it sends."""

    name = "recorder"
    accepts = frozenset({"announce", "publish"})

    def __init__(self) -> None:
        self.sent: list[str] = []

    def build(self, outgoing: Outgoing) -> str:
        return outgoing.notice_id

    async def send(self, payload: str) -> Receipt:
        self.sent.append(payload)
        return {"id": str(len(self.sent))}


class Passes:
    """Every pass the worker runs, through the real dispatcher plus the recorder channel.
    ``gate`` holds each pass at its start until it is set (to see overlaps and stops)."""

    def __init__(self) -> None:
        self.calls: list[tuple[datetime, Selection]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()
        self.running = self.peak = 0


class RecordedDispatcher(Dispatcher):
    """The real dispatcher, noting each pass in ``passes`` (held by its gate) before running it."""

    def __init__(self, passes: Passes, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.passes = passes

    async def run(
        self, now: datetime, selection: Selection = Selection(), *, dry_run: bool = False
    ) -> Report:
        passes = self.passes
        passes.calls.append((now, selection))
        passes.running += 1
        passes.peak = max(passes.peak, passes.running)
        passes.entered.set()
        try:
            await passes.gate.wait()
            return await super().run(now, selection, dry_run=dry_run)
        finally:
            passes.running -= 1


class RecordingWorker(Worker):
    recorder: Recording
    passes: Passes


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2024, 3, 21, 10, 0, tzinfo=SG))


@pytest.fixture
async def worker(project: Path, clock: Clock) -> AsyncIterator[RecordingWorker]:
    loaded = load(write_config(project))
    ledger = Ledger(loaded.config.database)
    recorder, passes = Recording(), Passes()
    async with httpx.AsyncClient() as http:

        def dispatchers(loaded: Loaded, stop: asyncio.Event) -> Dispatcher:
            return RecordedDispatcher(
                passes, loaded, Secrets(), ledger, http, stop=stop, extra_channels=[recorder]
            )

        instance = RecordingWorker(
            loaded, Secrets(), ledger, http, clock=lambda: clock.now, dispatchers=dispatchers
        )
        instance.recorder, instance.passes = recorder, passes
        yield instance
    ledger.close()


@pytest.fixture
def passes(worker: RecordingWorker) -> list[tuple[datetime, Selection]]:
    """(now, selection) of each pass the worker ran."""
    return worker.passes.calls


async def logged(caplog: pytest.LogCaptureFixture, message: str, timeout: float = 30.0) -> None:
    """Wait until the worker has logged ``message``; the deadline is a safety net only."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while message not in caplog.messages:
        assert loop.time() < deadline, f"the worker never logged {message!r}"
        await asyncio.sleep(0.01)


async def test_a_missed_pass_runs_once_on_start_up_and_not_again(
    worker: RecordingWorker, clock: Clock, passes: list[Any]
) -> None:
    worker.ledger.set_value(LAST_DAILY_PASS, "2024-03-18T08:00:03+08:00")
    assert await worker.catch_up() is True
    assert passes == [(clock.now, Selection())]  # one full pass for the three missed days
    assert worker.recorder.sent == ["closure-2024-03-26", "article-botox-depression"]
    assert worker.ledger.get_value(LAST_DAILY_PASS) == clock.now.isoformat()
    clock.now += timedelta(minutes=5)  # a restart soon after
    assert await worker.catch_up() is False
    assert len(passes) == 1


async def test_no_catch_up_when_the_last_pass_ran(
    worker: RecordingWorker, passes: list[Any]
) -> None:
    worker.ledger.set_value(LAST_DAILY_PASS, "2024-03-21T08:00:01+08:00")
    assert await worker.catch_up() is False
    assert passes == []


# -- the feed poll --------------------------------------------------------------------------------


async def test_the_poll_sends_due_articles_only_and_leaves_the_banner_alone(
    worker: RecordingWorker, clock: Clock, project: Path, passes: list[Any]
) -> None:
    clock.now = datetime(2024, 3, 20, 8, 15, tzinfo=SG)  # the article is 15 min old
    report = await worker.poll_pass()
    assert report is not None
    assert passes == [
        (clock.now, Selection(frozenset({"article-botox-depression"}), frozenset({"recorder"})))
    ]
    assert worker.recorder.sent == ["article-botox-depression"]  # not the due closure
    assert not (project / "site/notices").exists()
    assert worker.ledger.get_value(LAST_DAILY_PASS) is None  # a poll is not the daily pass
    await worker.daily_pass()
    assert worker.recorder.sent == ["article-botox-depression", "closure-2024-03-26"]


async def test_the_poll_runs_no_pass_when_no_article_is_due(
    worker: RecordingWorker, clock: Clock, passes: list[Any]
) -> None:
    clock.now = datetime(2024, 3, 24, 9, 0, tzinfo=SG)  # the article is past max_age_days
    assert await worker.poll_pass() is None
    assert passes == []


# -- passes never overlap -------------------------------------------------------------------------


async def test_passes_never_overlap(
    worker: RecordingWorker, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="broadcaster.worker")
    clock.now = datetime(2024, 3, 20, 8, 15, tzinfo=SG)  # a poll would have work to do
    passes = worker.passes
    passes.gate.clear()
    first = asyncio.create_task(worker.daily_pass())
    await passes.entered.wait()
    assert await worker.poll_pass() is None  # skipped while a pass runs
    assert "feed poll skipped: a pass is running" in caplog.messages
    second = asyncio.create_task(worker.daily_pass())
    await logged(caplog, "daily pass waits for the pass in hand")
    assert len(passes.calls) == 1 and not second.done()
    passes.gate.set()
    await asyncio.gather(first, second)
    assert (len(passes.calls), passes.peak) == (2, 1)


async def test_both_jobs_are_single_instance_and_coalesced(worker: RecordingWorker) -> None:
    scheduler = AsyncIOScheduler(timezone=SG)
    scheduler.start(paused=True)
    try:
        worker.install(scheduler)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"daily", "poll"}
        for job in jobs.values():
            assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)
        next_daily = jobs["daily"].next_run_time.astimezone(SG)
        assert (next_daily.hour, next_daily.minute) == (8, 0)
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)


async def test_a_changed_schedule_in_the_config_is_applied(
    worker: RecordingWorker, project: Path
) -> None:
    scheduler = AsyncIOScheduler(timezone=SG)
    scheduler.start(paused=True)
    try:
        worker.install(scheduler)
        write_config(project, daily_at="18:30")
        await worker.daily_pass()
        next_daily = scheduler.get_job("daily").next_run_time.astimezone(SG)
        assert (next_daily.hour, next_daily.minute) == (18, 30)
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)


async def test_an_invalid_config_skips_the_pass_and_says_why(
    worker: RecordingWorker, project: Path, passes: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="broadcaster.worker")
    path = write_config(project)
    path.write_text(path.read_text().replace("end: 2024-03-27", "end: 2024-03-25"))
    assert await worker.daily_pass() is None
    assert passes == []
    assert worker.ledger.get_value(LAST_DAILY_PASS) is None
    assert f"{path}:8: closures[0].end: must not be before start" in caplog.messages
    assert "pass skipped: the config has errors (nothing is sent until it is fixed)" in (
        caplog.messages
    )


@pytest.mark.parametrize("which", ["daily", "poll"])
async def test_a_broken_template_skips_the_pass_and_says_where(
    worker: RecordingWorker,
    project: Path,
    clock: Clock,
    passes: list[Any],
    caplog: pytest.LogCaptureFixture,
    which: str,
) -> None:
    path = write_config(project)
    path.write_text(path.read_text() + 'templates: "templates"\n')
    (project / "templates/banner").mkdir(parents=True)
    (project / "templates/banner/closure.html").write_text("<p>Closed</p>\n{{ nosuch }}\n")
    clock.now = datetime(2024, 3, 20, 8, 15, tzinfo=SG)  # the article is due for the poll
    assert await (worker.daily_pass() if which == "daily" else worker.poll_pass()) is None
    assert passes == [] and worker.recorder.sent == []
    assert worker.ledger.get_value(LAST_DAILY_PASS) is None
    assert (
        "templates/banner/closure.html:2: 'nosuch' is undefined "
        "(rendering closure-2024-03-26 banner for banner)"
    ) in caplog.messages
    assert "pass skipped: a template has errors (nothing is sent until it is fixed)" in (
        caplog.messages
    )


# -- stopping -------------------------------------------------------------------------------------


async def test_stop_lets_the_pass_in_hand_end_without_claiming_more(
    worker: RecordingWorker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="broadcaster.worker")
    worker.passes.gate.clear()
    serving = asyncio.create_task(worker.serve())
    await worker.passes.entered.wait()  # the start-up catch-up pass is in hand
    worker.stop("received SIGTERM")
    await logged(caplog, "finishing the pass in hand before stopping")
    assert not serving.done()
    worker.passes.gate.set()
    await serving
    # the pass in hand ends without claiming anything new, and is not counted as done, so
    # the next start-up runs it again (nothing is lost, nothing was half-claimed)
    assert worker.recorder.sent == []
    assert worker.ledger.get_value(LAST_DAILY_PASS) is None
    # only the banner, a local file, is kept current: its state and the closure's appearance
    assert {d.channel for d in worker.ledger.history()} == {"banner"}
    assert caplog.messages[-1] == "worker stopped cleanly"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_worker_process_cleanly(project: Path, sig: signal.Signals) -> None:
    log = project / "worker.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "broadcaster", "worker"],
            cwd=project,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
        )
    try:
        deadline = time.monotonic() + 120  # a safety net for a slow machine, not a measurement
        while "next feed poll at" not in log.read_text(encoding="utf-8"):
            assert process.poll() is None, log.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "the worker never said it was scheduled"
            time.sleep(0.05)
        process.send_signal(sig)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log.read_text(encoding="utf-8")
    assert f"received {sig.name}: no new passes; stopping after the pass in hand" in output
    assert output.rstrip().endswith("INFO broadcaster.worker: worker stopped cleanly")
    assert "Traceback" not in output
