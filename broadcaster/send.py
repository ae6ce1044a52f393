"""Claim, send, record: the only place where messages leave and the ledger learns of it.

For one rendered message on one channel: walk the channel's targets, claim them in the ledger
a batch at a time, hand the claimed ones to the channel, retry what is retryable within the
pass (bounded by the RetryPolicy), and write outcomes back in small batches as they arrive.
The channel takes each claimed delivery only as its attempt starts, and taking it marks it
``sending``, so a killed process leaves as ``unknown`` only the few messages it had started;
its other claims are released to the next pass. The whole list is one continuous stream,
claimed and recorded on a thread of its own while the channel sends:
:mod:`broadcaster.send_stream`.

A publisher (the banner, Google special hours) shows a *state*, and making it show one is a
delivery too (:meth:`Sender.publish`): notice ``<channel>:state``, occasion ``publish``,
target ``site``, one seq per write of a new state (or of the same state after its output was
lost). Its failure is ``retry`` or ``failed`` like any other, whether or not the state changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, partial
from itertools import islice
from typing import Any

from broadcaster.channels.base import Channel, Outgoing, Publisher, Receipt, Target
from broadcaster.errors import DeliveryError, NoReply, RetryableError
from broadcaster.ledger import Claim, Group, Ledger
from broadcaster.notices import Notice, PostFields
from broadcaster.render import Message
from broadcaster.report import Row, settled, summarise
from broadcaster.retry import RetryPolicy
from broadcaster.send_stream import ClaimStream, Recorder, Writer, start_ahead, unknown_since

log = logging.getLogger(__name__)

#: a publisher's state in the ledger: notice ``<channel>:state``, this occasion, this target
STATE_OCCASION, STATE_TARGET = "publish", "site"
#: + channel name -> {"seq", "digest"}: which state the publisher's latest write carries
SHOWN_KEY = "publish:"


@dataclass(frozen=True)
class Parcel:
    """One rendered message for one channel, ready to be claimed and sent to every target."""

    notice: Notice
    group: Group
    message: Message
    render_id: int | None
    edit_of: str | None = None  # the occasion whose post is edited instead of posting anew
    elsewhere: tuple[tuple[str, str], ...] = ()  # the message in other languages: Job.elsewhere

    @cached_property
    def said(self) -> Said:
        """What the notice says of itself: once per message, not once per target (a list of
        100,000 subscribers would build its facts 100,000 times)."""
        return Said.of(self.notice)


@dataclass(frozen=True)
class Said:
    """What every delivery of a notice carries besides its text: its post fields and facts."""

    fields: PostFields
    facts: dict[str, Any]

    @classmethod
    def of(cls, notice: Notice) -> Said:
        return cls(notice.post_fields(), notice.facts())


@dataclass
class Sender:
    ledger: Ledger
    retry: RetryPolicy
    now: datetime
    stop: asyncio.Event

    def unrendered(
        self,
        channel: Channel,
        group: Group,
        row: Row,
        problem: str,
        targets: Iterable[str],
        *,
        dry_run: bool,
    ) -> Row:
        """A message that could not be rendered (a feed's text can trip a template that the
        config's own notices passed; a post can be only a link too long for the platform):
        recorded for each target with the reason, and the other messages and channels go on.

        A message is ``failed`` (a person fixes it, then sends it again); a publisher's entry
        is left to ``retry``: it shows state, so the first pass after the fix shows it."""
        publisher = isinstance(channel, Publisher)
        again = "" if publisher else f" --channel {channel.name} --force"
        detail = problem.format(notice=group.notice_id, again=again)
        if dry_run:
            return row.mark("failed", detail)
        retry_at = self.retry.next_attempt(self.now, 1, None) if publisher else None
        recorded = 0
        keys = iter(targets)
        while chunk := list(islice(keys, channel.claim_batch)):
            claims = self.ledger.claim(group, chunk, None, self.now)
            self.ledger.mark_failed([(c.id, detail, retry_at) for c in claims.values()], self.now)
            recorded += len(claims)
        if not recorded:  # every target already holds a delivery: show what it holds
            return settled(row, self.ledger.states(group)) or row.mark("failed", detail)
        row.count = recorded
        return row.mark("retry" if publisher else "failed", detail)

    async def send(self, channel: Channel, parcel: Parcel, row: Row) -> Row:
        """Send ``parcel`` to every target not yet served; a list already worked through to
        the end, unchanged since and with nothing left to retry, is not read again."""
        version = channel.targets_version()
        if version is not None and self.ledger.completed(parcel.group) == version:
            return summarise(row, {}, [], self.ledger.states(parcel.group))
        tally: dict[str, int] = {}
        errors: list[str] = []
        with Writer(self.ledger) as writer:
            claims = ClaimStream(
                writer,
                channel,
                parcel.group,
                parcel.render_id,
                parcel.notice,
                self.now,
                self.stop,
                outgoing=partial(self._outgoing, parcel),
                elsewhere=parcel.elsewhere,
            )
            await self._deliver(channel, claims, claims.attempts, tally, errors, writer)
            await writer.drain()
        states = self.ledger.states(parcel.group)
        if version is not None and not self.stop.is_set() and not _pending(states):
            self.ledger.mark_completed(parcel.group, version)
        row.attempted = bool(tally)  # only this pass's outcomes count toward a storm
        return summarise(row, tally, errors, states)

    async def publish(
        self,
        channel: Publisher,
        entries: Sequence[dict[str, Any]],
        rows: Sequence[Row],
        *,
        force: bool = False,
    ) -> list[Row]:
        """Make ``channel`` show ``entries`` (``rows``: one per entry, in order), as a delivery.

        The write is claimed, published and recorded like any message. A failure is ``retry``
        (due again at the next pass, or when the server asked: the target may be fixed any
        minute) or ``failed``, and every row shows it, even rows for notices shown long ago.
        Once the state is shown, each notice's first appearance is recorded for ``history``.
        Returns the rows, or one row for the state itself when no notice is shown and the
        pass did something worth a line."""
        state = Row("*", "banner", channel.name, "due")
        seq = await self._show(channel, entries, state, force)
        if state.status not in ("sent", "already sent"):
            for row in rows:
                row.mark(state.status, state.detail)
            return list(rows) or [state]
        self._appeared(channel, rows, seq)
        return list(rows) or ([state] if state.status == "sent" else [])

    async def _show(
        self, channel: Publisher, entries: Sequence[dict[str, Any]], state: Row, force: bool
    ) -> int:
        """Publish the state unless the latest write already shows it; returns that write's seq.

        A state already shown is published again only by a publisher that republishes each
        pass; if that fails, its output was lost, and the same state is a new delivery."""
        digest = state_digest(entries)
        seq = self.ledger.max_seq(f"{channel.name}:state", STATE_OCCASION, channel.name)
        states = self.ledger.states(state_group(channel.name, seq))
        same = self._shown_digest(channel, seq) == digest
        if not states:
            return await self._write(channel, entries, digest, seq, state)
        if force or (states.get("sent") and not same):
            return await self._write(channel, entries, digest, seq + 1, state)
        if states.get("sent"):
            if channel.republish_each_pass:
                try:
                    await channel.publish(entries, self.now)
                except DeliveryError:
                    return await self._write(channel, entries, digest, seq + 1, state)
            state.mark("already sent", "showing")
            return seq
        if states.get("failed") and same:
            settled(state, states)  # permanent: a person fixes it, then resolve --resend
            return seq
        if states.get("failed"):  # a new state replaces the one that was refused: try it
            self._reopen(channel, seq)
        return await self._write(channel, entries, digest, seq, state)

    async def _write(
        self,
        channel: Publisher,
        entries: Sequence[dict[str, Any]],
        digest: str,
        seq: int,
        state: Row,
    ) -> int:
        """Claim the write, publish, record: ``retry`` comes round again at the next pass."""
        group = state_group(channel.name, seq)
        claims = self.ledger.claim(
            group, [STATE_TARGET], None, self.now, unknown_since=unknown_since(channel)
        )
        claim = claims.get(STATE_TARGET)
        if claim is None:  # in progress elsewhere, or a retry the server asked to delay
            settled(state, self.ledger.states(group))
            return seq
        self.ledger.set_value(SHOWN_KEY + channel.name, json.dumps({"seq": seq, "digest": digest}))
        self.ledger.record(self.now, starting=[claim.id])
        state.attempted = True
        try:
            receipt = await channel.publish(entries, self.now)
        except RetryableError as exc:  # NoReply too: publishing a state again is harmless
            wait = timedelta(seconds=exc.retry_after or 0)
            self.ledger.record(self.now, failed=[(claim.id, exc.message, self.now + wait)])
            state.mark("retry", exc.message)
            return seq
        except DeliveryError as exc:
            self.ledger.record(self.now, failed=[(claim.id, exc.message, None)])
            state.mark("failed", exc.message)
            return seq
        self.ledger.record(self.now, sent=[(claim.id, {**receipt, "state": digest})])
        state.mark("sent")
        return seq

    def _appeared(self, channel: Publisher, rows: Sequence[Row], seq: int) -> None:
        """Record the first appearance of each notice in the state shown (write ``seq``)."""
        first: list[tuple[int, Receipt]] = []
        for row in rows:
            group = Group(row.notice_id, row.occasion, channel.name)
            claim = self.ledger.claim(group, [STATE_TARGET], None, self.now).get(STATE_TARGET)
            if claim is None:
                row.mark("already sent", "showing")
                continue
            first.append((claim.id, {"shown_by": f"{channel.name}:state #{seq}"}))
            row.mark("sent")
        self.ledger.record(self.now, sent=first)

    def _shown_digest(self, channel: Publisher, seq: int) -> str | None:
        shown = json.loads(self.ledger.get_value(SHOWN_KEY + channel.name) or "{}")
        return str(shown["digest"]) if shown.get("seq") == seq else None

    def _reopen(self, channel: Publisher, seq: int) -> None:
        """A refused write of an older state is superseded by this one: it becomes due."""
        group = state_group(channel.name, seq)
        latest = self.ledger.history(
            limit=1, channel=channel.name, notice_id=group.notice_id, state="failed"
        )
        if latest and latest[0].seq == seq:
            self.ledger.resolve(
                latest[0].id, sent=False, who="broadcaster: the state changed", now=self.now
            )

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
            said=parcel.said,
        )

    async def _deliver(
        self,
        channel: Channel,
        stream: Iterable[Outgoing],
        attempts: dict[int, int],
        tally: dict[str, int],
        errors: list[str],
        writer: Writer,
    ) -> None:
        """Deliver with in-pass retries; outcomes reach the ledger in small batches."""
        pending, attempt = stream, 1
        while True:
            again: list[Outgoing] = []
            waits: list[float] = []
            recorder = Recorder(writer, self.now, tally, errors, start_ahead(channel))
            async for delivery_id, outcome in channel.deliver(recorder.starting(pending)):
                outgoing = recorder.taken.pop(delivery_id)
                if outgoing.uncertain and isinstance(outcome, dict):
                    outcome = _settled_unknown(channel, delivery_id, outcome)
                if isinstance(outcome, NoReply) and channel.repeat_unknown_within is None:
                    recorder.unknown(delivery_id, outcome.message)  # a repeat might post twice
                elif isinstance(outcome, RetryableError):
                    wait = self.retry.wait_in_pass(attempt, outcome.retry_after)
                    if wait is not None:
                        again.append(outgoing)
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
                attempts.pop(delivery_id, None)
            recorder.flush()
            if not again:
                return
            pending, attempt = again, attempt + 1
            await asyncio.sleep(max(waits))


def state_group(channel: str, seq: int = 0) -> Group:
    """The ledger group of a publisher's ``seq``-th write of its state."""
    return Group(f"{channel}:state", STATE_OCCASION, channel, seq)


def state_digest(entries: Sequence[Mapping[str, Any]]) -> str:
    """Names a publisher's state: the same entries, the same digest."""
    encoded = json.dumps(list(entries), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]


def _pending(states: dict[str, int]) -> bool:
    """Anything in the group that a later walk of the list could still send."""
    return any(states.get(state) for state in ("claimed", "sending", "retry"))


def _settled_unknown(channel: Channel, delivery_id: int, receipt: Receipt) -> Receipt:
    log.info(
        "%s: delivery %d, left unknown by an earlier attempt, was repeated safely",
        channel.name,
        delivery_id,
    )
    return {**receipt, "settled_unknown": f"repeated safely on {channel.name}"}


def outgoing_for(
    notice: Notice,
    group: Group,
    message: Message,
    target: Target,
    *,
    delivery_id: int = 0,
    original: Receipt | None = None,
    uncertain: bool = False,
    said: Said | None = None,
) -> Outgoing:
    """The delivery a channel is handed: the message, and what the notice says of itself
    (``said``, when the caller already asked it)."""
    said = said or Said.of(notice)
    fields = said.fields
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
        facts=said.facts,
        uncertain=uncertain,
    )


async def check_publisher_plan(
    channel: Publisher, entries: list[dict[str, Any]], now: datetime, rows: list[Row]
) -> None:
    """``broadcast plan``: the publisher's own verdict on the change a run would make
    (Google's ``validateOnly``), written onto the plan's rows; nothing is claimed."""
    failed = False
    try:
        note = await channel.check_plan(entries, now)
    except DeliveryError as exc:
        note, failed = f"would fail: {exc.message}", True
    if note and not rows:  # only a removal (a cancelled closure) would change the target
        rows.append(Row("*", "banner", channel.name, "due"))
    for row in rows:
        if note and row.status in ("due", "already sent"):
            row.mark("failed" if failed and row.status == "due" else row.status, note)
