"""SQL pieces the ledger's parts share: insert-or-ignore in each dialect, a group's rows, the
wall clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from broadcaster.ledger.model import Group
from broadcaster.ledger.schema import UTCDateTime, deliveries


def insert_ignore(dialect: Dialect, table: sa.Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, in the dialect's own words (each dialect imported
    only by a ledger that speaks it)."""
    if dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table).on_conflict_do_nothing()


def group_where(group: Group) -> Any:
    """The deliveries of ``group``."""
    return (
        (deliveries.c.notice_id == group.notice_id)
        & (deliveries.c.occasion == group.occasion)
        & (deliveries.c.channel == group.channel)
        & (deliveries.c.seq == group.seq)
    )


def when(name: str) -> Any:
    """A bind parameter holding a time, stored the way :class:`UTCDateTime` stores it."""
    return sa.bindparam(name, type_=UTCDateTime)


def utcnow() -> datetime:
    """The wall clock, for leases and bookkeeping (the pass's ``now`` is for the schedule)."""
    return datetime.fromtimestamp(time.time(), UTC)
