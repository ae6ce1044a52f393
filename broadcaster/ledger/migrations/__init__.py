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

A new ledger (no table of ours at all) is not walked through every revision: under the same
lock it is made from ``schema.metadata`` and stamped at HEAD, as Alembic's own cookbook
builds a database from scratch. The same test holds the revisions to making exactly those
tables, so the two ways cannot part. Alembic itself is imported only when an existing ledger
needs a migration, never for a new or an up-to-date one.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from broadcaster.ledger.migrations.lock import migration_lock
from broadcaster.ledger.migrations.revision import BASELINE, HEAD, UnknownRevision

__all__ = [
    "BASELINE",
    "HEAD",
    "UnknownRevision",
    "ensure_current",
    "migration_lock",
    "stamped",
    "upgrade",
]

#: the table Alembic keeps the revision in, as Alembic itself makes it
VERSION_TABLE = sa.Table(
    "alembic_version",
    sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def ensure_current(engine: Engine) -> str | None:
    """Bring the ledger to HEAD if it is not there; returns the revision it was found at
    (by whoever migrated it: after waiting for another process, that may already be HEAD)."""
    found = stamped(engine)
    if found == HEAD:
        return found
    return upgrade(engine)


def upgrade(engine: Engine) -> str | None:
    """Migrate to HEAD under the lock, whatever the ledger looked like before taking it: a
    new ledger is made at HEAD at once, an older one is migrated by Alembic. Returns the
    revision found once the lock was held."""
    with migration_lock(engine) as conn:
        tables = set(sa.inspect(conn).get_table_names())
        if VERSION_TABLE.name in tables:
            found = conn.execute(sa.select(VERSION_TABLE.c.version_num)).scalar()
            if found == HEAD:  # made or migrated by the process we waited for
                return HEAD
        elif not tables & _ledger_tables():  # nothing was ever made here
            _make_at_head(conn)
            return None
    logging.getLogger("alembic").setLevel(logging.WARNING)  # it narrates each step at INFO
    from broadcaster.ledger.migrations.runner import migrate

    return migrate(engine)


def _ledger_tables() -> set[str]:
    from broadcaster.ledger.schema import metadata

    return set(metadata.tables)


def _make_at_head(conn: Connection) -> None:
    """The newest schema, stamped HEAD, in the lock's transaction."""
    from broadcaster.ledger.schema import metadata

    metadata.create_all(conn)
    VERSION_TABLE.create(conn)
    conn.execute(VERSION_TABLE.insert().values(version_num=HEAD))
    logging.getLogger("broadcaster.ledger").info("new ledger made at revision %s", HEAD)


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
