"""The operator's view: is every channel healthy, and what needs a person?

Exit status for cron and monitoring (``broadcast status``):

* 0 -- all good: nothing failed, nothing uncertain, no channel paused;
* 1 -- it will heal by itself: deliveries wait for a retry, or a channel is paused;
* 3 -- a person is needed: a delivery failed for good, or is ``unknown`` (it may or may not
  have gone out; settle it with ``broadcast resolve ID --sent`` or ``--resend``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from broadcaster.breaker import Breaker
from broadcaster.ledger import STATES, ChannelHealth, Ledger

OK, HEALING, NEEDS_PERSON = 0, 1, 3


@dataclass
class ChannelStatus:
    health: ChannelHealth
    paused: str | None

    @property
    def code(self) -> int:
        states = self.health.states
        if states.get("failed") or states.get("unknown"):
            return NEEDS_PERSON
        if states.get("retry") or self.paused:
            return HEALING
        return OK

    def as_json(self) -> dict[str, Any]:
        h = self.health
        return {
            "channel": h.channel,
            **{state: h.states.get(state, 0) for state in STATES},
            "next_attempt_at": h.next_attempt_at.isoformat() if h.next_attempt_at else None,
            "last_error": h.last_error,
            "last_error_at": h.last_error_at.isoformat() if h.last_error_at else None,
            "paused": self.paused,
        }


def channel_statuses(ledger: Ledger, now: datetime) -> list[ChannelStatus]:
    result = []
    for channel, health in sorted(ledger.channel_health().items()):
        breaker = Breaker.load(ledger, channel)
        result.append(ChannelStatus(health, breaker.describe() if breaker.is_open(now) else None))
    return result


def exit_code(statuses: list[ChannelStatus]) -> int:
    return max((s.code for s in statuses), default=OK)
