"""Alembic's entry point, run by each migration command: it migrates the connection it is
handed in ``config.attributes["connection"]`` -- already inside the migration lock's
transaction -- and never opens one of its own, so no alembic.ini is needed."""

from __future__ import annotations

from alembic import context

from broadcaster.ledger.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying a table
)
with context.begin_transaction():  # the lock's transaction: it commits, not Alembic
    context.run_migrations()
