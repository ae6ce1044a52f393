"""The last pass and how long passes take, kept in the ledger so another process can tell.

A worker that stopped is the complaint users of such tools make most: nothing fails, nothing
is sent, nobody notices. So every pass (``run``, ``send``, the worker's daily pass and feed
poll) records when it ended, how long it took and how it went, and ``broadcast serve``'s
``/healthz`` answers 503 when the last one is too old or crashed; ``/metrics`` exposes the
durations as a Prometheus histogram.

The histogram lives in one key-value row updated read-modify-write: two workers finishing a
pass in the same instant may lose one observation. It is a gauge of health, not an audit;
the deliveries themselves are in the ledger.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

LAST_PASS = "pass:last"
DURATIONS = "pass:durations"
#: upper bounds (seconds) of the pass-duration histogram's buckets
BUCKETS: tuple[float, ...] = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


class Values(Protocol):
    def get_value(self, key: str) -> str | None: ...

    def set_value(self, key: str, value: str) -> None: ...


@dataclass(frozen=True)
class LastPass:
    at: datetime  # when it ended (wall clock)
    seconds: float
    result: str  # "ok", "failed" (a delivery failed or waits), "error" (the pass crashed)
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(timespec="seconds"),
            "seconds": round(self.seconds, 3),
            "result": self.result,
            "detail": self.detail,
        }


@dataclass
class Durations:
    """A cumulative histogram of pass durations, as Prometheus expects it."""

    count: int = 0
    total: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        for index, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.buckets[index] += 1


def record(store: Values, started: datetime, result: str, detail: str = "") -> None:
    """Note a pass that began at ``started`` (wall clock) and has just ended."""
    ended = datetime.now(UTC)
    seconds = max(0.0, (ended - started).total_seconds())
    store.set_value(LAST_PASS, json.dumps(LastPass(ended, seconds, result, detail[:200]).as_json()))
    durations = read_durations(store)
    durations.observe(seconds)
    store.set_value(
        DURATIONS,
        json.dumps(
            {"count": durations.count, "sum": durations.total, "buckets": durations.buckets}
        ),
    )


def last_pass(store: Values) -> LastPass | None:
    raw = store.get_value(LAST_PASS)
    if not raw:
        return None
    data = json.loads(raw)
    return LastPass(
        datetime.fromisoformat(data["at"]), data["seconds"], data["result"], data["detail"]
    )


def read_durations(store: Values) -> Durations:
    raw = store.get_value(DURATIONS)
    if not raw:
        return Durations()
    data = json.loads(raw)
    buckets = list(data["buckets"])
    if len(buckets) != len(BUCKETS):  # the buckets changed between versions: start again
        return Durations()
    return Durations(data["count"], data["sum"], buckets)
