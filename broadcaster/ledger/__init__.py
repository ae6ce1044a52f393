"""The delivery ledger: the source of truth for what went out, where, and when.

A delivery is one message for one target, keyed by (notice, occasion, channel, target, seq)
under a UNIQUE constraint. Its life::

    (none) --claim--> claimed --start--> sending --ok--> sent
                         |                     |----retryable--> retry --claim when due--> claimed
                         |                     |----permanent--> failed
                         |                     '----process died--> unknown
                         '----process died before starting it--> retry (due at once)

Claiming is an INSERT ... ON CONFLICT DO NOTHING (or a guarded UPDATE of a due ``retry`` row),
so two processes racing for one delivery cannot both win: there is no check-then-insert.
A claim is taken in batches, but a delivery is marked ``sending`` only just before its
attempt starts (:meth:`Ledger.record`, a few at a time), so a process that dies leaves its
never-attempted claims to be released and sent by the next pass, and only what was really in
flight as ``unknown``. ``unknown`` is never resent blindly: the message may or may not have
left. A channel whose platform makes a repeat harmless (Mastodon's Idempotency-Key within its
hour, Bluesky's client-chosen record key) takes it over again (``claim(unknown_since=...)``);
for the rest an operator settles it with ``broadcast resolve``. ``seq`` is 0 except for deliveries a
person forces again with ``broadcast send --force``.

Times: ``now`` (the pass's clock, which ``--now`` sets) stamps sent/next-attempt times so a
scripted month reads naturally; leases use the real wall clock because they are about whether
a process is alive, not about the schedule.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from broadcaster.ledger import migrations
from broadcaster.ledger.bulk import Bulk
from broadcaster.ledger.opening import database_errors, make_engine, open_engine
from broadcaster.ledger.schema import UTCDateTime, deliveries, kv, renders, suppressions

__all__ = [
    "OWNED",
    "STATES",
    "ChannelHealth",
    "Claim",
    "Delivery",
    "Group",
    "Ledger",
    "State",
    "Version",
    "deliveries",
    "kv",
    "make_engine",
    "renders",
    "suppressions",
]

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


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Ledger:
    """All reads and writes of delivery state; one instance per process."""

    def __init__(
        self,
        url: str,
        *,
        worker: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        where: str = "database",
        migrate: bool = True,
    ) -> None:
        """Open the ledger at ``url``, migrating it to the newest schema first (under a lock)
        unless ``migrate`` is off. ``where`` names the URL's origin in a SetupError."""
        self.url = url
        self.worker = worker or worker_name()
        self.lease = lease
        self.where = where
        self.engine = open_engine(url, where, migrate=migrate)

    def close(self) -> None:
        self.engine.dispose()

    # -- schema -----------------------------------------------------------------------------

    def schema_revision(self) -> str | None:
        """The migration the ledger is at: ``migrations.HEAD`` when up to date, None when new
        (or made before migrations existed)."""
        with database_errors(self.engine, self.where):
            return migrations.stamped(self.engine)

    def migrate(self) -> str | None:
        """Bring the ledger to ``migrations.HEAD`` under the migration lock; returns the
        revision it was at once the lock was held."""
        with database_errors(self.engine, self.where):
            return migrations.upgrade(self.engine)

    # -- rendering once ---------------------------------------------------------------------

    def stored_render(
        self, group: Group, fingerprint: str, body: dict[str, str] | None
    ) -> tuple[int, dict[str, str]] | None:
        """The message rendered earlier for this group, else store ``body`` (first one wins)."""
        key = (
            (renders.c.notice_id == group.notice_id)
            & (renders.c.occasion == group.occasion)
            & (renders.c.channel == group.channel)
            & (renders.c.fingerprint == fingerprint)
        )
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(renders.c.id, renders.c.body).where(key)).first()
            if row is None and body is not None:
                conn.execute(
                    self._insert_ignore(renders).values(
                        notice_id=group.notice_id,
                        occasion=group.occasion,
                        channel=group.channel,
                        fingerprint=fingerprint,
                        body=json.dumps(body),
                        created_at=_utcnow(),
                    )
                )
                row = conn.execute(sa.select(renders.c.id, renders.c.body).where(key)).first()
        return None if row is None else (row.id, json.loads(row.body))

    def render_body(self, render_id: int) -> dict[str, str]:
        with self.engine.connect() as conn:
            body = conn.execute(
                sa.select(renders.c.body).where(renders.c.id == render_id)
            ).scalar_one()
        return dict(json.loads(body))

    # -- claiming ---------------------------------------------------------------------------

    def claim(
        self,
        group: Group,
        targets: Sequence[str],
        render_id: int | None,
        now: datetime,
        *,
        unknown_since: datetime | None = None,
    ) -> dict[str, Claim]:
        """Claim what is free or due among ``targets``; returns target -> the claim we now own.

        A new target is inserted as ``claimed`` (a conflict means someone has it); a ``retry``
        row whose next attempt is due is taken over by a guarded UPDATE, and so is an
        ``unknown`` row last attempted after ``unknown_since`` (wall clock) when the channel
        can repeat it harmlessly. Anything else -- sent, failed, unknown, or another live
        claim -- is left alone. Nothing is ``sending`` until :meth:`record` starts it.
        """
        if not targets:
            return {}
        token, uncertain_token = uuid.uuid4().hex, uuid.uuid4().hex
        stamp, lease_until = _utcnow(), self._lease_until()
        wanted = list(dict.fromkeys(targets))
        claim = {
            "in_notice": group.notice_id,
            "in_occasion": group.occasion,
            "in_channel": group.channel,
            "in_seq": group.seq,
            "targets": wanted,
            "worker": self.worker,
            "lease_until": lease_until,
            "now": stamp,
        }
        with self.engine.begin() as conn:
            _CLAIM.execute(
                conn,
                ({"target": t} for t in wanted),
                **_group_values(group),
                render_id=render_id,
                worker=self.worker,
                token=token,
                lease_until=lease_until,
                now=stamp,
            )
            conn.execute(_TAKE_OVER_DUE, {**claim, "token": token, "due_at": now})
            if unknown_since is not None:
                conn.execute(
                    _TAKE_OVER_UNKNOWN,
                    {**claim, "token": uncertain_token, "attempted_since": unknown_since},
                )
            owned = conn.execute(_OWNED_BY, {**claim, "tokens": [token, uncertain_token]})
            return {
                row.target: Claim(row.id, row.attempts, row.claim_token == uncertain_token)
                for row in owned
            }

    def record(
        self,
        now: datetime,
        *,
        sent: Sequence[tuple[int, dict[str, Any]]] = (),
        failed: Sequence[tuple[int, str, datetime | None]] = (),
        unknown: Sequence[tuple[int, str]] = (),
        starting: Sequence[int] = (),
    ) -> None:
        """In one transaction: outcomes that arrived (``sent``; ``failed`` with a next-attempt
        time become ``retry``, without, ``failed``; ``unknown``: sent, no answer) and the
        claims whose attempt starts now.

        Marking ``sending`` before the attempt is what lets a dead process's other claims be
        released instead of becoming ``unknown``; writing it with the outcomes so far keeps
        the ledger to one small transaction per few messages.
        """
        if not (sent or failed or unknown or starting):
            return
        with self.engine.begin() as conn:
            _SENT.execute(
                conn, ({"delivery_id": i, "receipt": json.dumps(r)} for i, r in sent), now=now
            )
            _FAILED.execute(
                conn,
                (
                    {
                        "delivery_id": i,
                        "message": m,
                        "retry_at": r,
                        "state": "retry" if r else "failed",
                    }
                    for i, m, r in failed
                ),
                now=now,
            )
            _FAILED.execute(
                conn,
                ({"delivery_id": i, "message": m, "retry_at": None} for i, m in unknown),
                state="unknown",
                now=now,
            )
            _STARTING.execute(
                conn, ({"delivery_id": i} for i in starting), worker=self.worker, now=_utcnow()
            )

    def mark_sent(self, results: Sequence[tuple[int, dict[str, Any]]], now: datetime) -> None:
        """Record accepted deliveries, many in one transaction."""
        self.record(now, sent=results)

    def mark_failed(
        self, results: Sequence[tuple[int, str, datetime | None]], now: datetime
    ) -> None:
        """Record failures: with a next-attempt time they are ``retry``, without, ``failed``."""
        self.record(now, failed=results)

    def extend_leases(self) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                deliveries.update()
                .where((deliveries.c.claimed_by == self.worker) & deliveries.c.state.in_(OWNED))
                .values(lease_until=self._lease_until())
            )
        return int(result.rowcount)

    def reap(self) -> int:
        """Claims whose process is gone (lease ran out, or its pid is gone from this host):
        never-started ones are released, due at once; started ones become ``unknown`` --
        visible, never silently resent. Returns how many rows changed."""
        now = _utcnow()
        count = 0
        with self.engine.begin() as conn:
            dead = [
                w
                for w in conn.execute(
                    sa.select(deliveries.c.claimed_by)
                    .where(deliveries.c.state.in_(OWNED))
                    .distinct()
                ).scalars()
                if w and _dead_here(w)
            ]
            gone = (deliveries.c.lease_until < now) | deliveries.c.claimed_by.in_(dead)
            count += conn.execute(
                deliveries.update()
                .where((deliveries.c.state == "claimed") & gone)
                .values(
                    state="retry",
                    next_attempt_at=None,
                    attempts=deliveries.c.attempts - 1,
                    lease_until=None,
                    error="released: its process stopped before trying it",
                    updated_at=now,
                )
            ).rowcount
            count += conn.execute(
                deliveries.update()
                .where((deliveries.c.state == "sending") & gone)
                .values(state="unknown", lease_until=None, updated_at=now)
            ).rowcount
        return int(count)

    # -- reading ----------------------------------------------------------------------------

    def states(self, group: Group) -> dict[str, int]:
        """State -> count for one group (cheap: used by ``plan``)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(deliveries.c.state, sa.func.count())
                .where(_group_where(group))
                .group_by(deliveries.c.state)
            )
            return {row[0]: row[1] for row in rows}

    def first_sent_at(self, notice_id: str, occasion: str, channel: str) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.min(deliveries.c.updated_at)).where(
                    (deliveries.c.notice_id == notice_id)
                    & (deliveries.c.occasion == occasion)
                    & (deliveries.c.channel == channel)
                    & (deliveries.c.state == "sent")
                )
            ).scalar()
        return UTCDateTime().process_result_value(value, self.engine.dialect) if value else None

    def max_seq(self, notice_id: str, occasion: str, channel: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.max(deliveries.c.seq)).where(
                    (deliveries.c.notice_id == notice_id)
                    & (deliveries.c.occasion == occasion)
                    & (deliveries.c.channel == channel)
                )
            ).scalar()
        return int(value or 0)

    def history(
        self,
        *,
        limit: int = 50,
        before_id: int | None = None,
        channel: str | None = None,
        notice_id: str | None = None,
        state: str | None = None,
    ) -> list[Delivery]:
        """One page of deliveries, newest first; pass the last id as ``before_id`` for the next."""
        query = sa.select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
        for column, value in (
            (deliveries.c.channel, channel),
            (deliveries.c.notice_id, notice_id),
            (deliveries.c.state, state),
        ):
            if value is not None:
                query = query.where(column == value)
        if before_id is not None:
            query = query.where(deliveries.c.id < before_id)
        with self.engine.connect() as conn:
            return [_delivery(row) for row in conn.execute(query)]

    def iter_history(self, page: int = 500, **filters: Any) -> Iterator[Delivery]:
        before: int | None = None
        while batch := self.history(limit=page, before_id=before, **filters):
            yield from batch
            before = batch[-1].id

    def counts(self) -> dict[str, dict[str, int]]:
        """channel -> state -> count."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(deliveries.c.channel, deliveries.c.state, sa.func.count()).group_by(
                    deliveries.c.channel, deliveries.c.state
                )
            )
            result: dict[str, dict[str, int]] = {}
            for channel, state, count in rows:
                result.setdefault(channel, {})[state] = count
            return result

    def channel_health(self) -> dict[str, ChannelHealth]:
        """Per channel: counts by state, the next retry, and the latest error (``status``)."""
        result: dict[str, ChannelHealth] = {}
        for channel, states in self.counts().items():
            result[channel] = ChannelHealth(channel, states)
        with self.engine.connect() as conn:
            retries = conn.execute(
                sa.select(deliveries.c.channel, sa.func.min(deliveries.c.next_attempt_at))
                .where(deliveries.c.state == "retry")
                .group_by(deliveries.c.channel)
            )
            for channel, when in retries:
                result[channel].next_attempt_at = UTCDateTime().process_result_value(
                    when, self.engine.dialect
                )
            for health in result.values():
                row = conn.execute(
                    sa.select(deliveries.c.error, deliveries.c.updated_at)
                    .where(
                        (deliveries.c.channel == health.channel)
                        & deliveries.c.state.in_(("retry", "failed"))
                        & deliveries.c.error.is_not(None)
                    )
                    .order_by(deliveries.c.updated_at.desc())
                    .limit(1)
                ).first()
                if row is not None:
                    health.last_error, health.last_error_at = row.error, row.updated_at
        return result

    def get(self, delivery_id: int) -> Delivery | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).first()
        return None if row is None else _delivery(row)

    def resolve(self, delivery_id: int, *, sent: bool, who: str, now: datetime) -> Delivery:
        """An operator settles an ``unknown`` (or ``failed``) delivery: it went out, or resend it.

        ``sent`` records it as delivered (nothing more will happen); otherwise it becomes a
        ``retry`` due at once, so the next pass sends it. Who and when are kept in the ledger.
        """
        values: dict[str, Any] = {
            "resolved_by": who,
            "resolved_at": _utcnow(),
            "updated_at": now,
            "lease_until": None,
        }
        if sent:
            values.update(
                state="sent", receipt=json.dumps({"resolved": "confirmed sent by operator"})
            )
        else:
            # due at once, whatever clock the next pass runs on (``--now`` included)
            values.update(state="retry", next_attempt_at=None, error="operator asked for a resend")
        with self.engine.begin() as conn:
            changed = conn.execute(
                deliveries.update()
                .where(
                    (deliveries.c.id == delivery_id) & deliveries.c.state.in_(("unknown", "failed"))
                )
                .values(**values)
            ).rowcount
        delivery = self.get(delivery_id)
        if delivery is None:
            raise LookupError(f"no delivery {delivery_id}")
        if changed and not sent:  # its list must be walked again to send it
            with self.engine.begin() as conn:
                conn.execute(kv.delete().where(kv.c.key == _completed_key(_group_of(delivery))))
        if not changed:
            raise ValueError(
                f"delivery {delivery_id} is {delivery.state}: only unknown or failed deliveries can be resolved"
            )
        return delivery

    # -- suppression list (email addresses that must never get mail again) ----------------

    def suppress(self, addresses: Sequence[str], reason: str) -> int:
        """Suppress normalised addresses for good; returns how many were not suppressed yet."""
        if not addresses:
            return 0
        wanted = list(dict.fromkeys(addresses))
        new = [a for a in wanted if a not in self.suppressed(wanted)]
        if new:
            stamp = _utcnow()
            with self.engine.begin() as conn:
                conn.execute(
                    self._insert_ignore(suppressions),
                    [{"address": a, "reason": reason[:200], "created_at": stamp} for a in new],
                )
        return len(new)

    def suppressed(self, addresses: Sequence[str]) -> set[str]:
        """Which of ``addresses`` are suppressed: one query, so pass a few hundred at a time."""
        if not addresses:
            return set()
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    sa.select(suppressions.c.address).where(
                        suppressions.c.address.in_(list(addresses))
                    )
                ).scalars()
            )

    def suppression(self, address: str) -> tuple[str, datetime] | None:
        """Why and since when ``address`` is suppressed, if it is."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(suppressions.c.reason, suppressions.c.created_at).where(
                    suppressions.c.address == address
                )
            ).first()
        return None if row is None else (row.reason, row.created_at)

    # -- what each channel was last told about a notice (for corrections) --------------------

    def last_version(self, notice_id: str, channel: str) -> Version | None:
        """The newest announcement, correction or edit of ``notice_id`` sent on ``channel``."""
        told = (
            (deliveries.c.notice_id == notice_id)
            & (deliveries.c.channel == channel)
            & (deliveries.c.state == "sent")
            & (
                (deliveries.c.occasion == "announce")
                | deliveries.c.occasion.like("update@%")
                | deliveries.c.occasion.like("edit@%")
            )
        )
        query = (
            sa.select(renders.c.fingerprint, deliveries.c.occasion)
            .join(renders, renders.c.id == deliveries.c.render_id)
            .where(told)
            .order_by(deliveries.c.updated_at.desc(), deliveries.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else Version(row.fingerprint, row.occasion)

    def receipt_of(
        self, notice_id: str, occasion: str, channel: str, target: str
    ) -> dict[str, Any] | None:
        """The platform's receipt of a sent delivery (to edit that post later)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(deliveries.c.receipt)
                .where(
                    (deliveries.c.notice_id == notice_id)
                    & (deliveries.c.occasion == occasion)
                    & (deliveries.c.channel == channel)
                    & (deliveries.c.target == target)
                    & (deliveries.c.state == "sent")
                )
                .order_by(deliveries.c.seq.desc())
                .limit(1)
            ).scalar()
        return json.loads(value) if value else None

    # -- lists already worked through (so a large list is not read again every pass) ------

    def completed(self, group: Group) -> str | None:
        """The target-list version ``group`` was last completed for, if any."""
        return self.get_value(_completed_key(group))

    def mark_completed(self, group: Group, version: str) -> None:
        self.set_value(_completed_key(group), version)

    def values(self, prefix: str) -> dict[str, str]:
        """Every stored value whose key starts with ``prefix``."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(kv.c.key, kv.c.value).where(kv.c.key.startswith(prefix, autoescape=True))
            )
            return {row.key: row.value for row in rows}

    # -- small persistent values (sessions, feed validators) --------------------------------

    def get_value(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(kv.c.value).where(kv.c.key == key)).scalar()

    def set_value(self, key: str, value: str) -> None:
        with self.engine.begin() as conn:
            if (
                conn.execute(
                    kv.update().where(kv.c.key == key).values(value=value, updated_at=_utcnow())
                ).rowcount
                == 0
            ):
                conn.execute(
                    self._insert_ignore(kv).values(key=key, value=value, updated_at=_utcnow())
                )

    # -- internals --------------------------------------------------------------------------

    def _insert_ignore(self, table: sa.Table) -> Any:
        return _insert_ignore(self.engine.dialect, table)

    def _lease_until(self) -> datetime:
        return _utcnow() + self.lease


def _group_values(group: Group) -> dict[str, Any]:
    return {
        "notice_id": group.notice_id,
        "occasion": group.occasion,
        "channel": group.channel,
        "seq": group.seq,
    }


def _group_where(group: Group) -> Any:
    return (
        (deliveries.c.notice_id == group.notice_id)
        & (deliveries.c.occasion == group.occasion)
        & (deliveries.c.channel == group.channel)
        & (deliveries.c.seq == group.seq)
    )


def _insert_ignore(dialect: Dialect, table: sa.Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, in the dialect's own words (each dialect imported
    only by a ledger that speaks it)."""
    if dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table).on_conflict_do_nothing()


def _by_id() -> Any:
    return deliveries.c.id == sa.bindparam("delivery_id")


def _when(name: str) -> Any:
    return sa.bindparam(name, type_=UTCDateTime)


def _claimed_group() -> Any:
    """The rows of one group among ``targets``, as bind parameters, so the statements below
    are built once (building one per call cost more than running it). An UPDATE may not
    reuse column names for its parameters, hence ``in_*``."""
    return (
        (deliveries.c.notice_id == sa.bindparam("in_notice"))
        & (deliveries.c.occasion == sa.bindparam("in_occasion"))
        & (deliveries.c.channel == sa.bindparam("in_channel"))
        & (deliveries.c.seq == sa.bindparam("in_seq"))
        & deliveries.c.target.in_(sa.bindparam("targets", expanding=True))
    )


def _take_over(condition: Any, **values: Any) -> Any:
    return (
        deliveries.update()
        .where(_claimed_group() & condition)
        .values(
            state="claimed",
            attempts=deliveries.c.attempts + 1,
            error=None,
            claimed_by=sa.bindparam("worker"),
            claim_token=sa.bindparam("token"),
            lease_until=_when("lease_until"),
            updated_at=_when("now"),
            **values,
        )
    )


#: a ``retry`` row whose next attempt is due (a released one has none: due at once)
_TAKE_OVER_DUE = _take_over(
    (deliveries.c.state == "retry")
    & (deliveries.c.next_attempt_at.is_(None) | (deliveries.c.next_attempt_at <= _when("due_at"))),
    attempted_at=None,
)
#: an ``unknown`` row first attempted recently enough for its channel to repeat it harmlessly;
#: it keeps that first attempt's time, so repeat after repeat stays within the window
_TAKE_OVER_UNKNOWN = _take_over(
    (deliveries.c.state == "unknown") & (deliveries.c.attempted_at >= _when("attempted_since"))
)
_OWNED_BY = sa.select(
    deliveries.c.target, deliveries.c.id, deliveries.c.attempts, deliveries.c.claim_token
).where(_claimed_group() & deliveries.c.claim_token.in_(sa.bindparam("tokens", expanding=True)))

#: the hot path, one row per message: see bulk.py for why these skip Core's executemany
_CLAIM = Bulk(
    lambda dialect: _insert_ignore(dialect, deliveries).values(
        notice_id=sa.bindparam("notice_id"),
        occasion=sa.bindparam("occasion"),
        channel=sa.bindparam("channel"),
        seq=sa.bindparam("seq"),
        target=sa.bindparam("target"),
        state="claimed",
        attempts=1,
        render_id=sa.bindparam("render_id", type_=sa.Integer),
        claimed_by=sa.bindparam("worker"),
        claim_token=sa.bindparam("token"),
        lease_until=_when("lease_until"),
        created_at=_when("now"),
        updated_at=_when("now"),
    )
)
_SENT = Bulk(
    lambda _dialect: (
        deliveries.update()
        .where(_by_id())
        .values(
            state="sent",
            receipt=sa.bindparam("receipt"),
            lease_until=None,
            next_attempt_at=None,
            error=None,
            updated_at=_when("now"),
        )
    )
)
_FAILED = Bulk(
    lambda _dialect: (
        deliveries.update()
        .where(_by_id())
        .values(
            state=sa.bindparam("state"),
            error=sa.bindparam("message"),
            next_attempt_at=_when("retry_at"),
            lease_until=None,
            updated_at=_when("now"),
        )
    )
)
#: by primary key, one row at a time: an IN list would lead SQLite to the state index
_STARTING = Bulk(
    lambda _dialect: (
        deliveries.update()
        .where(
            _by_id()
            & sa.or_(*(deliveries.c.state == state for state in OWNED))
            & (deliveries.c.claimed_by == sa.bindparam("worker"))
        )
        .values(
            state="sending",
            attempted_at=sa.func.coalesce(deliveries.c.attempted_at, _when("now")),
        )
    )
)


def _completed_key(group: Group) -> str:
    name = f"{group.notice_id}|{group.occasion}|{group.channel}|{group.seq}"
    return "completed:" + hashlib.sha256(name.encode()).hexdigest()


def _group_of(delivery: Delivery) -> Group:
    return Group(delivery.notice_id, delivery.occasion, delivery.channel, delivery.seq)


def _delivery(row: Any) -> Delivery:
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


def _dead_here(worker: str) -> bool:
    """True when ``worker`` ran on this host and its process no longer exists."""
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _utcnow() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC)
