"""The ledger as 0.1.0 made it: deliveries, renders, kv, suppressions.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from alembic import op

from broadcaster.ledger.migrations.baseline import metadata

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    metadata().create_all(op.get_bind())


def downgrade() -> None:
    metadata().drop_all(op.get_bind())
