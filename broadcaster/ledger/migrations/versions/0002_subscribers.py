"""Subscribers who joined through ``broadcast serve`` (double opt-in) or an import, and each
address's choice of what to receive.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from broadcaster.ledger.schema import UTCDateTime

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("address", sa.String(320), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("confirmed_at", UTCDateTime, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_subscribers_status", "subscribers", ["status", "address"])
    op.create_table(
        "email_preferences",
        sa.Column("address", sa.String(320), primary_key=True),
        sa.Column("topics", sa.String(16), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("email_preferences")
    op.drop_index("ix_subscribers_status", table_name="subscribers")
    op.drop_table("subscribers")
