"""What the ledger hands out: a delivery's states, its group and claim, and the rows read back.

Plain values, no database: the planner, the sender and ``status`` pass them around without
holding a connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

State = Literal["claimed", "sending", "sent", "retry", "failed", "unknown"]
STATES: tuple[State, ...] = ("claimed", "sending", "sent", "retry", "failed", "unknown")
OWNED: tuple[State, ...] = ("claimed", "sending")  # held by a live process under a lease


@dataclass(frozen=True)
class Group:
    """Deliveries of one rendered message on one channel; they differ only by target."""

    notice_id: str
    occasion: str
    channel: str
    seq: int = 0


@dataclass(frozen=True)
class Version:
    """Which version (notice fingerprint) of a notice a channel last published, and how."""

    fingerprint: str
    occasion: str


@dataclass
class ChannelHealth:
    """What ``broadcast status`` shows for one channel."""

    channel: str
    states: dict[str, int]
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


@dataclass(frozen=True)
class Claim:
    """A delivery this process now owns; ``attempts`` counts this one. ``uncertain``: it was
    ``unknown`` (an earlier attempt may have gone out) and is taken over because the channel
    can repeat it harmlessly."""

    id: int
    attempts: int
    uncertain: bool = False


@dataclass(frozen=True)
class Delivery:
    id: int
    notice_id: str
    occasion: str
    channel: str
    target: str
    seq: int
    state: State
    attempts: int
    claimed_by: str | None
    next_attempt_at: datetime | None
    resolved_by: str | None
    receipt: dict[str, Any] | None
    error: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def group(self) -> Group:
        return Group(self.notice_id, self.occasion, self.channel, self.seq)


def delivery_from_row(row: Any) -> Delivery:
    """A ``deliveries`` row as the value the rest of the code reads."""
    return Delivery(
        id=row.id,
        notice_id=row.notice_id,
        occasion=row.occasion,
        channel=row.channel,
        target=row.target,
        seq=row.seq,
        state=row.state,
        attempts=row.attempts,
        claimed_by=row.claimed_by,
        resolved_by=row.resolved_by,
        next_attempt_at=row.next_attempt_at,
        receipt=json.loads(row.receipt) if row.receipt else None,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
