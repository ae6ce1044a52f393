"""The one interface every channel implements, and the small types it speaks.

A channel is deliberately ignorant of the ledger, the schedule and the other channels. It
declares what it accepts and its limits as data, turns a rendered message into a payload
with a pure ``build``, and ``send``s it, returning a receipt or raising one of
:mod:`broadcaster.errors`' DeliveryError family. The dispatcher does everything else.
"""

from __future__ import annotations

import html
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol

from broadcaster.errors import DeliveryError

#: A rendered message: part name ("text", "html", "subject") -> the final text.
Message = dict[str, str]
Receipt = dict[str, Any]
#: "x-weighted": X's count (twitter-text v3): NFC, most scripts 1 per code point, others
#: (CJK...) 2, an emoji sequence 2, a URL 23 -- see :mod:`broadcaster.counting.x`
Unit = Literal["chars", "graphemes", "utf16", "bytes", "x-weighted"]
_TAG = re.compile(r"<[^>]*>")
#: for ``repeat_unknown_within``: the platform makes a repeat harmless however late it comes
ALWAYS = timedelta(days=36500)


class Store(Protocol):
    """Small persistent values a channel may keep (a login session), backed by the ledger DB."""

    def get_value(self, key: str) -> str | None: ...

    def set_value(self, key: str, value: str) -> None: ...


@dataclass(frozen=True)
class Limits:
    """How long a message may be, counted the way the platform counts."""

    max_length: int | None = None
    unit: Unit = "chars"
    #: every URL with a scheme counts as this many units, ``@user@domain`` as ``@user``
    #: (Mastodon: :mod:`broadcaster.counting.mastodon`; X counts its URLs 23 by its own rule)
    url_length: int | None = None
    part: str = "text"  # the rendered part the limit applies to
    #: a second ceiling in UTF-8 bytes, checked as well (Bluesky: 300 graphemes *and* 3000 bytes)
    max_bytes: int | None = None
    #: "html": the limit counts only the text left after tags and entities (Telegram's HTML mode)
    markup: Literal["plain", "html"] = "plain"

    def visible(self, text: str) -> str:
        """The text the platform counts: without tags and with entities decoded, for HTML."""
        if self.markup == "html":
            return html.unescape(_TAG.sub("", text))
        return text

    def fits(self, text: str) -> bool:
        """Within every ceiling this declares."""
        if self.unit == "x-weighted":
            from broadcaster.counting import x  # twitter-text: slow to import, X's rules only

            if not x.parse(self.visible(text)).valid:
                return False  # over the limit, empty, or with a character X refuses
        if self.max_length is not None and self.measure(text) > self.max_length:
            return False
        return self.max_bytes is None or len(self.visible(text).encode()) <= self.max_bytes

    def measure(self, text: str) -> int:
        """The length in ``unit``, as the platform counts it (shown by plan and validate)."""
        text = self.visible(text)
        if self.unit == "x-weighted":
            from broadcaster.counting import x

            return x.weighted_length(text)  # URLs count 23 there
        if self.url_length is not None:
            from broadcaster.counting import mastodon

            text = mastodon.countable(text, self.url_length)
        if self.unit == "graphemes":
            import regex  # grapheme clusters (``\X``); imported by the first message measured

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
    title: str | None = None  # an article's title and summary, for link cards (Bluesky)
    summary: str | None = None
    #: set when this delivery edits an earlier post: that post's receipt (see supports_edit)
    original: Receipt | None = None
    #: the notice as data (``Notice.facts``: its ``kind``, and for a notice about opening days
    #: start, end, resume, outlets, reason and hours; see ``notices.about_days``), for
    #: channels that show it rather than text (notice cards, webhooks)
    facts: Mapping[str, Any] | None = None
    #: an earlier attempt's outcome is unknown (its process died): it may already be posted
    uncertain: bool = False


def told_languages(outgoing: Outgoing) -> list[str]:
    """The languages of a message told in another language than the site's default (one, or
    several for a combined post), from its notice's facts; empty for the default language."""
    language = (outgoing.facts or {}).get("language")
    return str(language).split("+") if language else []


class Channel(ABC):
    """Base of all channels: subclasses set the class attributes and write build/send."""

    name: ClassVar[str]
    #: the occasions this channel takes, whatever the kind of notice: e.g. {"announce",
    #: "remind", "publish"}; corrections, cancellations and the reopen message go wherever
    #: "announce" goes (as the config's ``lifecycle:`` routes them)
    accepts: ClassVar[frozenset[str]]
    #: template parts to render for it ("text", "html", "subject")
    parts: ClassVar[tuple[str, ...]] = ("text",)
    #: a class default; a channel whose server announces its limits sets them in prepare()
    limits: Limits = Limits()
    #: how many targets are claimed at once (a killed process's untried claims are released)
    claim_batch: ClassVar[int] = 100
    #: how long after an attempt whose outcome is unknown the platform itself makes repeating
    #: it harmless (Mastodon's Idempotency-Key: an hour); None: never, an operator decides
    repeat_unknown_within: ClassVar[timedelta | None] = None
    #: True if build() turns an Outgoing with ``original`` into an edit of that post
    supports_edit: ClassVar[bool] = False
    #: attempts in flight at once, set from the config section: above 1 for channels whose
    #: many targets are each their own server (webhooks, Apprise: :meth:`deliver` fans out)
    #: and for email (its transport's connections; it delivers on its own)
    concurrency: int = 1
    #: of those, at most this many to one server (see :meth:`server_of`)
    per_host: int = 4
    #: the languages of each message it gets per notice (its section's ``told_in``, set when
    #: it is built): ``(("en",),)`` one in English; ``(("en",), ("zh",))`` one per language;
    #: ``(("en", "zh"),)`` one in both. Empty: the site's default language only.
    told_in: tuple[tuple[str, ...], ...] = ()
    #: True: each target reads one of those languages (an email subscriber), so a target
    #: that has a notice's message in one is never sent it in another
    one_language_each: ClassVar[bool] = False

    def takes(self, occasion: str) -> bool:
        return occasion in self.accepts

    def targets(self) -> Iterable[Target]:
        """Where a message goes; most channels have exactly one target."""
        return [Target(self.name)]

    def targets_for(self, facts: Mapping[str, Any] | None) -> Iterable[Target]:
        """Where a notice (known by its ``facts``) goes: a channel whose targets choose what
        they receive (email preferences) narrows :meth:`targets` here."""
        return self.targets()

    def targets_version(self) -> str | None:
        """Names the current list of targets (a file's size and time) when reading it is
        costly: a message already sent to the whole list is then not walked through again
        until the list changes. None: walk it every time (one target costs nothing)."""
        return None

    @abstractmethod
    def build(self, outgoing: Outgoing) -> Any:
        """The request payload; pure, so tests and ``preview`` can look at it."""

    @abstractmethod
    async def send(self, payload: Any) -> Receipt:
        """Deliver one payload: return the platform's receipt or raise a DeliveryError."""

    async def deliver(
        self, batch: Iterable[Outgoing]
    ) -> AsyncIterator[tuple[int, Receipt | DeliveryError]]:
        """Send a batch, yielding each delivery's outcome as it is known.

        Take each item from ``batch`` only when its attempt starts: taking it is what marks
        the delivery ``sending`` in the ledger (the rest stay merely claimed, and are
        released, not lost, if the process dies). With ``concurrency`` above 1 up to that many
        attempts run at once, ``per_host`` at most to one :meth:`server_of`
        (:mod:`broadcaster.channels.fanout`)."""
        if self.concurrency > 1:
            from broadcaster.channels.fanout import fan_out

            window = fan_out(
                batch,
                self.attempt,
                limit=self.concurrency,
                per_host=self.per_host,
                host=self.server_of,
            )
            async for outcome in window:
                yield outcome
            return
        for outgoing in batch:
            yield outgoing.delivery_id, await self.attempt(outgoing)

    async def attempt(self, outgoing: Outgoing) -> Receipt | DeliveryError:
        """Build and send one delivery: its receipt, or the DeliveryError that ended it."""
        try:
            return await self.send(self.build(outgoing))
        except DeliveryError as exc:
            return exc

    def server_of(self, outgoing: Outgoing) -> str:
        """The server a delivery goes to, for ``per_host``; by default its target."""
        return outgoing.target.key

    async def prepare(self) -> None:  # noqa: B027 - optional hook
        """Called once per pass before anything is rendered for this channel: a channel whose
        limits come from its server (Mastodon's instance document) reads them here. Must not
        raise: on failure keep the previous or default limits."""

    async def check(self) -> str:
        """Verify credentials without posting; returns a one-line description or raises a
        DeliveryError. A channel without credentials has nothing to verify."""
        return f"{self.name}: no credentials to check"

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most channels hold nothing
        """Release connections; called once at the end of a pass."""


class Publisher(Channel):
    """A channel that shows *state* rather than posting messages: the website banner, a
    business listing's special opening hours. Every pass hands it the full current set of
    entries (one per notice whose ``banner`` window is open, each with its rendered text and
    the notice's ``facts``); it makes its target match that set.

    Making the target show a state is a delivery like any other (:meth:`Sender.publish
    <broadcaster.send.Sender.publish>` claims, publishes and records it), so a write that fails
    is ``retry`` or ``failed`` in the ledger, shown by ``status``, even when the state itself did
    not change. The ledger also records one delivery per notice, so ``history`` shows when
    each first appeared."""

    accepts = frozenset({"banner"})
    #: publishing a state again is harmless (the target is *set*, not appended to), so a
    #: write whose outcome is unknown is simply made again
    repeat_unknown_within = ALWAYS
    #: True: publish on every pass even when the state is unchanged and was shown, which
    #: proves the output is still there (cheap for local files); False: publish only when
    #: the state changed or the last attempt did not succeed (a remote API's quota)
    republish_each_pass: ClassVar[bool] = False

    def build(self, outgoing: Outgoing) -> Any:
        raise NotImplementedError(f"{self.name} publishes its whole state; see publish()")

    async def send(self, payload: Any) -> Receipt:
        raise NotImplementedError(f"{self.name} publishes its whole state; see publish()")

    @abstractmethod
    async def publish(self, entries: Sequence[dict[str, Any]], now: datetime) -> Receipt:
        """Make the target show exactly ``entries``; raise a DeliveryError if it could not."""

    async def check_plan(self, entries: Sequence[dict[str, Any]], now: datetime) -> str | None:
        """For ``broadcast plan``: ask the target whether it would accept ``entries`` without
        changing anything (Google's ``validateOnly``); a note for the plan, None if this
        publisher cannot tell, or a DeliveryError saying why a run would fail."""
        return None


@dataclass(frozen=True)
class Skipped:
    """A configured channel that cannot run yet (a missing secret): reported, not failed."""

    name: str
    reason: str


def required_secrets(channel: str, secrets: Any, *fields: str) -> dict[str, str] | Skipped:
    """The values of ``secrets.<field>`` for each field, or a Skipped naming every
    ``BROADCAST_<FIELD>`` variable that is unset or empty."""
    values = {
        f: getattr(secrets, f).get_secret_value() if getattr(secrets, f) else "" for f in fields
    }
    missing = [f"BROADCAST_{f.upper()}" for f, value in values.items() if not value]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        return Skipped(channel, f"{', '.join(missing)} {verb} not set")
    return values
