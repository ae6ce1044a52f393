"""How the ledger behaves when it holds a million deliveries.

Fills a ledger (SQLite, and PostgreSQL when BROADCAST_TEST_POSTGRES_URL is set) with N sent
deliveries -- a year of a clinic group: closures and articles, each to every email
subscriber plus a few social channels -- then measures, on the example config:

* a pass with nothing due (the daily run on a quiet day): its wall time;
* ``history`` paging through everything, page by page: time per page and peak memory;
* peak RSS of this process before and after, to show memory does not grow with N.

    python benchmarks/ledger_scale.py [--rows 1000000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from broadcaster import config as config_module
from broadcaster.config import Secrets
from broadcaster.dispatch import Dispatcher
from broadcaster.ledger import Ledger, deliveries

ROOT = Path(__file__).resolve().parent.parent
QUIET_DAY = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)  # long after the example's closure and article


def fill(ledger: Ledger, rows: int) -> float:
    """Insert ``rows`` sent deliveries in big batches; returns seconds taken."""
    started = time.perf_counter()
    stamp = datetime(2024, 3, 1, tzinfo=UTC)
    per_notice = 10_000
    batch: list[dict[str, object]] = []
    with ledger.engine.begin() as conn:
        for i in range(rows):
            notice, target = divmod(i, per_notice)
            batch.append(
                {
                    "notice_id": f"article-{notice:05d}",
                    "occasion": "publish",
                    "channel": "email",
                    "target": f"subscriber{target:06d}@example.com",
                    "seq": 0,
                    "state": "sent",
                    "attempts": 1,
                    "receipt": '{"message_id": "<x@example.com>"}',
                    "created_at": stamp,
                    "updated_at": stamp + timedelta(seconds=i),
                }
            )
            if len(batch) == 20_000:
                conn.execute(deliveries.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(deliveries.insert(), batch)
    return time.perf_counter() - started


async def quiet_pass(url: str, project: Path) -> float:
    loaded = config_module.load(project / "config/broadcaster.yaml")
    ledger = Ledger(url)  # the example config, on this ledger
    async with httpx.AsyncClient() as http:
        dispatcher = Dispatcher(loaded, Secrets(), ledger, http)
        started = time.perf_counter()
        report = await dispatcher.run(QUIET_DAY)
        elapsed = time.perf_counter() - started
    ledger.close()
    sent_now = sum(r.count for r in report.rows if r.status == "sent")
    assert sent_now == 0, "a quiet day must send nothing"
    return elapsed


def page_through(ledger: Ledger, page: int = 500) -> tuple[int, float, int]:
    """(rows seen, seconds per page, peak RSS in MiB) for paging the whole history."""
    count, pages = 0, 0
    started = time.perf_counter()
    for _delivery in ledger.iter_history(page=page):
        count += 1
        if count % page == 0:
            pages += 1
    elapsed = time.perf_counter() - started
    return count, elapsed / max(pages, 1), peak_rss_mib()


def peak_rss_mib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def measure(name: str, url: str, rows: int, project: Path) -> None:
    ledger = Ledger(url)
    fill_s = fill(ledger, rows)
    asyncio.run(quiet_pass(url, project))  # warm-up: first pass creates renders, reaps, etc.
    pass_s = min(asyncio.run(quiet_pass(url, project)) for _ in range(3))
    rss_before = peak_rss_mib()
    seen, per_page, rss_after = page_through(ledger)
    ledger.close()
    print(
        f"{name:10} rows={rows:>9,}  fill={fill_s:6.1f}s  quiet pass={pass_s * 1000:7.1f} ms  "
        f"history page(500)={per_page * 1000:6.1f} ms  pages read={seen:,}  "
        f"peak RSS {rss_before} -> {rss_after} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("BROADCAST_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(ROOT / "config", project / "config")
        shutil.copytree(ROOT / "templates", project / "templates")
        os.chdir(project)
        measure("sqlite", f"sqlite:///{project / 'ledger.db'}", args.rows, project)
        if args.postgres:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            engine = sa.create_engine(
                args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
            )
            with engine.begin() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
            sep = "&" if "?" in args.postgres else "?"
            try:
                measure(
                    "postgresql",
                    f"{args.postgres}{sep}options=-csearch_path%3D{schema}",
                    args.rows,
                    project,
                )
            finally:
                with engine.begin() as conn:
                    conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
