"""What a pass did (or, for ``plan``, would do): one row per notice, occasion and channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from broadcaster.sources import FeedProblem

Status = Literal[
    "sent",
    "already sent",
    "due",
    "retry",
    "failed",
    "unknown",
    "in progress",
    "stale",
    "upcoming",
    "skipped",
    "superseded",
    "deferred",  # due, but its channel is paused or failing: left for a later pass
]


@dataclass
class Row:
    """One line of a plan or a run summary: a notice on an occasion on a channel."""

    notice_id: str
    occasion: str
    channel: str
    status: Status
    count: int = 1
    detail: str = ""
    length: int | None = None
    limit: int | None = None
    attempted: bool = False  # something was sent (or tried) in this pass, not just looked up

    def mark(self, status: Status, detail: str = "") -> Row:
        self.status, self.detail = status, detail
        return self


@dataclass
class Report:
    now: datetime
    rows: list[Row] = field(default_factory=list)
    feed_problems: list[FeedProblem] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.status in ("failed", "retry", "unknown", "deferred") for r in self.rows)

    def exit_code(self) -> int:
        """0 all went out (or nothing was due), 1 something failed, is in doubt, or waits for
        a later pass."""
        return 1 if self.failed else 0


#: ledger state -> (row status, detail), in order of precedence
_SETTLED: tuple[tuple[str, Status, str], ...] = (
    ("unknown", "unknown", "in doubt (its process died, or no answer came): broadcast resolve"),
    ("sending", "in progress", "being sent by a running process"),
    ("claimed", "in progress", "claimed by a running process"),
    ("failed", "failed", ""),
    ("retry", "retry", ""),
    ("sent", "already sent", ""),
)


def settled(row: Row, states: dict[str, int]) -> Row | None:
    """The row for work the ledger already holds (sent, failed, unknown...), else None."""
    for state, status, detail in _SETTLED:
        if states.get(state):
            row.count = states[state]
            return row.mark(status, detail)
    return None


def summarise(row: Row, tally: dict[str, int], errors: list[str], states: dict[str, int]) -> Row:
    """The row after sending: failures first, so nothing bad hides behind a success count."""
    detail = "; ".join(dict.fromkeys(errors))[:300]
    sent = tally.get("sent", 0)
    failures: tuple[Status, ...] = ("unknown", "failed", "retry")  # as in _SETTLED
    for status in failures:
        if tally.get(status):
            row.count = tally[status]
            return row.mark(status, detail + (f" ({sent} sent)" if sent else ""))
    if sent:
        row.count = sent
        return row.mark("sent")
    return settled(row, states) or row.mark("already sent")
