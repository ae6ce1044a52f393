"""A delivery's life in the ledger: claimed, started, recorded, reaped, resolved.

Every write that moves a delivery from one state to the next is here (the states are drawn in
:mod:`broadcaster.ledger`); reading them back is :mod:`broadcaster.ledger.queries`.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from broadcaster.ledger.model import OWNED, Claim, Group
from broadcaster.ledger.schema import deliveries
from broadcaster.ledger.sql import utcnow
from broadcaster.ledger.statements import (
    CLAIM,
    FAILED,
    OWNED_BY,
    SENT,
    STARTING,
    TAKE_OVER_DUE,
    TAKE_OVER_UNKNOWN,
)


def worker_name() -> str:
    """This process, as leases name it: host, pid, and a few random letters."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Deliveries:
    """The state changes of deliveries, made by ``worker`` under leases of ``lease``."""

    def __init__(self, engine: Engine, worker: str, lease: timedelta) -> None:
        self.engine, self.worker, self.lease = engine, worker, lease

    def claim(
        self,
        group: Group,
        targets: Sequence[str],
        render_id: int | None,
        now: datetime,
        *,
        unknown_since: datetime | None = None,
    ) -> dict[str, Claim]:
        """Claim what is free or due among ``targets``; returns target -> the claim we now own.

        A new target is inserted as ``claimed`` (a conflict means someone has it); a ``retry``
        row whose next attempt is due is taken over by a guarded UPDATE, and so is an
        ``unknown`` row last attempted after ``unknown_since`` (wall clock) when the channel
        can repeat it harmlessly. Anything else -- sent, failed, unknown, or another live
        claim -- is left alone. Nothing is ``sending`` until :meth:`record` starts it.
        """
        if not targets:
            return {}
        token, uncertain_token = uuid.uuid4().hex, uuid.uuid4().hex
        stamp, lease_until = utcnow(), self._lease_until()
        wanted = list(dict.fromkeys(targets))
        claim = {
            "in_notice": group.notice_id,
            "in_occasion": group.occasion,
            "in_channel": group.channel,
            "in_seq": group.seq,
            "targets": wanted,
            "worker": self.worker,
            "lease_until": lease_until,
            "now": stamp,
        }
        with self.engine.begin() as conn:
            CLAIM.execute(
                conn,
                ({"target": t} for t in wanted),
                **_group_values(group),
                render_id=render_id,
                worker=self.worker,
                token=token,
                lease_until=lease_until,
                now=stamp,
            )
            conn.execute(TAKE_OVER_DUE, {**claim, "token": token, "due_at": now})
            if unknown_since is not None:
                conn.execute(
                    TAKE_OVER_UNKNOWN,
                    {**claim, "token": uncertain_token, "attempted_since": unknown_since},
                )
            owned = conn.execute(OWNED_BY, {**claim, "tokens": [token, uncertain_token]})
            return {
                row.target: Claim(row.id, row.attempts, row.claim_token == uncertain_token)
                for row in owned
            }

    def record(
        self,
        now: datetime,
        *,
        sent: Sequence[tuple[int, dict[str, Any]]] = (),
        failed: Sequence[tuple[int, str, datetime | None]] = (),
        unknown: Sequence[tuple[int, str]] = (),
        starting: Sequence[int] = (),
    ) -> None:
        """In one transaction: outcomes that arrived (``sent``; ``failed`` with a next-attempt
        time become ``retry``, without, ``failed``; ``unknown``: sent, no answer) and the
        claims whose attempt starts now.

        Marking ``sending`` before the attempt is what lets a dead process's other claims be
        released instead of becoming ``unknown``; writing it with the outcomes so far keeps
        the ledger to one small transaction per few messages.
        """
        if not (sent or failed or unknown or starting):
            return
        with self.engine.begin() as conn:
            SENT.execute(
                conn, ({"delivery_id": i, "receipt": json.dumps(r)} for i, r in sent), now=now
            )
            FAILED.execute(
                conn,
                (
                    {
                        "delivery_id": i,
                        "message": m,
                        "retry_at": r,
                        "state": "retry" if r else "failed",
                    }
                    for i, m, r in failed
                ),
                now=now,
            )
            FAILED.execute(
                conn,
                ({"delivery_id": i, "message": m, "retry_at": None} for i, m in unknown),
                state="unknown",
                now=now,
            )
            STARTING.execute(
                conn, ({"delivery_id": i} for i in starting), worker=self.worker, now=utcnow()
            )

    def extend_leases(self) -> int:
        """Keep this process's claims its own a lease longer; returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(
                deliveries.update()
                .where((deliveries.c.claimed_by == self.worker) & deliveries.c.state.in_(OWNED))
                .values(lease_until=self._lease_until())
            )
        return int(result.rowcount)

    def reap(self) -> int:
        """Claims whose process is gone (lease ran out, or its pid is gone from this host):
        never-started ones are released, due at once; started ones become ``unknown`` --
        visible, never silently resent. Returns how many rows changed."""
        now = utcnow()
        count = 0
        with self.engine.begin() as conn:
            dead = [
                w
                for w in conn.execute(
                    sa.select(deliveries.c.claimed_by)
                    .where(deliveries.c.state.in_(OWNED))
                    .distinct()
                ).scalars()
                if w and _dead_here(w)
            ]
            gone = (deliveries.c.lease_until < now) | deliveries.c.claimed_by.in_(dead)
            count += conn.execute(
                deliveries.update()
                .where((deliveries.c.state == "claimed") & gone)
                .values(
                    state="retry",
                    next_attempt_at=None,
                    attempts=deliveries.c.attempts - 1,
                    lease_until=None,
                    error="released: its process stopped before trying it",
                    updated_at=now,
                )
            ).rowcount
            count += conn.execute(
                deliveries.update()
                .where((deliveries.c.state == "sending") & gone)
                .values(state="unknown", lease_until=None, updated_at=now)
            ).rowcount
        return int(count)

    def resolve(self, delivery_id: int, *, sent: bool, who: str, now: datetime) -> bool:
        """An operator settles an ``unknown`` or ``failed`` delivery: ``sent`` (nothing more
        will happen) or a ``retry`` due at once. Returns False when it was in neither state."""
        values: dict[str, Any] = {
            "resolved_by": who,
            "resolved_at": utcnow(),
            "updated_at": now,
            "lease_until": None,
        }
        if sent:
            values.update(
                state="sent", receipt=json.dumps({"resolved": "confirmed sent by operator"})
            )
        else:
            # due at once, whatever clock the next pass runs on (``--now`` included)
            values.update(state="retry", next_attempt_at=None, error="operator asked for a resend")
        with self.engine.begin() as conn:
            changed = conn.execute(
                deliveries.update()
                .where(
                    (deliveries.c.id == delivery_id) & deliveries.c.state.in_(("unknown", "failed"))
                )
                .values(**values)
            ).rowcount
        return bool(changed)

    def _lease_until(self) -> datetime:
        return utcnow() + self.lease


def _group_values(group: Group) -> dict[str, Any]:
    return {
        "notice_id": group.notice_id,
        "occasion": group.occasion,
        "channel": group.channel,
        "seq": group.seq,
    }


def _dead_here(worker: str) -> bool:
    """True when ``worker`` ran on this host and its process no longer exists."""
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
