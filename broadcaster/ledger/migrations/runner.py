"""Migrating under the lock: the part of :mod:`broadcaster.ledger.migrations` that needs
Alembic, imported only when a ledger is not at HEAD."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from broadcaster.ledger.migrations import baseline
from broadcaster.ledger.migrations.lock import migration_lock
from broadcaster.ledger.migrations.revision import BASELINE, HEAD, UnknownRevision

__all__ = ["alembic_config", "migrate", "migration_lock", "revisions", "take_over"]

log = logging.getLogger("broadcaster.ledger")


def migrate(engine: Engine) -> str | None:
    """Take the lock, then migrate from whatever revision is found to HEAD; returns it."""
    with migration_lock(engine) as conn:
        found = MigrationContext.configure(conn).get_current_revision()
        if found == HEAD:
            return found
        config = alembic_config(conn)
        if found is not None and found not in _known(config):
            raise UnknownRevision(found)
        start = found
        if found is None and _made_before_migrations(conn):
            take_over(conn)
            command.stamp(config, BASELINE)
            log.info("ledger from before migrations taken over at revision %s", BASELINE)
            start = BASELINE
        if start != HEAD:
            command.upgrade(config, "head")
            log.info("ledger schema migrated from %s to revision %s", start or "nothing", HEAD)
        return found


def take_over(conn: Connection) -> None:
    """Bring a ledger made before migrations up to the baseline the way 0.1.x did on every
    open: missing tables created, missing columns added (all were nullable), missing indexes
    created. Rows are never touched."""
    tables = baseline.metadata()
    tables.create_all(conn)
    inspector = sa.inspect(conn)
    for table in tables.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))
        for index in table.indexes:
            index.create(conn, checkfirst=True)


def _made_before_migrations(conn: Connection) -> bool:
    """Unstamped, yet with any of the ledger's tables: 0.1.x made it."""
    inspector = sa.inspect(conn)
    return any(inspector.has_table(name) for name in baseline.metadata().tables)


def revisions() -> list[str]:
    """Every revision shipped, newest first."""
    return _known(alembic_config(None))


def _known(config: Config) -> list[str]:
    return [s.revision for s in ScriptDirectory.from_config(config).walk_revisions()]


def alembic_config(conn: Connection | None) -> Config:
    """Alembic's configuration, made here instead of read from an alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = conn
    return config
