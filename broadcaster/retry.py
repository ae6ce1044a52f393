"""When to try a failed delivery again, declared in one place.

Within a pass: a few quick attempts with exponential backoff and full jitter, honouring the
server's own ``retry_after`` when it is short -- bounded, so a pass never hangs. Across
passes: the delivery is left in ``retry`` with a next-attempt time that doubles with each
attempt, up to a ceiling. ``wait_scale=0`` turns the in-pass waits off for tests.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    attempts_in_pass: int = 3
    base_wait: float = 1.0  # seconds before the second attempt in a pass
    max_wait_in_pass: float = 30.0  # a server asking for longer gets it across passes instead
    next_pass_base: timedelta = timedelta(minutes=1)
    next_pass_max: timedelta = timedelta(hours=6)
    wait_scale: float = 1.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """``BROADCAST_RETRY_WAIT_SCALE=0`` (tests, demos) keeps the policy but skips the sleeps."""
        return cls(wait_scale=float(os.environ.get("BROADCAST_RETRY_WAIT_SCALE", "1")))

    def wait_in_pass(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before in-pass attempt ``attempt + 1``, or None to stop for this pass."""
        if attempt >= self.attempts_in_pass:
            return None
        if retry_after is not None:
            return None if retry_after > self.max_wait_in_pass else retry_after * self.wait_scale
        backoff = min(self.max_wait_in_pass, self.base_wait * 2 ** (attempt - 1))
        return random.uniform(0, backoff) * self.wait_scale

    def next_attempt(self, now: datetime, attempts: int, retry_after: float | None) -> datetime:
        """When the next pass may try again, after ``attempts`` failed passes."""
        backoff: timedelta = min(
            self.next_pass_max, self.next_pass_base * 2 ** max(0, attempts - 1)
        )
        if retry_after is not None:
            backoff = max(backoff, timedelta(seconds=retry_after))
        return now + backoff
