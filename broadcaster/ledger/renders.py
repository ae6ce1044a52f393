"""Render once: the message first rendered for a group and notice version is the one sent.

A pass that crashes and a pass that retries send the very text the first one rendered, even
if a template changed in between; a new version of the notice (a new fingerprint) is a new
render.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from broadcaster.ledger.model import Group
from broadcaster.ledger.schema import renders
from broadcaster.ledger.sql import insert_ignore, utcnow


class Renders:
    """Reads and writes of the ``renders`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def stored(
        self, group: Group, fingerprint: str, body: dict[str, str] | None
    ) -> tuple[int, dict[str, str]] | None:
        """The message rendered earlier for this group, else store ``body`` (first one wins)."""
        key = (
            (renders.c.notice_id == group.notice_id)
            & (renders.c.occasion == group.occasion)
            & (renders.c.channel == group.channel)
            & (renders.c.fingerprint == fingerprint)
        )
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(renders.c.id, renders.c.body).where(key)).first()
            if row is None and body is not None:
                conn.execute(
                    insert_ignore(self.engine.dialect, renders).values(
                        notice_id=group.notice_id,
                        occasion=group.occasion,
                        channel=group.channel,
                        fingerprint=fingerprint,
                        body=json.dumps(body),
                        created_at=utcnow(),
                    )
                )
                row = conn.execute(sa.select(renders.c.id, renders.c.body).where(key)).first()
        return None if row is None else (row.id, json.loads(row.body))

    def body(self, render_id: int) -> dict[str, str]:
        with self.engine.connect() as conn:
            body = conn.execute(
                sa.select(renders.c.body).where(renders.c.id == render_id)
            ).scalar_one()
        return dict(json.loads(body))
