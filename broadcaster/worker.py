"""``broadcast worker``: the daily pass and the feed poll, scheduled with APScheduler 3.x.

Two jobs, both in the site's time zone:

* the **daily pass** at ``schedule.daily_at`` (a cron trigger with the zone, so 08:00 stays
  08:00 across daylight-saving changes): everything due goes out, exactly as ``broadcast run``;
* the **feed poll** every ``schedule.feed_poll_minutes``: it reads the feeds and, when an
  article is due, runs a pass limited to the due articles on the channels that publish
  articles. Limited, because a full pass every 15 minutes would announce a closure at
  00:15, when its window opens, instead of at ``daily_at``; and the banner (which shows
  closures) is left alone, so a poll never rewrites it.

The scheduler only triggers; the ledger stays the source of truth, so a pass can run any
number of times. What the scheduler cannot do, the worker does:

* **A pass missed while the worker was down runs once on start-up.** APScheduler's memory job
  store forgets when a job last ran, so the time of the last completed daily pass is kept in
  the ledger's key-value store; at start-up, if it is older than the latest scheduled time
  (or missing), one catch-up pass runs -- one, however many days were missed.
* **Passes never overlap.** Each job has ``max_instances=1``, and both share one lock: a daily
  pass that comes while a poll runs waits for it; a poll that comes while a pass runs is
  skipped (the next poll comes soon).
* **SIGTERM and SIGINT stop it cleanly**: no new pass starts, the pass in hand finishes (its
  deliveries are recorded), and the process exits with status 0.
* **The config is read again before each pass**, so an admin's edit takes effect without a
  restart; an invalid config, or a template that fails to compile or render, is reported and
  the pass skipped (nothing is sent from a config that does not validate). A changed
  ``schedule:`` is applied at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from broadcaster import config as config_module
from broadcaster import schedule
from broadcaster.channels.base import Channel
from broadcaster.config import Config, Loaded, Secrets
from broadcaster.console import operator_problem
from broadcaster.dispatch import Dispatcher, Selection
from broadcaster.errors import ConfigError
from broadcaster.http_client import http_client
from broadcaster.ledger import Ledger
from broadcaster.report import Report
from broadcaster.runtime import USER_AGENT, open_ledger
from broadcaster.sources import gather_notices
from broadcaster.template_check import template_errors

log = logging.getLogger("broadcaster.worker")

LAST_DAILY_PASS = "worker:last-daily-pass"  # kv key: ISO instant the last daily pass began
Job = Literal["daily", "poll"]
Clock = Callable[[], datetime]
#: makes the dispatcher of one pass from the config as loaded for it and the worker's stop
#: event; the default builds the config's channels (tests add their own channel here)
Dispatchers = Callable[[Loaded, asyncio.Event], Dispatcher]


def daily_trigger(config: Config) -> CronTrigger:
    """Every day at ``schedule.daily_at`` in the site's zone (DST-correct)."""
    at = config.schedule.daily_time
    return CronTrigger(hour=at.hour, minute=at.minute, timezone=config.site.tz)


def poll_trigger(config: Config) -> IntervalTrigger | None:
    """Every ``schedule.feed_poll_minutes``; None when polling is off (0)."""
    minutes = config.schedule.feed_poll_minutes
    return IntervalTrigger(minutes=minutes, timezone=config.site.tz) if minutes else None


def previous_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest time ``trigger`` fired at or before ``now`` (within the last two days)."""
    fire: datetime | None = trigger.get_next_fire_time(None, now - timedelta(days=2))
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(None, fire + timedelta(seconds=1))
    return latest


def missed_daily_pass(trigger: CronTrigger, last: datetime | None, now: datetime) -> bool:
    """True if the latest scheduled daily pass has not run (a first start counts as missed)."""
    due = previous_fire(trigger, now)
    return due is not None and (last is None or last < due)


class Worker:
    """Runs the two jobs against one ledger and HTTP client; see the module docstring."""

    def __init__(
        self,
        loaded: Loaded,
        secrets: Secrets,
        ledger: Ledger,
        http: httpx.AsyncClient,
        *,
        clock: Clock | None = None,
        dispatchers: Dispatchers | None = None,
    ) -> None:
        self.loaded = loaded
        self.secrets = secrets
        self.ledger = ledger
        self.http = http
        self.clock = clock
        self.dispatchers = dispatchers or self._dispatcher
        self.lock = asyncio.Lock()
        self.stopping = asyncio.Event()
        self.scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[Any]] = set()

    def now(self) -> datetime:
        tz = self.loaded.config.site.tz
        return self.clock().astimezone(tz) if self.clock else datetime.now(tz)

    # -- the passes -----------------------------------------------------------------------------

    async def daily_pass(self) -> Report | None:
        """A full pass (as ``broadcast run``); waits for a poll in progress to finish."""
        if self.lock.locked():
            log.info("daily pass waits for the pass in hand")
        async with self.lock:
            loaded = None if self.stopping.is_set() else self._reload()
            if loaded is None:
                return None
            now = self.now()
            report = await self.dispatcher_for(loaded).run(now)
            if self.stopping.is_set():  # cut short: the next start-up runs it again
                log.info("daily pass stopped early; it runs again on the next start")
                return report
            self.ledger.set_value(LAST_DAILY_PASS, now.isoformat())
            _log_report("daily pass", report)
            return report

    async def poll_pass(self) -> Report | None:
        """Read the feeds; if an article is due, send it on the channels that take articles."""
        if self.lock.locked():
            log.info("feed poll skipped: a pass is running")
            return None
        async with self.lock:
            loaded = None if self.stopping.is_set() else self._reload()
            if loaded is None:
                return None
            now = self.now()
            dispatcher = self.dispatcher_for(loaded)
            channels = frozenset(
                c.name for c in dispatcher.channels if isinstance(c, Channel) and c.takes("publish")
            )
            if not channels:
                await _close(dispatcher)
                return None
            notices, problems = await gather_notices(loaded.config, self.http, self.ledger)
            tz, max_age = loaded.config.site.tz, loaded.config.articles.max_age_days
            due = frozenset(
                n.id
                for n in notices.items
                if any(m.occasion == "publish" for m in schedule.due(n, now, tz, max_age))
            )
            if not due:
                for problem in problems:
                    log.warning("%s", problem)
                await _close(dispatcher)
                return None
            report = await dispatcher.run(now, Selection(notice_ids=due, channels=channels))
            _log_report("feed poll", report)
            return report

    async def catch_up(self) -> bool:
        """On start-up: run the daily pass once if the last scheduled one did not run."""
        raw = self.ledger.get_value(LAST_DAILY_PASS)
        last = datetime.fromisoformat(raw) if raw else None
        now = self.now()
        if not missed_daily_pass(daily_trigger(self.loaded.config), last, now):
            return False
        since = f"last completed {last.isoformat()}" if last else "no daily pass recorded yet"
        log.info("catching up the missed daily pass now (%s)", since)
        await self.daily_pass()
        return True

    # -- scheduling -----------------------------------------------------------------------------

    def install(self, scheduler: AsyncIOScheduler) -> None:
        """Add (or replace) both jobs for the current config and log their next run times."""
        self.scheduler = scheduler
        config = self.loaded.config
        options: dict[str, Any] = {
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": None,
            "replace_existing": True,
        }
        scheduler.add_job(self._job, daily_trigger(config), args=["daily"], id="daily", **options)
        poll = poll_trigger(config)
        if poll is not None:
            scheduler.add_job(self._job, poll, args=["poll"], id="poll", **options)
        elif scheduler.get_job("poll") is not None:
            scheduler.remove_job("poll")
        self.log_next_runs()

    def log_next_runs(self) -> None:
        if self.scheduler is None:
            return
        schedule = self.loaded.config.schedule
        tz = self.loaded.config.site.tz
        daily = self.scheduler.get_job("daily")
        poll = self.scheduler.get_job("poll")
        log.info(
            "next daily pass at %s (every day at %s %s)",
            _when(daily),
            schedule.daily_at,
            tz.key,
        )
        if poll is None:
            log.info("feed poll is off (schedule.feed_poll_minutes: 0)")
        else:
            log.info("next feed poll at %s (every %d min)", _when(poll), schedule.feed_poll_minutes)

    async def serve(self) -> None:
        """Run until :meth:`stop` is called: schedule, catch up, then drain and return."""
        log.info("worker started with %s", self.loaded.path)
        scheduler = AsyncIOScheduler(timezone=self.loaded.config.site.tz)
        scheduler.start(paused=True)
        self.install(scheduler)
        self._spawn(self.catch_up())
        scheduler.resume()
        await self.stopping.wait()
        scheduler.pause()
        if self._running:
            log.info("finishing the pass in hand before stopping")
            await asyncio.gather(*self._running, return_exceptions=True)
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the next loop iteration
        log.info("worker stopped cleanly")

    def stop(self, reason: str = "asked to stop") -> None:
        if not self.stopping.is_set():
            log.info("%s: no new passes; stopping after the pass in hand", reason)
        self.stopping.set()

    async def _job(self, which: Job) -> None:
        """What the scheduler calls: one pass, tracked so a stop can wait for it."""
        await self._tracked(self.daily_pass() if which == "daily" else self.poll_pass())

    def _spawn(self, work: Any) -> None:
        """Start ``work`` now, tracked from this moment (a stop right away still waits for it)."""
        self._running.add(asyncio.get_running_loop().create_task(self._tracked(work)))

    async def _tracked(self, work: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await work
        except Exception as exc:
            problem = operator_problem(exc)
            if problem is None:  # a bug: its traceback is what a report needs
                log.exception("the pass failed; the next one tries again")
            else:
                log.error("the pass failed: %s; the next one tries again", problem)
        finally:
            self._running.discard(task)

    # -- helpers --------------------------------------------------------------------------------

    def _reload(self) -> Loaded | None:
        """The config as it is now on disk; None (and the problems logged) if it, or a
        template, is invalid."""
        try:
            loaded = config_module.load(self.loaded.path)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("%s", problem)
            log.error("pass skipped: the config has errors (nothing is sent until it is fixed)")
            return None
        before = self.loaded.config
        self.loaded = loaded
        changed = (before.schedule, before.site.timezone) != (
            loaded.config.schedule,
            loaded.config.site.timezone,
        )
        if changed and self.scheduler is not None:
            log.info("schedule changed in the config")
            self.install(self.scheduler)
        broken = template_errors(loaded.config)
        if broken:
            for problem in broken:
                log.error("%s", problem)
            log.error("pass skipped: a template has errors (nothing is sent until it is fixed)")
            return None
        return loaded

    def dispatcher_for(self, loaded: Loaded) -> Dispatcher:
        """A dispatcher for this pass (the config may have changed since the last)."""
        return self.dispatchers(loaded, self.stopping)

    def _dispatcher(self, loaded: Loaded, stop: asyncio.Event) -> Dispatcher:
        return Dispatcher(loaded, self.secrets, self.ledger, self.http, stop=stop)


async def _close(dispatcher: Dispatcher) -> None:
    """Release what the channels of a pass that did not run hold (a run closes its own)."""
    await asyncio.gather(*(c.aclose() for c in dispatcher.channels if isinstance(c, Channel)))


def _when(job: Any) -> str:
    stamp = getattr(job, "next_run_time", None)
    return stamp.isoformat() if isinstance(stamp, datetime) else "never"


def _log_report(what: str, report: Report) -> None:
    for problem in report.feed_problems:
        log.warning("%s", problem)
    totals: dict[str, int] = {}
    for row in report.rows:
        totals[row.status] = totals.get(row.status, 0) + row.count
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(totals.items())) or "nothing to do"
    level = logging.WARNING if report.failed else logging.INFO
    log.log(level, "%s at %s: %s", what, report.now.isoformat(), summary)


async def run_worker(
    loaded: Loaded, secrets: Secrets, *, clock: Clock | None = None, serve: bool = False
) -> None:
    """The ``broadcast worker`` process: returns after SIGTERM/SIGINT, once the pass in hand
    has finished. With ``serve``, ``broadcast serve``'s web application runs beside it on the
    same ledger, and stops after it."""
    for chatty in ("apscheduler", "httpx", "httpcore"):  # a line per job run / request
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    ledger = open_ledger(loaded, secrets)
    try:
        async with http_client(USER_AGENT) as http:
            worker = Worker(loaded, secrets, ledger, http, clock=clock)
            server = _web_server(loaded, secrets, ledger) if serve else None
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, worker.stop, f"received {sig.name}")
            try:
                await worker.serve()
            finally:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
                if server is not None:
                    server.stop()
                    await server.wait()
    finally:
        ledger.close()


def _web_server(loaded: Loaded, secrets: Secrets, ledger: Ledger) -> Any:
    from broadcaster.serve.server import start

    return start(loaded, secrets, ledger)
