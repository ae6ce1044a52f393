"""One list of targets as one continuous stream: claimed, started and recorded as it goes.

The channel sees a single iterator (:class:`ClaimStream`): the next batch is claimed while the
current one is being sent, and no connection waits at a batch boundary for the slowest of its
neighbours. The channel takes each claimed delivery only as its attempt starts, and taking it
marks it ``sending`` (START_AHEAD at a time, in the same transaction as the outcomes so far:
:class:`Recorder`), so a killed process leaves as ``unknown`` only the few messages it had
started; its other claims are released to the next pass. The ledger's writes for the stream
-- claims, ``sending`` marks, outcomes -- run in order on a thread of their own
(:class:`Writer`), so the event loop keeps every connection busy while a transaction commits;
a ``sending`` mark is written one group ahead and is known to be committed before any
delivery of its group is handed over. While a pass sends, :func:`leases_kept_fresh` keeps
its claims alive.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from broadcaster.channels.base import Channel, Outgoing, Receipt, Target
from broadcaster.errors import AlreadyDelivered, DeliveryError
from broadcaster.ledger import Claim, Group, Ledger
from broadcaster.notices import Notice

#: Deliveries marked ``sending`` together, one group ahead of the first of them being taken,
#: at least: after a kill, at most twice the group that were never attempted (plus those in
#: flight and the last few outcomes not yet written) are ``unknown``; fewer means more
#: transactions. A channel with many attempts in flight marks a quarter of them at a time
#: (:func:`start_ahead`).
START_AHEAD = 4


def start_ahead(channel: Channel) -> int:
    """How many deliveries are marked ``sending`` together on ``channel``.

    With 64 SMTP connections, groups of 4 made a transaction every few milliseconds, and the
    event loop waited on the writer's thread for the marks (measured: a tenth of its time at
    20,000 messages). A quarter of the attempts in flight keeps what a kill can leave
    ``unknown`` without an attempt at half of what is in flight anyway."""
    return max(START_AHEAD, channel.concurrency // 4)


class Writer:
    """The ledger writes of one stream, in the order given, on one thread of their own.

    Claims, ``sending`` marks and outcomes are submitted without waiting; whoever needs one
    committed (a claim's rows, a mark before its deliveries go out) waits for its future.
    One thread keeps them in order and never in each other's way."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ledger-writer")
        self._submitted: list[Future[Any]] = []

    def submit(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        self._check()
        future = self._thread.submit(work, *args, **kwargs)
        self._submitted.append(future)
        return future

    def _check(self) -> None:
        """Forget writes that are done; a write that failed is raised here (then, not never)."""
        done = [f for f in self._submitted if f.done()]
        self._submitted = [f for f in self._submitted if not f.done()]
        for future in done:
            future.result()

    async def drain(self) -> None:
        """Wait until every write submitted so far is committed (raising one that failed)."""
        while self._submitted:
            await asyncio.wrap_future(self._submitted[-1])
            self._check()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.shutdown(wait=True)  # what was submitted is written, even on the way out
        if exc[0] is None:
            self._check()


@dataclass
class ClaimStream:
    """The channel's targets as one stream of claimed deliveries: the next batch is claimed
    (on the writer's thread) while the current one is being sent; nothing new is claimed
    once the pass is asked to stop."""

    writer: Writer
    channel: Channel
    group: Group
    render_id: int | None
    notice: Notice  # whose facts choose the targets
    now: datetime
    stop: asyncio.Event
    outgoing: Callable[[Target, Claim], Outgoing]  # the delivery a claimed target becomes
    attempts: dict[int, int] = field(default_factory=dict)  # claimed and not yet settled
    #: the message in the channel's other languages (``Job.elsewhere``): a target holding
    #: one of them is not claimed for this one
    elsewhere: tuple[tuple[str, str], ...] = ()

    def __iter__(self) -> Iterator[Outgoing]:
        targets = iter(self.channel.targets_for(self.notice.facts()))
        ahead = self._claim(targets)
        while ahead is not None:
            chunk, claims = ahead.result()
            ahead = None
            by_key = {t.key: t for t in chunk}
            halfway = len(claims) // 2
            for position, (key, claim) in enumerate(claims.items()):
                if position == halfway:  # the next batch, while the rest of this one is sent
                    ahead = self._claim(targets)
                self.attempts[claim.id] = claim.attempts
                yield self.outgoing(by_key[key], claim)
            if not claims:  # all of this batch was served already: on to the next
                ahead = self._claim(targets)

    def _claim(
        self, targets: Iterator[Target]
    ) -> Future[tuple[list[Target], dict[str, Claim]]] | None:
        if self.stop.is_set():
            return None
        chunk = list(islice(targets, self.channel.claim_batch))
        if not chunk:
            return None
        return self.writer.submit(self._claim_now, chunk)

    def _claim_now(self, chunk: list[Target]) -> tuple[list[Target], dict[str, Claim]]:
        keys = [t.key for t in chunk]
        if self.elsewhere:  # one query per batch, only for a channel told in several languages
            held = self.writer.ledger.holding(self.elsewhere, self.group.channel, keys)
            keys = [key for key in keys if key not in held]
        claims = self.writer.ledger.claim(
            self.group,
            keys,
            self.render_id,
            self.now,
            unknown_since=unknown_since(self.channel),
        )
        return chunk, claims


class Recorder:
    """Buffers outcomes and writes them every FLUSH_EVERY results, or with the next
    deliveries to start: few transactions, and a killed process leaves only the messages it
    had started as ``unknown``."""

    FLUSH_EVERY = 64

    def __init__(
        self,
        writer: Writer,
        now: datetime,
        tally: dict[str, int],
        errors: list[str],
        ahead: int = START_AHEAD,
    ) -> None:
        self.writer, self.now, self.tally, self.errors = writer, now, tally, errors
        self.ahead = ahead  # deliveries marked ``sending`` together
        self.sent: list[tuple[int, dict[str, Any]]] = []
        self.failures: list[tuple[int, str, datetime | None]] = []
        self.uncertain: list[tuple[int, str]] = []
        self.taken: dict[int, Outgoing] = {}  # handed to the channel, outcome not yet known

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

    def starting(self, items: Iterable[Outgoing]) -> Iterator[Outgoing]:
        """``items`` as the channel takes them, in groups of ``ahead``: each group is
        marked ``sending`` while the group before it goes out, and handed over only once
        that mark is committed."""
        source = iter(items)
        group = list(islice(source, self.ahead))
        marked = self.flush(starting=[o.delivery_id for o in group])
        while group:
            following = list(islice(source, self.ahead))
            marking = self.flush(starting=[o.delivery_id for o in following])
            if marked is not None:
                marked.result()  # committed long since, unless the writer is behind
            for outgoing in group:
                self.taken[outgoing.delivery_id] = outgoing
                yield outgoing
            group, marked = following, marking

    def _maybe_flush(self) -> None:
        if len(self.sent) + len(self.failures) + len(self.uncertain) >= self.FLUSH_EVERY:
            self.flush()

    def flush(self, starting: Sequence[int] = ()) -> Future[Any] | None:
        """Hand the outcomes so far (and the deliveries about to start) to the writer."""
        if not (self.sent or self.failures or self.uncertain or starting):
            return None
        future = self.writer.submit(
            self.writer.ledger.record,
            self.now,
            sent=self.sent,
            failed=self.failures,
            unknown=self.uncertain,
            starting=list(starting),
        )
        self.tally["sent"] = self.tally.get("sent", 0) + len(self.sent)
        self.sent, self.failures, self.uncertain = [], [], []
        return future


def unknown_since(channel: Channel) -> datetime | None:
    """Attempts after this moment (wall clock: the platform's own clock decides) that ended
    ``unknown`` may be repeated on ``channel``; None when no repeat is safe."""
    window = channel.repeat_unknown_within
    return None if window is None else datetime.now(UTC) - window


@asynccontextmanager
async def leases_kept_fresh(ledger: Ledger, *, dry_run: bool) -> AsyncIterator[None]:
    """While a pass sends, keep this process's leases fresh, so a slow but live pass is never
    mistaken for a dead one (and its deliveries never reaped to ``unknown``)."""
    if dry_run:
        yield
        return

    async def beat() -> None:
        while True:
            await asyncio.sleep(ledger.lease.total_seconds() / 3)
            ledger.extend_leases()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
