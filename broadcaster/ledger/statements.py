"""The statements of the delivery hot path, built once at import.

Claiming and recording run for every message, so their statements are built here once with
bind parameters instead of per call (building one per call cost more than running it); the
ones run for one row per message are :class:`~broadcaster.ledger.bulk.Bulk`, which skips
Core's executemany (see bulk.py for why).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from broadcaster.ledger.bulk import Bulk
from broadcaster.ledger.model import OWNED
from broadcaster.ledger.schema import deliveries
from broadcaster.ledger.sql import insert_ignore, when


def _by_id() -> Any:
    return deliveries.c.id == sa.bindparam("delivery_id")


def _claimed_group() -> Any:
    """The rows of one group among ``targets``, as bind parameters. An UPDATE may not reuse
    column names for its parameters, hence ``in_*``."""
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
            lease_until=when("lease_until"),
            updated_at=when("now"),
            **values,
        )
    )


#: a ``retry`` row whose next attempt is due (a released one has none: due at once)
TAKE_OVER_DUE = _take_over(
    (deliveries.c.state == "retry")
    & (deliveries.c.next_attempt_at.is_(None) | (deliveries.c.next_attempt_at <= when("due_at"))),
    attempted_at=None,
)
#: an ``unknown`` row first attempted recently enough for its channel to repeat it harmlessly;
#: it keeps that first attempt's time, so repeat after repeat stays within the window
TAKE_OVER_UNKNOWN = _take_over(
    (deliveries.c.state == "unknown") & (deliveries.c.attempted_at >= when("attempted_since"))
)
#: the rows of a group that a claim's tokens now hold
OWNED_BY = sa.select(
    deliveries.c.target, deliveries.c.id, deliveries.c.attempts, deliveries.c.claim_token
).where(_claimed_group() & deliveries.c.claim_token.in_(sa.bindparam("tokens", expanding=True)))

#: a new target, inserted as ``claimed`` unless someone has it (a conflict)
CLAIM = Bulk(
    lambda dialect: insert_ignore(dialect, deliveries).values(
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
        lease_until=when("lease_until"),
        created_at=when("now"),
        updated_at=when("now"),
    )
)
SENT = Bulk(
    lambda _dialect: (
        deliveries.update()
        .where(_by_id())
        .values(
            state="sent",
            receipt=sa.bindparam("receipt"),
            lease_until=None,
            next_attempt_at=None,
            error=None,
            updated_at=when("now"),
        )
    )
)
#: ``retry``, ``failed`` or ``unknown``, with the error (and for ``retry`` when it is due)
FAILED = Bulk(
    lambda _dialect: (
        deliveries.update()
        .where(_by_id())
        .values(
            state=sa.bindparam("state"),
            error=sa.bindparam("message"),
            next_attempt_at=when("retry_at"),
            lease_until=None,
            updated_at=when("now"),
        )
    )
)
#: by primary key, one row at a time: an IN list would lead SQLite to the state index
STARTING = Bulk(
    lambda _dialect: (
        deliveries.update()
        .where(
            _by_id()
            & sa.or_(*(deliveries.c.state == state for state in OWNED))
            & (deliveries.c.claimed_by == sa.bindparam("worker"))
        )
        .values(
            state="sending",
            attempted_at=sa.func.coalesce(deliveries.c.attempted_at, when("now")),
        )
    )
)
