"""Crash trials: does "exactly once" survive SIGKILL at random moments? (issue 7, item 4)

One fan-out (a closure and a few articles) goes to every channel type at once, against the
local fakes the tests use, all on 127.0.0.1 and run in this process: Telegram, Mastodon,
Bluesky, the Graph API (Facebook and Instagram, with a local website serving the notice
cards), X, LinkedIn, Google Business Profile, two signed webhook URLs, Apprise (``json://``
to a plain receiver), the website banner (a temp folder), and email over SMTP to an aiosmtpd
sink with N generated subscribers.

1. Calibration: one uncut ``broadcast run`` on a separate copy (its own fakes and ledger)
   measures how long the process takes to its first delivery and how long the sending lasts.
2. Trial: ``broadcast run --now <fixed>`` is started, SIGKILLed after a random delay,
   restarted at once, ``--kills`` times in a row; then one final run is left to finish.
   The kill moments (seeded RNG) are sorted uniform points over the uncut run's timeline:
   a point in its start-up (before its first message) kills a run that long after it
   starts; a later point becomes the share of all messages the uncut run had delivered by
   then, and the run is killed as soon as the servers hold that share -- so the kills walk
   through the whole fan-out instead of landing in the start-up of each restart or after
   the end. Right after each kill the ledger's counts by state are read: what a process
   held when it died bounds what may become unknown.
3. Report, from what each fake server actually recorded and from the ledger's ``state``
   column (nothing else of the ledger's internals), per channel: targets, received exactly
   once, duplicates (received more than once: must be 0), lost (received 0 and the ledger
   does not list it as unknown or failed: must be 0), unknown (ledger) and how many of
   those did arrive, create requests seen by the server, and the ledger's counts by state.
   Exit status 1 if any duplicate or lost delivery was found.

Run it from the project root::

    .venv/bin/python benchmarks/crash_trials.py [--kills 20] [--subscribers 2000] [--seed 1]
                                                [--connections 4] [--postgres URL] [--keep]

``--postgres postgresql://postgres@127.0.0.1:5432/test`` uses a PostgreSQL ledger in fresh
schemas (dropped afterwards); the default is a SQLite ledger in the temp directory.
``--keep`` keeps the temp directory (configs, run logs, ledger) and prints its path.
The fakes, the config, the SMTP sink and the counting are shared with fault_storm.py, in
``_every_channel.py``.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from _every_channel import (
    ARTICLES,
    CHANNELS,
    CUT_OFF,
    NOTICES,
    Ledgers,
    Received,
    Servers,
    Tally,
    judge,
    ledger_state_counts,
    start,
    what_arrived,
    write_project,
)
from rich.console import Console
from rich.table import Table

SETTLED = ("sent", "failed", "unknown", "retry")  # any other state is held by a process


# -- running broadcast -------------------------------------------------------------------------


@dataclass
class Calibration:
    first: float  # seconds from start to the first message a server holds
    total: float  # seconds to exit
    code: int
    received: int
    curve: list[tuple[float, int]]  # (seconds since the start, messages the servers hold)

    def share_at(self, moment: float) -> float:
        """The share of all messages the servers held ``moment`` seconds into the run."""
        held = 0
        for at, count in self.curve:
            if at > moment:
                break
            held = count
        return held / max(1, self.received)


def calibrate(
    base: Path, ledgers: Ledgers, subscribers: list[str], connections: int
) -> Calibration:
    """One uncut run on a separate copy (own fakes, own ledger), its progress sampled."""
    folder = base / "calibration"
    with Servers(folder / "site/notices") as servers:
        config, _banner = write_project(
            folder, servers, subscribers, ledgers.new(folder), connections
        )
        began = time.monotonic()
        proc = start(config, servers, folder / "run.log")
        curve: list[tuple[float, int]] = []
        while proc.poll() is None:
            curve.append((time.monotonic() - began, servers.delivered()))
            time.sleep(0.005)
        total = time.monotonic() - began
        time.sleep(0.2)  # the servers finish what they were handed
        first = next((at for at, count in curve if count), total)
        return Calibration(first, total, proc.returncode, servers.delivered(), curve)


@dataclass
class Kill:
    number: int
    phase: str  # "start-up": a time after the start; "sending": a count of messages held
    planned: str  # "t+0.52s" or "msg>=3127"
    after: float  # seconds from the start to the kill (or to the exit)
    first: float | None  # seconds from the start to this run's first new message, if any
    killed: bool  # False: the run had already exited by itself
    code: int | None
    received: int  # messages the servers hold at the kill
    states: Counter[str]  # the ledger's counts by state right after the kill
    new_unknown: int = 0  # unknown rows that appeared by the next look at the ledger

    @property
    def held(self) -> int:
        """Deliveries a process held (neither settled nor due) when this one died."""
        return sum(n for state, n in self.states.items() if state not in SETTLED)


def trial(
    folder: Path,
    servers: Servers,
    config: Path,
    database: str,
    calibration: Calibration,
    kills: int,
    rng: random.Random,
) -> tuple[list[Kill], int, float]:
    """``kills`` runs SIGKILLed at random moments, then one run left to finish.

    The moments are ``kills`` sorted uniform points over the uncut run's timeline. A point
    in its start-up (before its first message) kills a run that long after its start:
    reaping, reading notices, rendering, claiming. A later point is turned into the share of
    the messages the uncut run had delivered by then, and the run is killed as soon as the
    servers hold that share (of what can still arrive: unknown deliveries may never), and
    at the earliest after its own first new message. Restarts do not replay the work already
    done and do not go at the uncut run's pace, so a plain delay would land most kills in
    the start-up of a restart or after the end; this walks them through the whole fan-out.
    """
    points = sorted(rng.uniform(0, calibration.total) for _ in range(kills))
    logs = folder / "logs"
    logs.mkdir()
    done: list[Kill] = []
    unknown = 0
    for number, point in enumerate(points, 1):
        before = servers.delivered()
        began = time.monotonic()
        proc = start(config, servers, logs / f"run-{number:02d}.log")
        first: float | None = None
        deadline, target = None, None
        if point < calibration.first:
            phase, planned, deadline = "start-up", f"t+{point:.2f}s", began + point
        else:
            share = calibration.share_at(point)
            target = math.ceil(share * (calibration.received - unknown))
            phase, planned = "sending", f"msg>={target}"
        while proc.poll() is None:
            now = time.monotonic()
            held = servers.delivered()
            if first is None and held > before:
                first = now - began
            if deadline is not None and now >= deadline:
                break
            if target is not None and first is not None and held >= target:
                break
            time.sleep(0.002)
        after = time.monotonic() - began
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait()  # reaped: its pid no longer exists, as after a real crash
        code = None if killed else proc.returncode
        states = ledger_state_counts(database)
        unknown = states["unknown"]
        done.append(
            Kill(number, phase, planned, after, first, killed, code, servers.delivered(), states)
        )
    began = time.monotonic()
    final = start(config, servers, logs / "final.log")
    code = final.wait(timeout=600)
    final_seconds = time.monotonic() - began
    time.sleep(0.3)  # let the servers finish recording the last replies
    counts = [k.states["unknown"] for k in done] + [ledger_state_counts(database)["unknown"]]
    for kill, (was, then) in zip(done, pairwise(counts), strict=True):
        kill.new_unknown = then - was
    return done, code, final_seconds


# -- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else "")
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs in a row (default 20)")
    parser.add_argument("--subscribers", type=int, default=2000, help="email list size")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill delays")
    parser.add_argument("--connections", type=int, default=4, help="SMTP connections (4)")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL ledger (fresh schemas)")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = parser.parse_args()
    console = Console(highlight=False, width=max(132, shutil.get_terminal_size().columns))
    rng = random.Random(args.seed)
    began = time.monotonic()
    subscribers = [f"subscriber{n:06d}@example.com" for n in range(args.subscribers)]
    base = Path(tempfile.mkdtemp(prefix="crash-trials-"))
    ledgers = Ledgers(args.postgres)
    try:
        console.print(
            f"crash trials: {len(NOTICES)} notices ({len(ARTICLES)} articles, 1 closure) to "
            f"{len(CHANNELS)} channels, {args.subscribers} subscribers, {args.kills} kills, "
            f"seed {args.seed}, ledger "
            f"{'PostgreSQL ' + args.postgres if args.postgres else 'SQLite'}"
        )
        cal = calibrate(base, ledgers, subscribers, args.connections)
        console.print(
            f"calibration (separate copy, uncut): exit {cal.code}, {cal.total:.1f} s, first "
            f"message after {cal.first:.1f} s, {cal.received} messages received"
        )
        folder = base / "trial"
        with Servers(folder / "site/notices") as servers:
            database = ledgers.new(folder)
            config, _banner = write_project(
                folder, servers, subscribers, database, args.connections
            )
            kills, final_code, final_seconds = trial(
                folder, servers, config, database, cal, args.kills, rng
            )
            webhook_keys = servers.webhook_keys()
            got = what_arrived(servers, subscribers, webhook_keys)
        tallies, notes = judge(database, subscribers, got, webhook_keys)
        show_kills(console, kills)
        console.print(f"final run: exit {final_code} after {final_seconds:.1f} s")
        failed = show_verdict(console, tallies, got, notes, kills)
        console.print(f"wall time of the whole trial: {time.monotonic() - began:.1f} s")
        if args.keep:
            console.print(f"kept: {base}")
        return 1 if failed else 0
    finally:
        ledgers.drop()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


def show_kills(console: Console, kills: list[Kill]) -> None:
    table = Table(title="kills", title_justify="left", box=None, pad_edge=False)
    columns = ("#", "phase", "planned", "1st msg", "killed at", "outcome", "received", "held")
    for name in (*columns, "+unknown", "ledger right after (state:count)"):
        table.add_column(name, justify="left" if name[0] in "pol" else "right")
    for k in kills:
        outcome = "SIGKILL" if k.killed else f"exited {k.code}"
        states = " ".join(f"{s}:{n}" for s, n in sorted(k.states.items()))
        table.add_row(
            str(k.number),
            k.phase,
            k.planned,
            "-" if k.first is None else f"{k.first:.2f}",
            f"{k.after:.2f}",
            outcome,
            str(k.received),
            str(k.held),
            f"{k.new_unknown:+d}",
            states,
        )
    console.print(table)


def show_verdict(
    console: Console,
    tallies: dict[str, Tally],
    got: Received,
    notes: list[str],
    kills: list[Kill],
) -> bool:
    table = Table(title="per channel", title_justify="left", box=None, pad_edge=False)
    columns = (
        "channel",
        "targets",
        "once",
        "dup",
        "lost",
        "unknown",
        "unk rcvd",
        "reqs",
        "ledger states",
    )
    for name in columns:
        table.add_column(name, justify="left" if name in ("channel", "ledger states") else "right")
    total = Tally()
    for channel, t in tallies.items():
        states = " ".join(f"{s}:{n}" for s, n in sorted(t.states.items()))
        requests = got.requests.get(channel, 0)
        table.add_row(
            channel,
            str(t.targets),
            str(t.once),
            str(t.duplicates),
            str(t.lost),
            str(t.unknown),
            str(t.unknown_arrived),
            str(requests) if channel != "banner" else "-",
            states,
        )
        for name in ("targets", "once", "duplicates", "lost", "unknown", "unknown_arrived"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
        total.sent_not_arrived += t.sent_not_arrived
        total.arrived_unsettled += t.arrived_unsettled
        total.states.update(t.states)
    table.add_row(
        "TOTAL",
        str(total.targets),
        str(total.once),
        str(total.duplicates),
        str(total.lost),
        str(total.unknown),
        str(total.unknown_arrived),
        "",
        " ".join(f"{s}:{n}" for s, n in sorted(total.states.items())),
    )
    console.print(table)
    console.print(
        "  once/dup/lost: what the server holds per expected delivery; unknown: the ledger's "
        "state; unk rcvd: unknown but it did arrive; reqs: create requests the server saw "
        "(more than 'once' means repeats the platform absorbed, e.g. an Idempotency-Key)"
    )
    for note in notes[:30]:
        console.print(f"  {note}")
    if len(notes) > 30:
        console.print(f"  ... and {len(notes) - 30} more notes")
    held = sum(k.held for k in kills if k.killed)
    killed = sum(k.killed for k in kills)
    bounded = total.unknown <= held and all(k.new_unknown <= k.held for k in kills)
    failed = total.duplicates > 0 or total.lost > 0
    console.print(
        f"{'FAIL' if failed else 'PASS'}: {killed} kills, {total.targets} deliveries, "
        f"{total.duplicates} duplicates, {total.lost} lost, {total.unknown} unknown "
        f"({total.unknown_arrived} of them did arrive; {'within' if bounded else 'ABOVE'} what "
        f"was held at each kill, {held} in all), {total.arrived_unsettled} arrived but "
        f"unsettled in the ledger, {sum(got.unmatched.values())} unmatched messages; "
        f"{CUT_OFF.count} HTTP requests were cut off mid-body by a kill"
    )
    return failed


if __name__ == "__main__":
    sys.exit(main())
