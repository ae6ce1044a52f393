"""How the ledger behaves when it holds a million deliveries.

Fills a ledger (SQLite, and PostgreSQL with --postgres URL or BROADCAST_TEST_POSTGRES_URL) with N
deliveries -- a year of a clinic group: closures and articles, each to every email subscriber
plus a few social channels. Most are ``sent``; the rest is what a real ledger holds too: retries
not due yet (0.3 %), failures (0.1 %) and unknowns (0.02 %), spread over the year. Then the
example config's own closure and article go out through real passes (Maildir), and on a quiet
day after them it measures:

* a pass with nothing due -- the daily run: ``Dispatcher.run`` opened the way ``broadcast run``
  opens it (best and median of 5 after a warm-up), and a whole ``broadcast run`` process;
* ``broadcast status``: ``Ledger.counts``, ``channel_statuses`` (counts + next retry + last
  error per channel), and a whole ``broadcast status`` process;
* ``history``: the newest page, the oldest page (keyset paging: ``before_id``, no OFFSET), the
  ``--state unknown`` page, a whole ``broadcast history`` process, and paging through
  everything: time per page and peak RSS while paging (the peak is reset first when Linux
  allows it, so it is not the fill's peak);
* the ledger's size on disk (SQLite: the file, and its WAL; PostgreSQL: tables with indexes).

The ledger code never runs ANALYZE, so by default neither does this script; ``--analyze`` runs it
after the fill, to compare. (PostgreSQL's autovacuum analyzes by itself, when it is on.)

    python benchmarks/ledger_scale.py [--rows 1000000] [--postgres URL] [--only sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from broadcaster import config as config_module
from broadcaster import runtime
from broadcaster.config import Secrets
from broadcaster.ledger import Ledger
from broadcaster.ledger.schema import deliveries, renders
from broadcaster.status import channel_statuses

ROOT = Path(__file__).resolve().parent.parent
BROADCAST = Path(sys.executable).parent / "broadcast"
QUIET_DAY = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)  # long after the example's closure and article
#: the example's closure (26-27 Mar 2024) and article (20 Mar) going out, as daily passes would
EXAMPLE_PASSES = [datetime(2024, 3, d, 1, 0, tzinfo=UTC) for d in (19, 20, 25, 28)]
SUBSCRIBERS = 10_000
SOCIAL = ("banner", "telegram", "mastodon", "facebook")
#: (state, share of rows): the rest is ``sent``
MIX = (("retry", 0.003), ("failed", 0.001), ("unknown", 0.0002))


def fill(ledger: Ledger, rows: int) -> tuple[float, dict[str, int]]:
    """Insert ``rows`` deliveries (and their renders) in big batches: (seconds, rows by state)."""
    started = time.perf_counter()
    per_notice = SUBSCRIBERS + len(SOCIAL)
    notices = -(-rows // per_notice)
    year_start, spacing = datetime(2023, 3, 18, tzinfo=UTC), timedelta(days=365) / notices
    rng = random.Random(7)
    columns = set(deliveries.c.keys())  # the ledger's schema may grow while this script lives
    by_state: dict[str, int] = {}

    def name(n: int) -> tuple[str, str]:
        return (f"closure-{n:05d}", "announce") if n % 3 == 0 else (f"article-{n:05d}", "publish")

    with ledger.engine.begin() as conn:
        conn.execute(
            renders.insert(),
            [
                {
                    "notice_id": name(n)[0],
                    "occasion": name(n)[1],
                    "channel": channel,
                    "fingerprint": f"{n:064x}",
                    "body": '{"text": "..."}',
                    "created_at": year_start + spacing * n,
                }
                for n in range(notices)
                for channel in ("email", *SOCIAL)
            ],
        )
        render_ids = {
            (r.notice_id, r.channel): r.id
            for r in conn.execute(sa.select(renders.c.id, renders.c.notice_id, renders.c.channel))
        }
        batch: list[dict[str, Any]] = []
        for i in range(rows):
            n, k = divmod(i, per_notice)
            notice_id, occasion = name(n)
            channel = "email" if k < SUBSCRIBERS else SOCIAL[k - SUBSCRIBERS]
            target = f"subscriber{k:06d}@example.com" if channel == "email" else channel
            stamp = year_start + spacing * n + timedelta(seconds=k)
            row: dict[str, Any] = {
                "notice_id": notice_id,
                "occasion": occasion,
                "channel": channel,
                "target": target,
                "seq": 0,
                "state": "sent",
                "attempts": 1,
                "render_id": render_ids[(notice_id, channel)],
                "receipt": '{"message_id": "<x@example.com>"}',
                "attempted_at": stamp,
                "created_at": stamp,
                "updated_at": stamp + timedelta(seconds=1),
            }
            draw = rng.random()
            for state, share in MIX:
                if draw < share:
                    row.update(state=state, receipt=None)
                    if state == "retry":  # not due in the quiet pass
                        row.update(
                            attempts=rng.randint(2, 5),
                            next_attempt_at=QUIET_DAY + timedelta(hours=rng.randint(1, 48)),
                            error="451 4.7.1 try again later",
                        )
                    elif state == "failed":
                        row.update(error="550 5.1.1 mailbox unavailable")
                    else:
                        row.update(claimed_by="elsewhere:4242:abcdef")
                    break
                draw -= share
            by_state[row["state"]] = by_state.get(row["state"], 0) + 1
            batch.append({key: value for key, value in row.items() if key in columns})
            if len(batch) == 20_000:
                conn.execute(deliveries.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(deliveries.insert(), batch)
    return time.perf_counter() - started, by_state


async def one_pass(project: Path, now: datetime) -> tuple[float, int, int]:
    """A pass as ``broadcast run`` makes it: (seconds in ``run``, deliveries sent, attempted)."""
    loaded = config_module.load(project / "config/broadcaster.yaml")
    async with runtime.dispatcher(loaded, Secrets()) as dispatcher:
        started = time.perf_counter()
        report = await dispatcher.run(now)
        elapsed = time.perf_counter() - started
    sent = sum(r.count for r in report.rows if r.status == "sent" and r.attempted)
    return elapsed, sent, sum(1 for r in report.rows if r.attempted)


def quiet_passes(project: Path, times: int = 5) -> list[float]:
    asyncio.run(one_pass(project, QUIET_DAY))  # warm-up: caches, first reap
    result = []
    for _ in range(times):
        elapsed, sent, attempted = asyncio.run(one_pass(project, QUIET_DAY))
        assert sent == 0 and attempted == 0, "a quiet day must send and try nothing"
        result.append(elapsed)
    return result


def best(work: Callable[[], object], times: int = 3) -> float:
    """Best wall time of ``times`` calls, in seconds."""
    result = []
    for _ in range(times):
        started = time.perf_counter()
        work()
        result.append(time.perf_counter() - started)
    return min(result)


def command(project: Path, *args: str) -> float:
    """Wall time of a whole ``broadcast ...`` process (start-up and imports included)."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(BROADCAST), *args, "-c", "config/broadcaster.yaml"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1, 3):  # 1/3: retries waiting, failed/unknown rows: expected
        raise RuntimeError(f"broadcast {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return elapsed


def page_through(ledger: Ledger, page: int = 500) -> tuple[int, float]:
    """(rows seen, seconds per page) for paging the whole history, newest first."""
    count, pages = 0, 0
    started = time.perf_counter()
    for _delivery in ledger.iter_history(page=page):
        count += 1
        if count % page == 0:
            pages += 1
    return count, (time.perf_counter() - started) / max(pages, 1)


def rss_mib(field: str = "VmRSS") -> int:
    """This process's resident memory now (VmRSS) or at its peak (VmHWM), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def reset_peak_rss() -> bool:
    """Start VmHWM afresh (Linux >= 4.0), so a peak measured later is that phase's own."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def ledger_size(ledger: Ledger, url: str) -> str:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        wal = path.with_name(path.name + "-wal")
        wal_mib = wal.stat().st_size / 2**20 if wal.exists() else 0.0
        return f"{path.stat().st_size / 2**20:,.0f} MiB (+ WAL {wal_mib:,.0f} MiB)"
    with ledger.engine.connect() as conn:
        size = conn.execute(
            sa.text(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
        ).scalar_one()
    return f"{float(size) / 2**20:,.0f} MiB (tables and indexes)"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def measure(name: str, url: str, rows: int, project: Path, analyze: bool) -> dict[str, str]:
    os.environ["BROADCAST_DATABASE_URL"] = url  # what `broadcast` itself reads
    (project / "var").mkdir(exist_ok=True)  # the Maildir's parent
    ledger = Ledger(url)
    fill_s, by_state = fill(ledger, rows)
    rss_fill = rss_mib("VmHWM")
    # the example's notices go out for real, so the quiet pass finds them sent
    example_sent = sum(asyncio.run(one_pass(project, moment))[1] for moment in EXAMPLE_PASSES)
    assert example_sent, "the example's closure and article must have gone out"
    if analyze:
        with ledger.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    with ledger.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar_one()
        oldest = conn.execute(sa.select(sa.func.min(deliveries.c.id))).scalar_one()

    passes = quiet_passes(project)
    run_cmd = command(project, "run", "--now", QUIET_DAY.isoformat())
    counts_s = best(ledger.counts)
    status_s = best(lambda: channel_statuses(ledger, QUIET_DAY))
    status_cmd = command(project, "status", "--now", QUIET_DAY.isoformat())
    first_s = best(lambda: ledger.history(limit=500))
    deep_s = best(lambda: ledger.history(limit=500, before_id=oldest + 500))
    unknown_s = best(lambda: ledger.history(limit=50, state="unknown"))
    history_cmd = command(project, "history")

    rss_before = rss_mib()
    peak_reset = reset_peak_rss()
    seen, per_page = page_through(ledger)
    rss_paging = rss_mib("VmHWM")
    assert seen == total, f"paged through {seen:,} of {total:,} rows"
    size = ledger_size(ledger, url)
    ledger.close()

    return {
        "backend": name + (" +ANALYZE" if analyze else ""),
        "rows": f"{total:,} (filled: {', '.join(f'{s} {n:,}' for s, n in sorted(by_state.items()))})",
        "fill": f"{fill_s:.1f} s (+ {example_sent} sent by the example's passes)",
        "quiet pass": f"{ms(min(passes))} [{ms(statistics.median(passes))}]",
        "`broadcast run` process": ms(run_cmd),
        "Ledger.counts": ms(counts_s),
        "channel_statuses": ms(status_s),
        "`broadcast status` process": ms(status_cmd),
        "history, newest 500": ms(first_s),
        "history, oldest 500": ms(deep_s),
        "history --state unknown, 50": ms(unknown_s),
        "`broadcast history` process": ms(history_cmd),
        "paging everything, per 500": f"{per_page * 1000:.1f} ms ({seen:,} rows)",
        "RSS": (
            f"peak {rss_fill} MiB after the fill; {rss_before} MiB before paging, "
            f"peak {rss_paging} MiB while paging"
            + ("" if peak_reset else " (peak not reset: includes the fill)")
        ),
        "ledger size": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("BROADCAST_TEST_POSTGRES_URL"))
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE after the fill")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(ROOT / "config", project / "config")
        shutil.copytree(ROOT / "templates", project / "templates")
        os.chdir(project)
        if args.only != "postgresql":
            url = f"sqlite:///{project / 'ledger.db'}"
            results.append(measure("sqlite", url, args.rows, project, args.analyze))
        if args.postgres and args.only != "sqlite":
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            engine = sa.create_engine(
                args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
            )
            with engine.begin() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
            sep = "&" if "?" in args.postgres else "?"
            url = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
            try:
                results.append(measure("postgresql", url, args.rows, project, args.analyze))
            finally:
                with engine.begin() as conn:
                    conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
                engine.dispose()
    for key in results[0] if results else ():
        print(f"| {key} | " + " | ".join(r[key] for r in results) + " |")


if __name__ == "__main__":
    main()
