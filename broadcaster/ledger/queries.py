"""Reading the deliveries back: per group (the planner), per notice (corrections, edits), per
channel (``status``), and page by page (``history``). Nothing here writes."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from broadcaster.ledger.model import ChannelHealth, Delivery, Group, Version, delivery_from_row
from broadcaster.ledger.schema import UTCDateTime, deliveries, renders
from broadcaster.ledger.sql import group_where


class Queries:
    """Every read of the ``deliveries`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- one group, one notice ----------------------------------------------------------------

    def states(self, group: Group) -> dict[str, int]:
        """State -> count for one group (cheap: used by ``plan``)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(deliveries.c.state, sa.func.count())
                .where(group_where(group))
                .group_by(deliveries.c.state)
            )
            return {row[0]: row[1] for row in rows}

    def first_sent_at(self, notice_id: str, occasion: str, channel: str) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.min(deliveries.c.updated_at)).where(
                    (deliveries.c.notice_id == notice_id)
                    & (deliveries.c.occasion == occasion)
                    & (deliveries.c.channel == channel)
                    & (deliveries.c.state == "sent")
                )
            ).scalar()
        return UTCDateTime().process_result_value(value, self.engine.dialect) if value else None

    def holding(
        self, messages: Sequence[tuple[str, str]], channel: str, targets: Sequence[str]
    ) -> set[str]:
        """Which of ``targets`` have a delivery of any of ``messages`` ((notice id, occasion)
        each) on ``channel``, in any seq and any state but ``failed`` (which never reached
        them): one query, a UNION ALL of one lookup per message in the unique key's index
        (an OR of them makes SQLite walk every row of the channel: 77 ms a query at 100,000
        rows rather than under 3)."""
        if not messages or not targets:
            return set()
        wanted = list(targets)
        query = sa.union_all(
            *(
                sa.select(deliveries.c.target).where(
                    (deliveries.c.notice_id == notice_id)
                    & (deliveries.c.occasion == occasion)
                    & (deliveries.c.channel == channel)
                    & deliveries.c.target.in_(wanted)
                    & (deliveries.c.state != "failed")
                )
                for notice_id, occasion in messages
            )
        )
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def max_seq(self, notice_id: str, occasion: str, channel: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.max(deliveries.c.seq)).where(
                    (deliveries.c.notice_id == notice_id)
                    & (deliveries.c.occasion == occasion)
                    & (deliveries.c.channel == channel)
                )
            ).scalar()
        return int(value or 0)

    def last_version(self, notice_id: str, channel: str) -> Version | None:
        """The newest announcement, correction or edit of ``notice_id`` sent on ``channel``."""
        told = (
            (deliveries.c.notice_id == notice_id)
            & (deliveries.c.channel == channel)
            & (deliveries.c.state == "sent")
            & (
                (deliveries.c.occasion == "announce")
                | deliveries.c.occasion.like("update@%")
                | deliveries.c.occasion.like("edit@%")
            )
        )
        query = (
            sa.select(renders.c.fingerprint, deliveries.c.occasion)
            .join(renders, renders.c.id == deliveries.c.render_id)
            .where(told)
            .order_by(deliveries.c.updated_at.desc(), deliveries.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else Version(row.fingerprint, row.occasion)

    def receipt_of(
        self, notice_id: str, occasion: str, channel: str, target: str
    ) -> dict[str, Any] | None:
        """The platform's receipt of a sent delivery (to edit that post later)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(deliveries.c.receipt)
                .where(
                    (deliveries.c.notice_id == notice_id)
                    & (deliveries.c.occasion == occasion)
                    & (deliveries.c.channel == channel)
                    & (deliveries.c.target == target)
                    & (deliveries.c.state == "sent")
                )
                .order_by(deliveries.c.seq.desc())
                .limit(1)
            ).scalar()
        return json.loads(value) if value else None

    # -- for people: history and status -------------------------------------------------------

    def get(self, delivery_id: int) -> Delivery | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).first()
        return None if row is None else delivery_from_row(row)

    def history(
        self,
        *,
        limit: int = 50,
        before_id: int | None = None,
        channel: str | None = None,
        notice_id: str | None = None,
        state: str | None = None,
    ) -> list[Delivery]:
        """One page of deliveries, newest first; pass the last id as ``before_id`` for the next."""
        query = sa.select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
        for column, value in (
            (deliveries.c.channel, channel),
            (deliveries.c.notice_id, notice_id),
            (deliveries.c.state, state),
        ):
            if value is not None:
                query = query.where(column == value)
        if before_id is not None:
            query = query.where(deliveries.c.id < before_id)
        with self.engine.connect() as conn:
            return [delivery_from_row(row) for row in conn.execute(query)]

    def iter_history(self, page: int = 500, **filters: Any) -> Iterator[Delivery]:
        before: int | None = None
        while batch := self.history(limit=page, before_id=before, **filters):
            yield from batch
            before = batch[-1].id

    def counts(self) -> dict[str, dict[str, int]]:
        """channel -> state -> count."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(deliveries.c.channel, deliveries.c.state, sa.func.count()).group_by(
                    deliveries.c.channel, deliveries.c.state
                )
            )
            result: dict[str, dict[str, int]] = {}
            for channel, state, count in rows:
                result.setdefault(channel, {})[state] = count
            return result

    def channel_health(self) -> dict[str, ChannelHealth]:
        """Per channel: counts by state, the next retry, and the latest error (``status``)."""
        result: dict[str, ChannelHealth] = {}
        for channel, states in self.counts().items():
            result[channel] = ChannelHealth(channel, states)
        with self.engine.connect() as conn:
            retries = conn.execute(
                sa.select(deliveries.c.channel, sa.func.min(deliveries.c.next_attempt_at))
                .where(deliveries.c.state == "retry")
                .group_by(deliveries.c.channel)
            )
            for channel, when in retries:
                result[channel].next_attempt_at = UTCDateTime().process_result_value(
                    when, self.engine.dialect
                )
            for health in result.values():
                row = conn.execute(
                    sa.select(deliveries.c.error, deliveries.c.updated_at)
                    .where(
                        (deliveries.c.channel == health.channel)
                        & deliveries.c.state.in_(("retry", "failed"))
                        & deliveries.c.error.is_not(None)
                    )
                    .order_by(deliveries.c.updated_at.desc())
                    .limit(1)
                ).first()
                if row is not None:
                    health.last_error, health.last_error_at = row.error, row.updated_at
        return result
