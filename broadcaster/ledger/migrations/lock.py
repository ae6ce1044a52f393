"""The migration lock: one transaction that every opener of a ledger that is not at the newest
revision takes before it looks again and migrates (apart from the package, so the Alembic
runner can take it too without importing the package back)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

#: ``pg_advisory_xact_lock`` key every broadcaster migrates under: "broadcas" in ASCII
LOCK_KEY = 0x62726F6164636173


@contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """One transaction that holds the migration lock from start to commit. Other openers
    wait here: on PostgreSQL for the advisory lock, on SQLite for the write lock (as long as
    the busy timeout allows)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn
        conn.commit()
