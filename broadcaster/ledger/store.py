"""Small values kept between passes, in the ``kv`` table: one text value per key.

A key's prefix up to its first ``:`` names the part of broadcaster that owns it; each owner
keeps its prefix in one constant beside the code that reads it, and the stored keys never
change (a ledger written by an older version must read the same):

==========================  =======================================================
``completed:``              lists walked to the end (:class:`CompletedLists`, here)
``closure-latest:``,        the version of each notice last told, and those versions
``closure-version:``        (:mod:`broadcaster.lifecycle`)
``publish:``                the state a publisher's latest write carries (send.py)
``breaker:``                a channel's circuit breaker (:mod:`broadcaster.breaker`)
``pass:``, ``worker:``      the last pass and its durations, the last daily pass
``feed:``                   a remote feed's cached copy (:mod:`broadcaster.sources`)
``<channel>:``              a channel's own: sessions, tokens, record keys, limits
==========================  =======================================================
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from broadcaster.ledger.model import Group
from broadcaster.ledger.schema import kv
from broadcaster.ledger.sql import insert_ignore, utcnow


class ValueStore:
    """Reads and writes of the ``kv`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(kv.c.value).where(kv.c.key == key)).scalar()

    def set(self, key: str, value: str) -> None:
        with self.engine.begin() as conn:
            if (
                conn.execute(
                    kv.update().where(kv.c.key == key).values(value=value, updated_at=utcnow())
                ).rowcount
                == 0
            ):
                conn.execute(
                    insert_ignore(self.engine.dialect, kv).values(
                        key=key, value=value, updated_at=utcnow()
                    )
                )

    def delete(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(kv.delete().where(kv.c.key == key))

    def with_prefix(self, prefix: str) -> dict[str, str]:
        """Every stored value whose key starts with ``prefix``."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(kv.c.key, kv.c.value).where(kv.c.key.startswith(prefix, autoescape=True))
            )
            return {row.key: row.value for row in rows}


class CompletedLists:
    """Which target-list version each group was last worked through to the end for, so a
    large list is not read again every pass while nothing in it changed."""

    PREFIX = "completed:"

    def __init__(self, values: ValueStore) -> None:
        self.values = values

    def version(self, group: Group) -> str | None:
        return self.values.get(self._key(group))

    def mark(self, group: Group, version: str) -> None:
        self.values.set(self._key(group), version)

    def forget(self, group: Group) -> None:
        """The list must be walked again (a delivery in it became due)."""
        self.values.delete(self._key(group))

    def _key(self, group: Group) -> str:
        name = f"{group.notice_id}|{group.occasion}|{group.channel}|{group.seq}"
        return self.PREFIX + hashlib.sha256(name.encode()).hexdigest()
