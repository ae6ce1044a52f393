"""The ledger's tables, as the code uses them (SQLite by default, PostgreSQL to share).

Every time is stored in UTC; ``UTCDateTime`` makes SQLite, which has no time zones, read back
the same aware datetimes PostgreSQL does. The database gets these tables from the Alembic
revisions in :mod:`broadcaster.ledger.migrations`: a change here needs a revision there.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

deliveries = sa.Table(
    "deliveries",
    metadata,
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
    sa.Column("seq", sa.Integer, nullable=False, default=0),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("render_id", sa.Integer, nullable=True),
    sa.Column("claimed_by", sa.String(200), nullable=True),
    sa.Column("claim_token", sa.String(40), nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("attempted_at", UTCDateTime, nullable=True),  # wall clock: this claim's first try
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    sa.Column("receipt", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("resolved_by", sa.String(200), nullable=True),  # an operator settled it: who
    sa.Column("resolved_at", UTCDateTime, nullable=True),  # ... and when (real time)
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("notice_id", "occasion", "channel", "target", "seq", name="uq_delivery"),
)
sa.Index("ix_deliveries_state", deliveries.c.state, deliveries.c.next_attempt_at)
sa.Index("ix_deliveries_channel_state", deliveries.c.channel, deliveries.c.state)
#: one notice on one channel (states, last_version, first_sent_at): without it the planners
#: walk every row of the channel (230 ms at a million rows, instead of under 1 ms)
sa.Index("ix_deliveries_notice", deliveries.c.notice_id, deliveries.c.channel, deliveries.c.state)

renders = sa.Table(
    "renders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("notice_id", sa.String(200), nullable=False),
    sa.Column("occasion", sa.String(40), nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("notice_id", "occasion", "channel", "fingerprint", name="uq_render"),
)

kv = sa.Table(
    "kv",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

#: Addresses (normalised, lower case) that must never get email again: unsubscribed by the
#: link in a message, by ``broadcast unsubscribe``, or by hand.
suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("address", sa.String(320), primary_key=True),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

#: Email subscribers who joined through ``broadcast serve`` (double opt-in) or were imported
#: with ``broadcast subscribers import``; the CSV of ``channels.email.subscribers`` is read
#: beside them. Only ``confirmed`` rows get notices. Queries: broadcaster.ledger.subscribers.
subscribers = sa.Table(
    "subscribers",
    metadata,
    sa.Column("address", sa.String(320), primary_key=True),  # normalised, lower case
    sa.Column("name", sa.String(80), nullable=False, default=""),
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # pending | confirmed
    sa.Column("source", sa.String(200), nullable=False),  # "form", "import:<file>"
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("confirmed_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
sa.Index("ix_subscribers_status", subscribers.c.status, subscribers.c.address)

#: What each address wants (any subscriber, from the CSV or the table above): "all" notices,
#: or "closures" only (closures and opening-hours changes, no articles). No row: "all".
email_preferences = sa.Table(
    "email_preferences",
    metadata,
    sa.Column("address", sa.String(320), primary_key=True),
    sa.Column("topics", sa.String(16), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
