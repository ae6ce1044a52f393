"""The ledger as 0.1.0 left it, frozen: what revision 0001 creates, and what a ledger made
before migrations existed is brought up to before it is stamped at 0001.

A copy, not an import of ``schema.metadata``: the live tables move on with each revision,
while this must stay what 0001 was. Times are ``DateTime(timezone=True)``, the DDL that
``schema.UTCDateTime`` stands on.
"""

from __future__ import annotations

import sqlalchemy as sa


def metadata() -> sa.MetaData:
    """The four tables, their unique constraints and indexes, exactly as 0.1.0 made them."""
    tables = sa.MetaData()
    _deliveries(tables)
    _renders(tables)
    sa.Table(
        "kv",
        tables,
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "suppressions",
        tables,
        sa.Column("address", sa.String(320), primary_key=True),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    return tables


def _deliveries(tables: sa.MetaData) -> None:
    when = sa.DateTime(timezone=True)
    deliveries = sa.Table(
        "deliveries",
        tables,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("notice_id", sa.String(200), nullable=False),
        sa.Column("occasion", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("target", sa.String(320), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("render_id", sa.Integer, nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claim_token", sa.String(40), nullable=True),
        sa.Column("lease_until", when, nullable=True),
        sa.Column("attempted_at", when, nullable=True),
        sa.Column("next_attempt_at", when, nullable=True),
        sa.Column("receipt", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("resolved_at", when, nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.Column("updated_at", when, nullable=False),
        sa.UniqueConstraint(
            "notice_id", "occasion", "channel", "target", "seq", name="uq_delivery"
        ),
    )
    sa.Index("ix_deliveries_state", deliveries.c.state, deliveries.c.next_attempt_at)
    sa.Index("ix_deliveries_channel_state", deliveries.c.channel, deliveries.c.state)
    sa.Index(
        "ix_deliveries_notice", deliveries.c.notice_id, deliveries.c.channel, deliveries.c.state
    )


def _renders(tables: sa.MetaData) -> None:
    sa.Table(
        "renders",
        tables,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("notice_id", sa.String(200), nullable=False),
        sa.Column("occasion", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("notice_id", "occasion", "channel", "fingerprint", name="uq_render"),
    )
