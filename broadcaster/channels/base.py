"""The one interface every channel implements, and the small types it speaks.

A channel is deliberately ignorant of the ledger, the schedule and the other channels. It
declares what it accepts and its limits as data, turns a rendered message into a payload
with a pure ``build``, and ``send``s it, returning a receipt or raising one of
:mod:`broadcaster.errors`' DeliveryError family. The dispatcher does everything else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import regex

from broadcaster.errors import DeliveryError, PermanentError
from broadcaster.render import Message

Receipt = dict[str, Any]
Unit = Literal["chars", "graphemes", "utf16", "bytes"]
URL_PATTERN = regex.compile(r"https?://[^\s<>\"]+")


class Store(Protocol):
    """Small persistent values a channel may keep (a login session), backed by the ledger DB."""

    def get_value(self, key: str) -> str | None: ...

    def set_value(self, key: str, value: str) -> None: ...


@dataclass(frozen=True)
class Limits:
    """How long a message may be, counted the way the platform counts."""

    max_length: int | None = None
    unit: Unit = "chars"
    url_length: int | None = None  # every URL counts as this many units (Mastodon, X: 23)
    part: str = "text"  # the rendered part the limit applies to

    def measure(self, text: str) -> int:
        if self.url_length is not None:
            text = URL_PATTERN.sub("x" * self.url_length, text)
        if self.unit == "graphemes":
            return len(regex.findall(r"\X", text))
        if self.unit == "utf16":
            return len(text.encode("utf-16-le")) // 2
        if self.unit == "bytes":
            return len(text.encode("utf-8"))
        return len(text)


@dataclass(frozen=True)
class Target:
    """One destination within a channel; ``key`` is its identity in the ledger (no secrets)."""

    key: str
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outgoing:
    """Everything a channel may use to build one delivery's payload."""

    delivery_id: int
    key: str  # "notice/occasion/channel/target/seq": stable, for idempotency keys
    notice_id: str
    kind: str
    occasion: str
    message: Message
    target: Target
    link: str | None = None
    image: str | None = None


class Channel(ABC):
    """Base of all channels: subclasses set the class attributes and write build/send."""

    name: ClassVar[str]
    #: which (kind:occasion) pairs this channel takes, e.g. {"closure:announce", "article:publish"}
    accepts: ClassVar[frozenset[str]]
    #: template parts to render for it ("text", "html", "subject")
    parts: ClassVar[tuple[str, ...]] = ("text",)
    limits: ClassVar[Limits] = Limits()
    #: how many targets are claimed at once; a killed process leaves at most this many unknown
    claim_batch: ClassVar[int] = 100

    def takes(self, kind: str, occasion: str) -> bool:
        return f"{kind}:{occasion}" in self.accepts

    def targets(self) -> Iterable[Target]:
        """Where a message goes; most channels have exactly one target."""
        return [Target(self.name)]

    @abstractmethod
    def build(self, outgoing: Outgoing) -> Any:
        """The request payload; pure, so tests and ``preview`` can look at it."""

    @abstractmethod
    async def send(self, payload: Any) -> Receipt:
        """Deliver one payload: return the platform's receipt or raise a DeliveryError."""

    async def deliver(
        self, batch: Sequence[Outgoing]
    ) -> AsyncIterator[tuple[int, Receipt | DeliveryError]]:
        """Send a batch, yielding each delivery's outcome; fan-out channels override this."""
        for outgoing in batch:
            try:
                payload = self.build(outgoing)
                yield outgoing.delivery_id, await self.send(payload)
            except DeliveryError as exc:
                yield outgoing.delivery_id, exc

    async def check(self) -> str:
        """Verify credentials without posting; returns a one-line description."""
        raise PermanentError(f"{self.name}: no credential check available")

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most channels hold nothing
        """Release connections; called once at the end of a pass."""


@dataclass(frozen=True)
class Skipped:
    """A configured channel that cannot run yet (a missing secret): reported, not failed."""

    name: str
    reason: str
