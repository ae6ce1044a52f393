"""The seam between the email channel and where messages go (SMTP server or Maildir).

A transport takes a batch of :class:`~broadcaster.channels.email.message.Envelope` and
yields each one's outcome as it is known -- a receipt, or a RetryableError / PermanentError --
in any order. Tests and the benchmark swap transports; the channel never changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Protocol

from broadcaster.channels.base import Receipt
from broadcaster.channels.email.message import Envelope
from broadcaster.errors import DeliveryError

Outcome = Receipt | DeliveryError


class Transport(Protocol):
    def send_many(self, envelopes: Iterable[Envelope]) -> AsyncIterator[tuple[Envelope, Outcome]]:
        """Send every envelope (taken lazily); yield each ``(envelope, outcome)`` as known."""
        ...

    async def check(self) -> str:
        """Connect (and log in) without sending; a one-line description, or a DeliveryError."""
        ...

    async def aclose(self) -> None:
        """Close connections; the transport reconnects if used again."""
        ...
