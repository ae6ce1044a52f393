"""Fault storms: one channel failing for a whole run, against every other channel (issue 7, item 5).

The same fan-out as crash_trials.py (one closure and three articles to every channel type,
email to N subscribers), against the local fakes on 127.0.0.1 (``_every_channel.py``), each
pass a real ``broadcast run --now T`` subprocess. Every fake's ASGI app is put behind an
observer that timestamps each request (arrival and end of reply) and the SMTP sink
timestamps each accepted message, so "when did channel X finish" comes from the servers, not
from the ledger (whose ``updated_at`` is the pass clock ``--now``).

1. Baseline: ``--baseline-runs`` (2) clean passes, each on a fresh ledger: wall time, and per
   channel the moment its last delivery was accepted (seconds after the process started; the
   banner: its ``banner.json`` mtime). The reference per channel is the slowest of them, so
   run-to-run noise (on a busy 2-core machine the email list's finish varies by up to ~1.5 s)
   is not counted as a slowdown.
2. Storms, each on fresh fakes and a fresh ledger, the fault armed on ``--channel`` only,
   for every request, for the whole run, with the fakes' own switches (tests/fakes/base.py):
   ``503`` fail_with_5xx(503); ``429-short`` fail_with_429(retry_after=2) (Telegram's
   ``parameters.retry_after``, Mastodon's ``X-RateLimit-Reset``); ``429-long``
   fail_with_429(retry_after=3600); ``timeout`` delay(client timeout + 5 s): the fake holds
   each reply longer than the dispatcher's httpx timeout (read from broadcaster/runtime.py:
   ``httpx.Timeout(20.0)``, not configurable), then still processes the request, like an
   overloaded real server. Pass 1: wall time against the baseline, the other channels'
   finish times against theirs, what the failing server received, the failing channel's
   ledger rows (state, attempts, next_attempt_at, error).
3. Across runs: the fault stays on; each next pass runs at the failing rows' earliest
   ``next_attempt_at`` (``--now`` advanced to it), or, when that is already past because the
   breaker held the rows back, at the breaker's ``paused_until`` -- ``--passes`` passes in
   all. Per pass: the next-attempt interval (checked against retry.py: 1 min x 2^(attempts-1),
   capped at 6 h, never below the server's own wait), the breaker (breaker.py: paused after 3
   failing passes, 5 min doubling to 6 h; read from the ledger's ``breaker:<channel>``
   value), whether ``run`` printed the pause, and ``broadcast status --json --now T``
   (exit code, ``paused``, ``last_error``).
4. Recovery: faults cleared, one pass after the pause and every next attempt; then what each
   server holds is counted per expected delivery (``_every_channel.judge``): every delivery
   of every channel exactly once, nothing lost (a ``failed`` delivery that never arrived
   counts as lost here), nothing duplicated, nothing left pending (``unknown`` is allowed:
   on a channel that cannot repeat safely an unanswered post is left to a person).

Requirements (exit status 1 if one fails):

* bounded: pass 1 ends within baseline + B, with B the work the retry policy allows a
  failing channel in one pass: STORM_LIMIT (3) jobs x attempts_in_pass (3) requests, plus one
  request for the channel's ``prepare`` (Mastodon reads /api/v2/instance), each costing at
  most the client timeout (timeouts) or ~nothing (503/429 answer at once), plus the in-pass
  waits of STORM_LIMIT jobs (503/timeout: full jitter under 1 s + 2 s; 429: the server's
  wait before each of the 2 repeats when it is at most 30 s, else none), plus 2 s of slack
  for process noise. That is B = 11 s (503), 14 s (429-short, 2 s), 2 s (429-long) and
  10 x 20 + 9 + 2 = 211 s (timeout). Also: no more than STORM_LIMIT jobs may be tried in a
  failing pass -- otherwise the time depends on the number of notices, not on the policy.
* others not slowed: every other channel finishes within 1 s of its baseline.
* backoff: each attempted pass's next-attempt interval equals retry.py's formula, and the
  breaker opens at the 3rd failing pass and is reported by ``status`` (exit 1, ``paused``).
* recovery: 0 lost, 0 duplicated, 0 pending (claimed, sending or retry).

In-pass waits: pass 1 of every kind, and every pass of the 503 kind, run with the real waits
(BROADCAST_RETRY_WAIT_SCALE=1). By default the later passes of the 429 kinds use scale 0
(their ledger outcome is the same; it only saves the sleeps), and the timeout kind runs only
pass 1 and the recovery, because each failing pass costs ~10 client timeouts (~3.5 min on
Mastodon); ``--full`` runs every pass of every kind with the real waits (~17 min with the
default 5 passes; ``--kinds timeout --full --passes 10`` reaches past Mastodon's 1-hour
Idempotency-Key lifetime, ~22 min).

Mastodon's clock: for every kind but 429 the fake Mastodon's clock follows ``--now`` (it
advances by the simulated time from pass to pass, and by real time within a pass), so its
Idempotency-Key TTL (1 h) sees the simulated hours; for 429 it stays real, because the
client reads ``X-RateLimit-Reset`` against its own real clock.

Run it from the project root (default: Mastodon, N = 500, 5 passes, about 5.5 minutes, 3.5
of them the one Mastodon timeout pass; Telegram about 3 minutes)::

    .venv/bin/python benchmarks/fault_storm.py [--subscribers N] [--channel mastodon]
        [--kinds 503,429-short,429-long,timeout] [--passes 5] [--baseline-runs 2]
        [--short-wait 2] [--full] [--postgres URL] [--keep]
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _every_channel import (
    CHANNELS,
    NOTICES,
    NOW,
    Ledgers,
    Received,
    Servers,
    SinkHandler,
    broadcast_command,
    judge,
    run_env,
    start,
    what_arrived,
    write_project,
)
from rich.console import Console
from rich.table import Table
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import broadcaster.runtime
from broadcaster.breaker import FIRST_PAUSE, LONGEST_PAUSE, STORM_LIMIT, STREAK_LIMIT
from broadcaster.breaker import KEY as BREAKER_KEY
from broadcaster.ledger import make_engine
from broadcaster.ledger.schema import deliveries, kv
from broadcaster.retry import RetryPolicy

POLICY = RetryPolicy()
T0 = datetime.fromisoformat(NOW)
SLOWED_BY = 1.0  # seconds beyond its baseline a healthy channel may finish
SLACK = 2.0  # seconds of process noise allowed on top of the policy's bound
#: channel -> (fake app, method, path endings) of the requests that deliver a message
CREATES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "telegram": ("telegram", "POST", ("/sendMessage", "/sendPhoto")),
    "mastodon": ("mastodon", "POST", ("/api/v1/statuses",)),
    "bluesky": ("bluesky", "POST", ("createRecord",)),
    "facebook": ("graph", "POST", ("/feed",)),
    "instagram": ("graph", "POST", ("/media_publish",)),
    "x": ("x", "POST", ("/2/tweets",)),
    "linkedin": ("linkedin", "POST", ("/posts",)),
    "webhook": ("webhook", "POST", ("",)),
    "apprise": ("plain", "POST", ("",)),
    "google_business": ("google", "PATCH", ("",)),
}
STORMABLE = ("mastodon", "telegram")
KINDS = ("503", "429-short", "429-long", "timeout")


def client_timeout() -> float:
    """The dispatcher's httpx timeout, as written in broadcaster/runtime.py (20 s)."""
    found = re.search(r"httpx\.Timeout\(([\d.]+)\)", inspect.getsource(broadcaster.runtime))
    return float(found.group(1)) if found else 20.0


# -- observing the servers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    start: float  # monotonic: the request arrived
    end: float  # monotonic: its reply was handed over (or dropped: the client had gone)
    app: str
    method: str
    path: str
    status: int


class Observer:
    """Timestamps every request to every fake (an ASGI wrapper; the fakes are untouched)."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []

    def wrap(self, name: str, app: ASGIApp) -> ASGIApp:
        hits = self.hits

        async def observed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            began, status = time.monotonic(), 0

            async def sending(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    hits.append(
                        Hit(began, time.monotonic(), name, scope["method"], scope["path"], status)
                    )

            await app(scope, receive, sending)

        return observed

    def since(self, moment: float) -> list[Hit]:
        return [h for h in list(self.hits) if h.start >= moment]


@dataclass
class TimedSink(SinkHandler):
    """The tests' SMTP sink handler, also noting when each message was accepted."""

    times: list[float] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if reply.startswith("250"):
            self.times.append(time.monotonic())
        return reply


class Fakes:
    """Every fake, observed, for one copy of the project (a fresh ledger each)."""

    def __init__(self, folder: Path, ledgers: Ledgers, subscribers: list[str]) -> None:
        self.folder = folder
        self.observer = Observer()
        self.sink = TimedSink()
        self.servers = Servers(
            folder / "site/notices", wrap=self.observer.wrap, sink_handler=self.sink
        )
        self.servers.__enter__()
        self.database = ledgers.new(folder)
        self.config, self.banner = write_project(folder, self.servers, subscribers, self.database)
        (folder / "logs").mkdir()
        self.clock_shift = 0.0
        self.real_start = time.time()
        self.servers.masto.clock = lambda: time.time() + self.clock_shift

    def close(self) -> None:
        self.servers.__exit__(None, None, None)

    def service(self, channel: str) -> Any:
        return {"mastodon": self.servers.masto, "telegram": self.servers.tg}[channel]


# -- one pass ----------------------------------------------------------------------------------


@dataclass
class LedgerRow:
    notice: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    error: str | None


@dataclass
class Pass:
    number: int  # 0: recovery
    now: datetime
    scale: str
    wall: float
    code: int
    hits: list[Hit]  # requests to the failing channel's server during the pass
    rows: list[LedgerRow]
    tried_notices: list[str]  # the failing channel's deliveries attempted in this pass
    streak: int
    paused_until: datetime | None
    status_code: int
    status: dict[str, Any]  # the failing channel's entry in `status --json`
    printed_pause: bool  # the run's own summary said the channel is paused
    finish: dict[str, float]  # channel -> seconds after the start its last delivery arrived

    @property
    def tried(self) -> int:
        return len(self.tried_notices)

    @property
    def minutes(self) -> float:
        return (self.now - T0).total_seconds() / 60

    def intervals(self) -> list[tuple[int, float]]:
        """(attempts, minutes to the next attempt) of the rows retried in this pass."""
        return sorted(
            {
                (r.attempts, round((r.next_attempt_at - self.now).total_seconds() / 60, 2))
                for r in self.rows
                if r.state == "retry" and r.next_attempt_at and r.notice in self.tried_notices
            }
        )


def run_pass(
    fakes: Fakes,
    channel: str | None,
    number: int,
    now: datetime,
    scale: str,
    before: list[LedgerRow],
) -> Pass:
    """One ``broadcast run --now now``; then the ledger, the breaker and ``status``."""
    # the fake Mastodon's clock: the simulated time between passes, real time within one
    fakes.clock_shift = (now - T0).total_seconds() - (time.time() - fakes.real_start)
    log = fakes.folder / "logs" / f"pass-{number:02d}.log"
    mark, wall_mark = time.monotonic(), time.time()
    proc = start(fakes.config, fakes.servers, log, now=now.isoformat(), wait_scale=scale)
    code = proc.wait(timeout=1800)
    wall = time.monotonic() - mark
    time.sleep(0.3)  # replies the client gave up on are still being handed over
    finish = finish_times(fakes, mark, wall_mark, channel)
    hits: list[Hit] = []
    rows: list[LedgerRow] = []
    streak, paused_until, status_code, status = 0, None, 0, {}
    if channel:
        app = CREATES[channel][0]
        hits = [h for h in fakes.observer.since(mark) if h.app == app]
        rows = channel_rows(fakes.database, channel)
        streak, paused_until = breaker_state(fakes.database, channel)
        status_code, status = status_json(fakes, channel, now)
    was = {r.notice: r.attempts for r in before}
    tried = [r.notice for r in rows if r.notice not in was or r.attempts > was[r.notice]]
    printed = "paused until" in log.read_text(encoding="utf-8", errors="replace")
    return Pass(
        number,
        now,
        scale,
        wall,
        code,
        hits,
        rows,
        tried,
        streak,
        paused_until,
        status_code,
        status,
        printed,
        finish,
    )


def finish_times(
    fakes: Fakes, mark: float, wall_mark: float, failing: str | None
) -> dict[str, float]:
    """Per channel, seconds from the process start to its last accepted delivery."""
    hits = fakes.observer.since(mark)
    result: dict[str, float] = {}
    for channel, (app, method, endings) in CREATES.items():
        ends = [
            h.end
            for h in hits
            if h.app == app
            and h.method == method
            and h.path.endswith(endings)
            and 200 <= h.status < 300
        ]
        if ends and channel != failing:
            result[channel] = max(ends) - mark
    emails = [t for t in list(fakes.sink.times) if t >= mark]
    if emails:
        result["email"] = max(emails) - mark
    banner = fakes.banner / "banner.json"
    if banner.exists() and banner.stat().st_mtime >= wall_mark:
        result["banner"] = banner.stat().st_mtime - wall_mark
    return result


def channel_rows(database: str, channel: str) -> list[LedgerRow]:
    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.select(
                    deliveries.c.notice_id,
                    deliveries.c.state,
                    deliveries.c.attempts,
                    deliveries.c.next_attempt_at,
                    deliveries.c.error,
                )
                .where(deliveries.c.channel == channel)
                .order_by(deliveries.c.id)
            )
            return [LedgerRow(*row) for row in found]
    finally:
        engine.dispose()


def breaker_state(database: str, channel: str) -> tuple[int, datetime | None]:
    """The breaker as breaker.py stores it: (failing passes in a row, paused until)."""
    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            text = conn.execute(
                sa.select(kv.c.value).where(kv.c.key == BREAKER_KEY + channel)
            ).scalar()
    finally:
        engine.dispose()
    if not text:
        return 0, None
    data = json.loads(text)
    until = data.get("paused_until")
    return int(data["streak"]), datetime.fromisoformat(until) if until else None


def status_json(fakes: Fakes, channel: str, now: datetime) -> tuple[int, dict[str, Any]]:
    command = [*broadcast_command(fakes.config, "status", now.isoformat()), "--json"]
    proc = subprocess.run(
        command,
        cwd=fakes.config.parent,
        env=run_env(fakes.servers),
        capture_output=True,
        timeout=120,
        check=False,
    )
    try:
        document = json.loads(proc.stdout)
    except ValueError:
        return proc.returncode, {"error": proc.stdout.decode(errors="replace")[-200:]}
    entry = next((c for c in document.get("channels", []) if c.get("channel") == channel), {})
    return proc.returncode, entry


# -- storms ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Storm:
    kind: str
    label: str
    arm: Callable[[Any], None]
    request_cost: float  # seconds one request to the failing server may take
    waits: float  # in-pass waits of one job at most (seconds, scale 1)
    retry_after: float | None  # the server's own wait, if any
    shift_clock: bool  # the fake Mastodon's clock follows --now

    @property
    def bound(self) -> float:
        """Seconds beyond the baseline that pass 1 may take (see the module docstring)."""
        requests = 1 + STORM_LIMIT * POLICY.attempts_in_pass
        return SLACK + requests * self.request_cost + STORM_LIMIT * self.waits


def backoff_waits() -> float:
    """The longest in-pass waits of one job without a server wait: full jitter up to
    base_wait x 2^(attempt-1) before each repeat."""
    return sum(
        min(POLICY.max_wait_in_pass, POLICY.base_wait * 2 ** (attempt - 1))
        for attempt in range(1, POLICY.attempts_in_pass)
    )


def server_waits(seconds: float) -> float:
    if seconds > POLICY.max_wait_in_pass:
        return 0.0  # left for a later pass at once
    return seconds * (POLICY.attempts_in_pass - 1)


def storms(timeout: float, short: int) -> dict[str, Storm]:
    return {
        "503": Storm(
            "503",
            "503 on every request",
            lambda f: f.fail_with_5xx(503, times=None),
            0.0,
            backoff_waits(),
            None,
            True,
        ),
        "429-short": Storm(
            "429-short",
            f"429, wait {short} s, on every request",
            lambda f: f.fail_with_429(retry_after=short, times=None),
            0.0,
            server_waits(short),
            float(short),
            False,
        ),
        "429-long": Storm(
            "429-long",
            "429, wait 3600 s, on every request",
            lambda f: f.fail_with_429(retry_after=3600, times=None),
            0.0,
            server_waits(3600),
            3600.0,
            False,
        ),
        "timeout": Storm(
            "timeout",
            f"every reply held {timeout + 5:.0f} s (client timeout {timeout:.0f} s)",
            lambda f: f.delay(timeout + 5, times=None),
            timeout,
            backoff_waits(),
            None,
            True,
        ),
    }


def expected_interval(attempts: int, retry_after: float | None) -> float:
    """retry.py's next-attempt interval after ``attempts`` failed passes, in minutes."""
    backoff = min(POLICY.next_pass_max, POLICY.next_pass_base * 2 ** max(0, attempts - 1))
    if retry_after is not None:
        backoff = max(backoff, timedelta(seconds=retry_after))
    return backoff.total_seconds() / 60


def expected_pause(streak: int) -> float:
    """breaker.py's pause after ``streak`` failing passes in a row, in minutes (0: none)."""
    if streak < STREAK_LIMIT:
        return 0.0
    pause = min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** (streak - STREAK_LIMIT))
    return pause.total_seconds() / 60


@dataclass
class Outcome:
    storm: Storm
    passes: list[Pass]
    recovery: Pass
    checks: dict[str, tuple[bool | None, str]]  # name -> (ok, None: not applicable; detail)
    tallies_line: str
    notes: list[str]


def run_storm(
    storm: Storm,
    channel: str,
    base: Path,
    ledgers: Ledgers,
    subscribers: list[str],
    baseline: Baseline,
    passes: int,
    full: bool,
) -> Outcome:
    fakes = Fakes(base / f"storm-{storm.kind}", ledgers, subscribers)
    try:
        if not storm.shift_clock:
            fakes.servers.masto.clock = time.time
        storm.arm(fakes.service(channel))
        done: list[Pass] = []
        rows: list[LedgerRow] = []
        now = T0
        limit = passes if (full or storm.kind != "timeout") else 1
        for number in range(1, limit + 1):
            scale = "1" if (number == 1 or full or storm.kind == "503") else "0"
            result = run_pass(fakes, channel, number, now, scale, rows)
            done.append(result)
            rows = result.rows
            following = next_pass_time(result)
            if following is None:
                break
            now = following
        last = done[-1]
        fakes.service(channel).clear_faults()
        moments = [last.now + timedelta(minutes=1)]
        moments += [r.next_attempt_at for r in last.rows if r.next_attempt_at]
        if last.paused_until:
            moments.append(last.paused_until)
        recovery_at = max(m.astimezone(T0.tzinfo) for m in moments)
        recovery = run_pass(fakes, channel, 0, recovery_at, "1", rows)
        got = what_arrived(fakes.servers, subscribers, fakes.servers.webhook_keys())
        return judge_storm(storm, channel, done, recovery, baseline, fakes, subscribers, got)
    finally:
        fakes.close()


def next_pass_time(result: Pass) -> datetime | None:
    """The failing rows' earliest next attempt (up to the whole second after the last of
    those within 5 s of it: a server's wait read off its clock spreads them by milliseconds);
    if the breaker held them back past it, the end of the pause; None when nothing waits for
    a retry (e.g. it failed for good)."""
    due = [r.next_attempt_at for r in result.rows if r.state == "retry" and r.next_attempt_at]
    if not due:
        return None
    soonest = max(d for d in due if d - min(due) <= timedelta(seconds=5))
    soonest = soonest.astimezone(T0.tzinfo)
    if soonest.microsecond:
        soonest = soonest.replace(microsecond=0) + timedelta(seconds=1)
    if soonest > result.now:
        return soonest
    if result.paused_until and result.paused_until > result.now:
        return result.paused_until.astimezone(T0.tzinfo)
    return result.now + timedelta(minutes=1)


# -- the verdict -------------------------------------------------------------------------------


@dataclass
class Baseline:
    walls: list[float]
    finish: dict[str, list[float]]

    @property
    def wall(self) -> float:
        return max(self.walls)

    def reference(self, channel: str) -> float | None:
        values = self.finish.get(channel)
        return max(values) if values else None


def run_baseline(base: Path, ledgers: Ledgers, subscribers: list[str], runs: int) -> Baseline:
    result = Baseline([], {})
    for n in range(1, runs + 1):
        fakes = Fakes(base / f"baseline-{n}", ledgers, subscribers)
        try:
            done = run_pass(fakes, None, 1, T0, "1", [])
            if done.code != 0:
                raise SystemExit(f"baseline run {n} exited {done.code}: see {fakes.folder}")
            result.walls.append(done.wall)
            for channel, seconds in done.finish.items():
                result.finish.setdefault(channel, []).append(seconds)
        finally:
            fakes.close()
    return result


def judge_storm(
    storm: Storm,
    channel: str,
    done: list[Pass],
    recovery: Pass,
    baseline: Baseline,
    fakes: Fakes,
    subscribers: list[str],
    got: Received,
) -> Outcome:
    checks: dict[str, tuple[bool | None, str]] = {}
    notes: list[str] = []
    first = done[0]
    # bounded
    over = first.wall - baseline.wall
    bounded = over <= storm.bound
    detail = f"{first.wall:.1f} s = baseline {baseline.wall:.1f} {over:+.1f} s (bound +{storm.bound:.0f} s)"
    if first.tried > STORM_LIMIT:
        bounded = False
        detail += f"; {first.tried} jobs tried > storm limit {STORM_LIMIT}"
        notes.append(
            f"pass 1 tried {first.tried} {channel} deliveries, more than the storm limit "
            f"({STORM_LIMIT}): the pass time grows with the number of notices"
        )
    checks["bounded"] = (bounded, detail)
    # others not slowed
    worst, who = -99.0, ""
    missing = []
    for other in CHANNELS:
        if other == channel:
            continue
        ref, seen = baseline.reference(other), first.finish.get(other)
        if ref is None or seen is None:
            missing.append(other)
            continue
        if seen - ref > worst:
            worst, who = seen - ref, other
    fine = worst <= SLOWED_BY and not missing
    text = f"slowest vs baseline: {who} {worst:+.2f} s (allowed +{SLOWED_BY:.0f} s)"
    if missing:
        text += f"; no finish time for {', '.join(missing)}"
    checks["others"] = (fine, text)
    # backoff across passes
    sequence: list[str] = []
    wrong: list[str] = []
    attempted = [p for p in done if p.tried]
    for p in attempted:
        for attempts, minutes in p.intervals():
            want = expected_interval(attempts, storm.retry_after)
            sequence.append(f"{minutes:.4g}")
            if abs(minutes - want) > 5 / 60:
                wrong.append(
                    f"pass {p.number}: {minutes:g} min after attempt {attempts}, want {want:g}"
                )
    retried = any(r.state == "retry" for p in done for r in p.rows)
    if not retried:
        states = Counter(r.state for r in done[-1].rows)
        checks["backoff"] = (None, f"n/a: nothing in retry ({_states(states)})")
    elif len(attempted) < 2:
        checks["backoff"] = (
            None,
            f"one failing pass only (--full for more): {' '.join(sequence)} min",
        )
    else:
        checks["backoff"] = (
            not wrong,
            f"{' -> '.join(sequence)} min" + (f"; {wrong}" if wrong else ""),
        )
    # the breaker
    checks["breaker"] = breaker_check(done, notes)
    # recovery
    tallies, judged = judge(fakes.database, subscribers, got, fakes.servers.webhook_keys())
    total_dup = sum(t.duplicates for t in tallies.values())
    total_lost = sum(t.lost for t in tallies.values())
    targets = sum(t.targets for t in tallies.values())
    once = sum(t.once for t in tallies.values())
    states = Counter[str]()
    for t in tallies.values():
        states.update(t.states)
    received = {n: got.counts[(channel, n, "")] for n in NOTICES}
    failed_missing = [
        r.notice for r in recovery.rows if r.state == "failed" and not received.get(r.notice)
    ]
    pending = sum(states[s] for s in ("claimed", "sending", "retry"))
    lost = total_lost + len(failed_missing)
    ok = total_dup == 0 and lost == 0 and pending == 0
    rec = (
        f"{once}/{targets} once, {total_dup} dup, {lost} lost, {pending} pending, "
        f"{states['unknown']} unknown (left to a person: the channel cannot repeat safely); "
        f"ledger {_states(states)}; status exit {recovery.status_code}"
    )
    checks["recovery"] = (ok, rec)
    notes += [n for n in judged if not n.startswith("received but the ledger says failed")]
    failed_arrived = [
        r.notice for r in recovery.rows if r.state == "failed" and received.get(r.notice)
    ]
    if failed_arrived:
        notes.append(
            f"{len(failed_arrived)} {channel} deliveries are 'failed' in the ledger (status exit "
            f"{recovery.status_code}: a person is needed) although the server did post them"
        )
    every = [h for p in [*done, recovery] for h in p.hits]
    creates = [h for h in every if _creates(channel, h)]
    accepted = sum(1 for h in creates if 200 <= h.status < 300)
    tallies_line = (
        f"{channel} server, all passes: {len(every)} requests, {len(creates)} of them to post "
        f"({accepted} answered 2xx, incl. any the client had given up on) for {len(NOTICES)} posts"
    )
    for p in done:
        pending = any(r.state == "retry" for r in p.rows)
        if p.code == 0 and pending:
            notes.append(
                f"pass {p.number}: `broadcast run` exited 0 although {channel} deliveries wait "
                "(skipped while paused count as neither failed nor retry in the run's report)"
            )
        if not p.tried and p.hits:
            notes.append(
                f"pass {p.number}: nothing tried (paused), yet the {channel} server got "
                f"{len(p.hits)} request(s) ({', '.join(sorted({h.path for h in p.hits}))}); "
                f"the pass took {p.wall:.1f} s"
            )
    return Outcome(storm, done, recovery, checks, tallies_line, notes)


def breaker_check(done: list[Pass], notes: list[str]) -> tuple[bool | None, str]:
    failing = 0
    opened_at: int | None = None
    problems: list[str] = []
    for p in done:
        retry = any(r.state == "retry" for r in p.rows)
        if p.tried and retry:
            failing += 1
            want = expected_pause(failing)
            got = (p.paused_until - p.now).total_seconds() / 60 if p.paused_until else 0.0
            if abs(got - want) > 0.1:
                problems.append(f"pass {p.number}: pause {got:g} min, want {want:g}")
            if want and opened_at is None:
                opened_at = p.number
        elif not p.tried and p.paused_until and p.paused_until > p.now:
            creates = [h for h in p.hits if h.method != "GET"]
            if creates:
                problems.append(f"pass {p.number}: paused, yet {len(creates)} requests were sent")
            if not p.printed_pause:
                problems.append(f"pass {p.number}: paused, but run's summary does not say so")
        paused_now = p.paused_until is not None and p.paused_until > p.now
        if paused_now and not (p.status_code == 1 and p.status.get("paused")):
            problems.append(
                f"pass {p.number}: paused, status exit {p.status_code} paused={p.status.get('paused')!r}"
            )
        if paused_now and not p.status.get("last_error"):
            problems.append(f"pass {p.number}: paused, status shows no last error")
    if failing == 0:
        return None, "n/a: no failing pass left anything to retry"
    if failing < STREAK_LIMIT:
        return None, f"{failing} failing pass(es), fewer than {STREAK_LIMIT}: not exercised"
    if opened_at is None:
        problems.append(f"never opened after {failing} failing passes")
    detail = f"opened at pass {opened_at}" if opened_at else "did not open"
    if problems:
        notes += problems
    return not problems, detail + (f"; {len(problems)} problems" if problems else "")


def _creates(channel: str, hit: Hit) -> bool:
    app, method, endings = CREATES[channel]
    return hit.app == app and hit.method == method and hit.path.endswith(endings)


def _states(states: Counter[str]) -> str:
    return " ".join(f"{s}:{n}" for s, n in sorted(states.items())) or "-"


# -- printing ----------------------------------------------------------------------------------


def show_baseline(console: Console, baseline: Baseline) -> None:
    walls = " / ".join(f"{w:.1f}" for w in baseline.walls)
    console.print(f"baseline ({len(baseline.walls)} clean runs): wall {walls} s")
    parts = [
        f"{c} {'/'.join(f'{v:.2f}' for v in baseline.finish[c])}"
        for c in CHANNELS
        if c in baseline.finish
    ]
    console.print("  finished (s after start): " + ", ".join(parts))


def show_storm(console: Console, outcome: Outcome, channel: str, baseline: Baseline) -> None:
    storm, first = outcome.storm, outcome.passes[0]
    console.print()
    console.print(f"[bold]storm {storm.kind}[/bold]: {channel}, {storm.label}")
    slower = [
        f"{c} {first.finish[c]:.2f} ({first.finish[c] - ref:+.2f})"
        for c in CHANNELS
        if c != channel and c in first.finish and (ref := baseline.reference(c)) is not None
    ]
    console.print("  pass 1, others finished (s, vs baseline): " + ", ".join(slower))
    errors = {r.error for r in first.rows if r.error}
    console.print(
        f"  pass 1, {channel} rows: "
        + "; ".join(
            f"{r.notice} {r.state} attempts {r.attempts} next "
            + (
                r.next_attempt_at.astimezone(T0.tzinfo).strftime("%H:%M:%S")
                if r.next_attempt_at
                else "-"
            )
            for r in first.rows
        )
        + (
            f"; skipped (never claimed): {len(NOTICES) - len(first.rows)}"
            if len(first.rows) < len(NOTICES)
            else ""
        )
    )
    for error in sorted(errors):
        console.print(f"    error: {error[:220]}")
    table = Table(box=None, pad_edge=False, title_justify="left")
    for name in (
        "pass",
        "--now",
        "scale",
        "wall s",
        "exit",
        "reqs",
        "tried",
        "rows",
        "next attempt in (min)",
        "breaker",
        "status",
    ):
        table.add_column(
            name, justify="right" if name in ("wall s", "exit", "reqs", "tried") else "left"
        )
    for p in [*outcome.passes, outcome.recovery]:
        replies = Counter(h.status for h in p.hits)
        reqs = f"{len(p.hits)}" + (
            f" ({' '.join(f'{s}x{n}' for s, n in sorted(replies.items()))})" if p.hits else ""
        )
        intervals = ", ".join(
            f"{m:.4g} (#{a}, want {expected_interval(a, storm.retry_after):.4g})"
            for a, m in p.intervals()
        )
        if p.paused_until and p.paused_until > p.now:
            left = (p.paused_until - p.now).total_seconds() / 60
            breaker = f"streak {p.streak}, PAUSED {left:g} min"
        else:
            breaker = f"streak {p.streak}, closed"
        paused = "paused" if p.status.get("paused") else "-"
        table.add_row(
            "recovery" if p.number == 0 else str(p.number),
            f"+{p.minutes:.6g} min",
            p.scale,
            f"{p.wall:.1f}",
            str(p.code),
            reqs,
            str(p.tried),
            _states(Counter(r.state for r in p.rows)),
            intervals or "-",
            breaker + (" (run says so)" if p.printed_pause else ""),
            f"exit {p.status_code}, {paused}",
        )
    console.print(table)
    shown = dict.fromkeys(
        f"{p.status.get('paused') or ''} | {p.status.get('last_error') or ''}".strip(" |")
        for p in [*outcome.passes, outcome.recovery]
    )
    for line in shown:
        if line:
            console.print(f"    status --json said: {line[:170]}")
    for name, (ok, detail) in outcome.checks.items():
        mark = "n/a " if ok is None else ("ok  " if ok else "FAIL")
        console.print(f"  {mark} {name}: {detail}")
    console.print(f"  {outcome.tallies_line}")
    for note in outcome.notes[:12]:
        console.print(f"  note: {note}")


def show_summary(console: Console, outcomes: list[Outcome], channel: str) -> bool:
    table = Table(title=f"summary ({channel})", title_justify="left", box=None, pad_edge=False)
    for name in ("storm", "pass 1 wall", "bounded", "others", "backoff", "breaker", "recovery"):
        table.add_column(name)
    failed = False
    for o in outcomes:
        cells = []
        for name in ("bounded", "others", "backoff", "breaker", "recovery"):
            ok, _detail = o.checks[name]
            failed |= ok is False
            cells.append("n/a" if ok is None else ("ok" if ok else "FAIL"))
        table.add_row(o.storm.kind, f"{o.passes[0].wall:.1f} s", *cells)
    console.print()
    console.print(table)
    return failed


# -- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else "")
    parser.add_argument("--subscribers", type=int, default=500, help="email list size")
    parser.add_argument("--channel", choices=STORMABLE, default="mastodon")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated storm kinds")
    parser.add_argument("--passes", type=int, default=5, help="storm passes per kind")
    parser.add_argument("--baseline-runs", type=int, default=2)
    parser.add_argument("--short-wait", type=int, default=2, help="429-short's wait (s)")
    parser.add_argument("--full", action="store_true", help="every pass, real waits")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL ledger (fresh schemas)")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kinds {unknown}; choose from {', '.join(KINDS)}")
    console = Console(highlight=False, width=max(160, shutil.get_terminal_size().columns))
    timeout = client_timeout()
    began = time.monotonic()
    subscribers = [f"subscriber{n:06d}@example.com" for n in range(args.subscribers)]
    base = Path(tempfile.mkdtemp(prefix="fault-storm-"))
    ledgers = Ledgers(args.postgres)
    try:
        console.print(
            f"fault storm on {args.channel}: {len(NOTICES)} notices to {len(CHANNELS)} channels, "
            f"{args.subscribers} subscribers, kinds {', '.join(kinds)}, {args.passes} passes "
            f"({'full' if args.full else 'default'}), client timeout {timeout:g} s, retry policy "
            f"{POLICY.attempts_in_pass} attempts/pass, next pass {POLICY.next_pass_base} x 2^n "
            f"up to {POLICY.next_pass_max}; breaker after {STREAK_LIMIT} passes, "
            f"{FIRST_PAUSE} doubling to {LONGEST_PAUSE}; storm limit {STORM_LIMIT}"
        )
        console.print(
            "  computed from retry.py / breaker.py (not measured): next-attempt intervals "
            + " ".join(f"{expected_interval(n, None):g}" for n in range(1, 12))
            + " min; breaker pauses after 3, 4, ... failing passes "
            + " ".join(f"{expected_pause(n):g}" for n in range(STREAK_LIMIT, STREAK_LIMIT + 9))
            + " min"
        )
        baseline = run_baseline(base, ledgers, subscribers, args.baseline_runs)
        show_baseline(console, baseline)
        table = storms(timeout, args.short_wait)
        outcomes = []
        for kind in kinds:
            outcome = run_storm(
                table[kind],
                args.channel,
                base,
                ledgers,
                subscribers,
                baseline,
                args.passes,
                args.full,
            )
            show_storm(console, outcome, args.channel, baseline)
            outcomes.append(outcome)
        failed = show_summary(console, outcomes, args.channel)
        bad = [
            f"{o.storm.kind} {name}"
            for o in outcomes
            for name, (ok, _d) in o.checks.items()
            if ok is False
        ]
        console.print(
            f"{'FAIL' if failed else 'PASS'}: {args.channel} storms "
            f"{', '.join(kinds)}: "
            + (f"failed: {', '.join(bad)}" if bad else "every requirement met")
            + f"; whole benchmark {time.monotonic() - began:.0f} s"
        )
        if args.keep:
            console.print(f"kept: {base}")
        return 1 if failed else 0
    finally:
        ledgers.drop()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
