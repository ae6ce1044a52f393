"""Claim, send, record: the only place where messages leave and the ledger learns of it.

For one rendered message on one channel: walk the channel's targets in batches, claim each
batch in the ledger, hand the claimed ones to the channel, retry what is retryable within
the pass (bounded by the RetryPolicy), and write outcomes back in small batches as they
arrive. The channel takes each claimed delivery only as its attempt starts, and taking it
marks it ``sending`` (START_AHEAD at a time, in the same transaction as the outcomes so far),
so a killed process leaves as ``unknown`` only the few messages it had started; its other
claims are released to the next pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from broadcaster.channels.base import Channel, Outgoing, Receipt, Target
from broadcaster.errors import AlreadyDelivered, DeliveryError, NoReply, RetryableError
from broadcaster.ledger import Claim, Group, Ledger
from broadcaster.notices import Notice
from broadcaster.render import Message
from broadcaster.report import Row, summarise
from broadcaster.retry import RetryPolicy

log = logging.getLogger(__name__)

#: Deliveries marked ``sending`` together, just before the first of them is taken: at most
#: this many (plus those in flight) are ``unknown`` after a kill; fewer means more transactions.
START_AHEAD = 8


@dataclass(frozen=True)
class Parcel:
    """One rendered message for one channel, ready to be claimed and sent to every target."""

    notice: Notice
    group: Group
    message: Message
    render_id: int | None
    edit_of: str | None = None  # the occasion whose post is edited instead of posting anew


@dataclass
class Sender:
    ledger: Ledger
    retry: RetryPolicy
    now: datetime
    stop: asyncio.Event

    async def send(self, channel: Channel, parcel: Parcel, row: Row) -> Row:
        """Send ``parcel`` to every target not yet served; a list already worked through to
        the end, unchanged since and with nothing left to retry, is not read again."""
        version = channel.targets_version()
        if version is not None and self.ledger.completed(parcel.group) == version:
            return summarise(row, {}, [], self.ledger.states(parcel.group))
        tally: dict[str, int] = {}
        errors: list[str] = []
        targets = iter(channel.targets())
        while not self.stop.is_set() and (chunk := list(islice(targets, channel.claim_batch))):
            by_key = {t.key: t for t in chunk}
            claims = self.ledger.claim(
                parcel.group,
                list(by_key),
                parcel.render_id,
                self.now,
                unknown_since=_unknown_since(channel),
            )
            batch = [self._outgoing(parcel, by_key[key], claim) for key, claim in claims.items()]
            attempts = {claim.id: claim.attempts for claim in claims.values()}
            await self._deliver(channel, batch, attempts, tally, errors)
        states = self.ledger.states(parcel.group)
        if version is not None and not self.stop.is_set() and not _pending(states):
            self.ledger.mark_completed(parcel.group, version)
        row.attempted = bool(tally)  # only this pass's outcomes count toward a storm
        return summarise(row, tally, errors, states)

    def _outgoing(self, parcel: Parcel, target: Target, claim: Claim) -> Outgoing:
        group, notice = parcel.group, parcel.notice
        original = None
        if parcel.edit_of:
            original = self.ledger.receipt_of(notice.id, parcel.edit_of, group.channel, target.key)
        return outgoing_for(
            notice,
            group,
            parcel.message,
            target,
            delivery_id=claim.id,
            original=original,
            uncertain=claim.uncertain,
        )

    async def _deliver(
        self,
        channel: Channel,
        batch: Sequence[Outgoing],
        attempts: dict[int, int],
        tally: dict[str, int],
        errors: list[str],
    ) -> None:
        """Deliver with in-pass retries; outcomes reach the ledger in small batches."""
        pending, attempt = list(batch), 1
        while pending:
            by_id = {o.delivery_id: o for o in pending}
            again: list[Outgoing] = []
            waits: list[float] = []
            recorder = _Recorder(self.ledger, self.now, tally, errors)
            async for delivery_id, outcome in channel.deliver(recorder.starting(pending)):
                if by_id[delivery_id].uncertain and isinstance(outcome, dict):
                    outcome = _settled_unknown(channel, delivery_id, outcome)
                if isinstance(outcome, NoReply) and channel.repeat_unknown_within is None:
                    recorder.unknown(delivery_id, outcome.message)  # a repeat might post twice
                elif isinstance(outcome, RetryableError):
                    wait = self.retry.wait_in_pass(attempt, outcome.retry_after)
                    if wait is not None:
                        again.append(by_id[delivery_id])
                        waits.append(wait)
                        continue
                    if isinstance(outcome, NoReply):  # repeatable, but only within its window:
                        recorder.unknown(delivery_id, outcome.message)  # the next pass decides
                        continue
                    retry_at = self.retry.next_attempt(
                        self.now, attempts[delivery_id], outcome.retry_after
                    )
                    recorder.failed(delivery_id, outcome.message, retry_at)
                else:
                    recorder.record(delivery_id, outcome)
            recorder.flush()
            pending, attempt = again, attempt + 1
            if pending:
                await asyncio.sleep(max(waits))


def _pending(states: dict[str, int]) -> bool:
    """Anything in the group that a later walk of the list could still send."""
    return any(states.get(state) for state in ("claimed", "sending", "retry"))


def _unknown_since(channel: Channel) -> datetime | None:
    """Attempts after this moment (wall clock: the platform's own clock decides) that ended
    ``unknown`` may be repeated on ``channel``; None when no repeat is safe."""
    window = channel.repeat_unknown_within
    return None if window is None else datetime.now(UTC) - window


def _settled_unknown(channel: Channel, delivery_id: int, receipt: Receipt) -> Receipt:
    log.info(
        "%s: delivery %d, left unknown by an earlier attempt, was repeated safely",
        channel.name,
        delivery_id,
    )
    return {**receipt, "settled_unknown": f"repeated safely on {channel.name}"}


class _Recorder:
    """Buffers outcomes and writes them every FLUSH_EVERY results, or with the next
    deliveries to start: few transactions, and a killed process leaves only the messages it
    had started as ``unknown``."""

    FLUSH_EVERY = 64

    def __init__(
        self, ledger: Ledger, now: datetime, tally: dict[str, int], errors: list[str]
    ) -> None:
        self.ledger, self.now, self.tally, self.errors = ledger, now, tally, errors
        self.sent: list[tuple[int, dict[str, Any]]] = []
        self.failures: list[tuple[int, str, datetime | None]] = []
        self.uncertain: list[tuple[int, str]] = []

    def record(self, delivery_id: int, outcome: Receipt | DeliveryError) -> None:
        if isinstance(outcome, AlreadyDelivered):
            self.sent.append((delivery_id, {"already_delivered": outcome.message}))
        elif isinstance(outcome, DeliveryError):
            self.failed(delivery_id, outcome.message, None)
        else:
            self.sent.append((delivery_id, outcome))
        self._maybe_flush()

    def failed(self, delivery_id: int, message: str, retry_at: datetime | None) -> None:
        self.failures.append((delivery_id, message, retry_at))
        status = "retry" if retry_at else "failed"
        self.tally[status] = self.tally.get(status, 0) + 1
        self.errors.append(message)
        self._maybe_flush()

    def unknown(self, delivery_id: int, message: str) -> None:
        """It went out and no answer came back: like a crash, neither sent nor failed."""
        self.uncertain.append((delivery_id, message))
        self.tally["unknown"] = self.tally.get("unknown", 0) + 1
        self.errors.append(message)
        self._maybe_flush()

    def starting(self, batch: Sequence[Outgoing]) -> Iterator[Outgoing]:
        """``batch`` as the channel takes it: each START_AHEAD-th item marks itself and the
        next ones ``sending`` before it is handed over."""
        for position, outgoing in enumerate(batch):
            if position % START_AHEAD == 0:
                ahead = batch[position : position + START_AHEAD]
                self.flush(starting=[o.delivery_id for o in ahead])
            yield outgoing

    def _maybe_flush(self) -> None:
        if len(self.sent) + len(self.failures) + len(self.uncertain) >= self.FLUSH_EVERY:
            self.flush()

    def flush(self, starting: Sequence[int] = ()) -> None:
        self.ledger.record(
            self.now,
            sent=self.sent,
            failed=self.failures,
            unknown=self.uncertain,
            starting=starting,
        )
        self.tally["sent"] = self.tally.get("sent", 0) + len(self.sent)
        self.sent, self.failures, self.uncertain = [], [], []


def outgoing_for(
    notice: Notice,
    group: Group,
    message: Message,
    target: Target,
    *,
    delivery_id: int = 0,
    original: Receipt | None = None,
    uncertain: bool = False,
) -> Outgoing:
    """The delivery a channel is handed: the message, and what the notice says of itself."""
    fields = notice.post_fields()
    return Outgoing(
        delivery_id=delivery_id,
        key=f"{group.notice_id}/{group.occasion}/{group.channel}/{target.key}/{group.seq}",
        notice_id=notice.id,
        kind=notice.kind,
        occasion=group.occasion.partition("@")[0],
        message=message,
        target=target,
        link=fields.link,
        image=fields.image,
        title=fields.title,
        summary=fields.summary,
        original=original,
        facts=notice.facts(),
        uncertain=uncertain,
    )
