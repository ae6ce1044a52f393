"""The ledger's schema history (Alembic revisions in ``versions/``), and bringing a ledger to
the newest one without two processes ever migrating it at once.

Opening a ledger costs one query when it is up to date: the version Alembic stamped in
``alembic_version``. Otherwise the opener takes the migration lock (PostgreSQL: a
transaction-scoped advisory lock; SQLite: ``BEGIN IMMEDIATE``, the database's write lock),
reads the version again -- another process may have migrated while it waited -- and migrates
inside that one transaction. So any number of processes may start together on an empty or an
old ledger: one migrates, the rest wait for it and go on.

A ledger made before migrations existed (0.1.x brought its tables up by inspection on each
open) has tables but no version: it is brought up to :mod:`.baseline` once, by the same
inspection, and stamped at 0001.

To change the schema: change ``schema.py``, add ``versions/NNNN_what.py`` revising the newest
one (``op.add_column`` ...), and set :data:`HEAD` to it; ``tests/ledger/test_migrations.py``
fails until the migrated tables equal ``schema.metadata`` and HEAD is the newest revision.
Alembic itself is imported only when a migration is due, not on every open.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from broadcaster.ledger.migrations.revision import BASELINE, HEAD, UnknownRevision

__all__ = ["BASELINE", "HEAD", "UnknownRevision", "ensure_current", "stamped", "upgrade"]


def ensure_current(engine: Engine) -> str | None:
    """Bring the ledger to HEAD if it is not there; returns the revision it was found at
    (by whoever migrated it: after waiting for another process, that may already be HEAD)."""
    found = stamped(engine)
    if found == HEAD:
        return found
    return upgrade(engine)


def upgrade(engine: Engine) -> str | None:
    """Migrate to HEAD under the lock, whatever the ledger looked like before taking it."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # it narrates each step at INFO
    from broadcaster.ledger.migrations.runner import migrate

    return migrate(engine)


def stamped(engine: Engine) -> str | None:
    """The ledger's revision in one query; None for a new ledger or one from before 0.2."""
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DBAPIError as exc:
        if _no_such_table(exc):
            return None
        raise
    return None if version is None else str(version)


def _no_such_table(exc: sa.exc.DBAPIError) -> bool:
    if getattr(exc.orig, "sqlstate", None) == "42P01":  # PostgreSQL: undefined_table
        return True
    return "no such table" in str(exc.orig)  # SQLite
