"""A circuit breaker per channel: a platform that keeps failing is paused, not hammered.

Within a pass, a channel whose jobs keep ending in ``retry`` (with nothing getting through)
stops after STORM_LIMIT of them: the rest wait for the next pass, so an outage never makes a
pass slow. Across passes, STREAK_LIMIT failing passes in a row pause the channel for a while
that doubles each time (capped); the pause is reported by ``run``, ``plan`` and ``status``,
and the first pass that gets a message through closes the breaker again. Nothing is lost:
paused work is simply not claimed until the pause ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from broadcaster.channels.base import Store

STORM_LIMIT = 3  # jobs ending in retry, with no success, before a pass gives up on a channel
STREAK_LIMIT = 3  # failing passes in a row before the channel is paused
FIRST_PAUSE = timedelta(minutes=5)
LONGEST_PAUSE = timedelta(hours=6)
KEY = "breaker:"


@dataclass
class Breaker:
    store: Store
    channel: str
    streak: int = 0
    paused_until: datetime | None = None

    @classmethod
    def load(cls, store: Store, channel: str) -> Breaker:
        text = store.get_value(KEY + channel)
        if not text:
            return cls(store, channel)
        data = json.loads(text)
        until = data.get("paused_until")
        return cls(store, channel, data["streak"], datetime.fromisoformat(until) if until else None)

    def is_open(self, now: datetime) -> bool:
        """True while the channel is paused."""
        return self.paused_until is not None and now < self.paused_until

    def describe(self) -> str:
        until = self.paused_until.isoformat(timespec="minutes") if self.paused_until else "?"
        return f"paused until {until} after {self.streak} failing passes in a row"

    def record_pass(self, *, delivered: bool, failing: bool, now: datetime) -> None:
        """After a pass: success closes the breaker, a failing pass adds to the streak."""
        if delivered or not failing:
            if self.streak or self.paused_until:
                self.streak, self.paused_until = 0, None
                self._save()
            return
        self.streak += 1
        if self.streak >= STREAK_LIMIT:
            pause = min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** (self.streak - STREAK_LIMIT))
            self.paused_until = now + pause
        self._save()

    def _save(self) -> None:
        until = self.paused_until.isoformat() if self.paused_until else None
        self.store.set_value(
            KEY + self.channel, json.dumps({"streak": self.streak, "paused_until": until})
        )
