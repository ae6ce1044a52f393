"""``/healthz`` and ``/metrics``: is it working, and how much is it doing.

``/healthz`` answers 200 only when the ledger answers and the last pass (of any process on
this ledger: the worker, cron's ``broadcast run``) ended recently -- within
``serve.health_max_age_hours`` -- without crashing. A worker that silently stopped therefore
turns the check red within a day, which is what an uptime monitor needs to see.

``/metrics`` is the Prometheus text format (version 0.0.4): deliveries by channel and state,
the retry queue, deliveries in doubt, the pass-duration histogram, the last pass's time and
outcome, and subscribers by status.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broadcaster import passes
from broadcaster.ledger import STATES
from broadcaster.ledger.schema import suppressions

if TYPE_CHECKING:
    from broadcaster.serve.state import Serve

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


def routes(serve: Serve) -> list[Route]:
    async def healthz(request: Request) -> Response:
        status, body = await serve.db(health, serve)
        return Response(
            json.dumps(body) + "\n",
            status_code=status,
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def metrics(request: Request) -> Response:
        text = await serve.db(metrics_text, serve)
        return Response(text, media_type=PROMETHEUS, headers={"Cache-Control": "no-store"})

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def health(serve: Serve) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 200 all well, 503 with ``problem`` saying what is not."""
    try:
        last = passes.last_pass(serve.ledger)
    except sa.exc.SQLAlchemyError as exc:
        return 503, {"status": "down", "ledger": "error", "problem": type(exc).__name__}
    body: dict[str, Any] = {"status": "ok", "ledger": "ok", "last_pass": None}
    limit = serve.settings.health_max_age_hours * 3600
    if last is None:
        return 503, {**body, "status": "stale", "problem": "no pass has run on this ledger yet"}
    age = (datetime.now(UTC) - last.at).total_seconds()
    body["last_pass"] = {**last.as_json(), "age_seconds": round(age)}
    if age > limit:
        problem = f"the last pass ended {round(age / 3600, 1)} h ago: is the worker running?"
        return 503, {**body, "status": "stale", "problem": problem}
    if last.result == "error":
        return 503, {**body, "status": "failing", "problem": "the last pass crashed"}
    return 200, body


def metrics_text(serve: Serve) -> str:
    """Every metric, each with its HELP and TYPE lines."""
    lines: list[str] = []
    counts = serve.ledger.counts()
    _family(
        lines, "broadcaster_deliveries", "gauge", "Deliveries in the ledger by channel and state."
    )
    for channel in sorted(counts):
        for state in STATES:
            value = counts[channel].get(state, 0)
            lines.append(
                f'broadcaster_deliveries{{channel="{_label(channel)}",state="{state}"}} {value}'
            )
    _single(
        lines, "broadcaster_retry_queue", "Deliveries waiting for a retry.", _total(counts, "retry")
    )
    _single(
        lines,
        "broadcaster_unknown_deliveries",
        "Deliveries in doubt (broadcast resolve).",
        _total(counts, "unknown"),
    )
    _single(
        lines,
        "broadcaster_failed_deliveries",
        "Deliveries that failed for good.",
        _total(counts, "failed"),
    )
    _passes(lines, serve)
    _subscribers(lines, serve)
    _single(
        lines,
        "broadcaster_scrape_timestamp_seconds",
        "When this page was made.",
        round(time.time(), 3),
    )
    return "\n".join(lines) + "\n"


def _passes(lines: list[str], serve: Serve) -> None:
    durations = passes.read_durations(serve.ledger)
    name = "broadcaster_pass_duration_seconds"
    _family(lines, name, "histogram", "How long passes took (every process on this ledger).")
    for bound, count in zip(passes.BUCKETS, durations.buckets, strict=True):
        lines.append(f'{name}_bucket{{le="{bound}"}} {count}')
    lines.append(f'{name}_bucket{{le="+Inf"}} {durations.count}')
    lines.append(f"{name}_sum {round(durations.total, 6)}")
    lines.append(f"{name}_count {durations.count}")
    last = passes.last_pass(serve.ledger)
    if last is not None:
        _single(
            lines,
            "broadcaster_last_pass_timestamp_seconds",
            "When the last pass ended.",
            round(last.at.timestamp(), 3),
        )
        _single(
            lines,
            "broadcaster_last_pass_success",
            "1 if the last pass sent all that was due.",
            int(last.result == "ok"),
        )


def _subscribers(lines: list[str], serve: Serve) -> None:
    counts = serve.book.counts()
    _family(lines, "broadcaster_subscribers", "gauge", "Subscribers in the database by status.")
    for status in ("pending", "confirmed"):
        lines.append(f'broadcaster_subscribers{{status="{status}"}} {counts.get(status, 0)}')
    with serve.ledger.engine.connect() as conn:
        suppressed = conn.execute(sa.select(sa.func.count()).select_from(suppressions)).scalar()
    _single(
        lines,
        "broadcaster_suppressed_addresses",
        "Addresses that never get email again.",
        suppressed or 0,
    )


def _family(lines: list[str], name: str, kind: str, help_text: str) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _single(lines: list[str], name: str, help_text: str, value: float) -> None:
    _family(lines, name, "gauge", help_text)
    lines.append(f"{name} {value}")


def _total(counts: dict[str, dict[str, int]], state: str) -> int:
    return sum(states.get(state, 0) for states in counts.values())


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
