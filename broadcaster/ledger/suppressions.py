"""The suppression list: email addresses that must never get mail again.

An address lands here from the unsubscribe link in a message, from ``broadcast unsubscribe``,
or by hand, and is never taken off by broadcaster. Addresses are normalised and lower case
(:func:`broadcaster.subscribers.normalise`), the key the email channel checks them by.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from broadcaster.ledger.schema import suppressions
from broadcaster.ledger.sql import insert_ignore, utcnow


class SuppressionList:
    """Reads and writes of the ``suppressions`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def suppress(self, addresses: Sequence[str], reason: str) -> int:
        """Suppress normalised addresses for good; returns how many were not suppressed yet."""
        if not addresses:
            return 0
        wanted = list(dict.fromkeys(addresses))
        new = [a for a in wanted if a not in self.suppressed(wanted)]
        if new:
            stamp = utcnow()
            with self.engine.begin() as conn:
                conn.execute(
                    insert_ignore(self.engine.dialect, suppressions),
                    [{"address": a, "reason": reason[:200], "created_at": stamp} for a in new],
                )
        return len(new)

    def suppressed(self, addresses: Sequence[str]) -> set[str]:
        """Which of ``addresses`` are suppressed: one query, so pass a few hundred at a time."""
        if not addresses:
            return set()
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    sa.select(suppressions.c.address).where(
                        suppressions.c.address.in_(list(addresses))
                    )
                ).scalars()
            )

    def suppression(self, address: str) -> tuple[str, datetime] | None:
        """Why and since when ``address`` is suppressed, if it is."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(suppressions.c.reason, suppressions.c.created_at).where(
                    suppressions.c.address == address
                )
            ).first()
        return None if row is None else (row.reason, row.created_at)
