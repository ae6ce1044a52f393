"""The delivery ledger: the source of truth for what went out, where, and when.

A delivery is one message for one target, keyed by (notice, occasion, channel, target, seq)
under a UNIQUE constraint. Its life::

    (none) --claim--> claimed --start--> sending --ok--> sent
                         |                     |----retryable--> retry --claim when due--> claimed
                         |                     |----permanent--> failed
                         |                     '----process died--> unknown
                         '----process died before starting it--> retry (due at once)

Claiming is an INSERT ... ON CONFLICT DO NOTHING (or a guarded UPDATE of a due ``retry`` row),
so two processes racing for one delivery cannot both win: there is no check-then-insert.
A claim is taken in batches, but a delivery is marked ``sending`` only just before its
attempt starts (:meth:`Ledger.record`, a few at a time), so a process that dies leaves its
never-attempted claims to be released and sent by the next pass, and only what was really in
flight as ``unknown``. ``unknown`` is never resent blindly: the message may or may not have
left. A channel whose platform makes a repeat harmless (Mastodon's Idempotency-Key within its
hour, Bluesky's client-chosen record key) takes it over again (``claim(unknown_since=...)``);
for the rest an operator settles it with ``broadcast resolve``. ``seq`` is 0 except for deliveries a
person forces again with ``broadcast send --force``.

Times: ``now`` (the pass's clock, which ``--now`` sets) stamps sent/next-attempt times so a
scripted month reads naturally; leases use the real wall clock because they are about whether
a process is alive, not about the schedule.

:class:`Ledger` is the one door the rest of broadcaster uses; behind it, one part per job:

- :mod:`~broadcaster.ledger.deliveries` -- claim, start, record, reap, resolve (the writes);
- :mod:`~broadcaster.ledger.queries` -- reading deliveries back (plan, status, history);
- :mod:`~broadcaster.ledger.renders` -- each message rendered once;
- :mod:`~broadcaster.ledger.suppressions` -- addresses never to email again;
- :mod:`~broadcaster.ledger.store` -- small values kept between passes (the ``kv`` table);
- :mod:`~broadcaster.ledger.subscribers` -- email subscribers (opened on the ledger's engine);
- :mod:`~broadcaster.ledger.schema` (the tables), :mod:`~broadcaster.ledger.opening` and
  :mod:`~broadcaster.ledger.migrations` (a ledger opened at the newest schema).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from broadcaster.ledger import migrations
from broadcaster.ledger.deliveries import Deliveries, worker_name
from broadcaster.ledger.model import (
    OWNED,
    STATES,
    ChannelHealth,
    Claim,
    Delivery,
    Group,
    State,
    Version,
)
from broadcaster.ledger.opening import database_errors, make_engine, open_engine
from broadcaster.ledger.queries import Queries
from broadcaster.ledger.renders import Renders
from broadcaster.ledger.store import CompletedLists, ValueStore
from broadcaster.ledger.suppressions import SuppressionList

__all__ = [
    "OWNED",
    "STATES",
    "ChannelHealth",
    "Claim",
    "Delivery",
    "Group",
    "Ledger",
    "State",
    "Version",
    "make_engine",
]


class Ledger:
    """All reads and writes of delivery state; one instance per process.

    Each method hands its work to the part whose job it is (see the module's docstring)."""

    def __init__(
        self,
        url: str,
        *,
        worker: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        where: str = "database",
        migrate: bool = True,
    ) -> None:
        """Open the ledger at ``url``, migrating it to the newest schema first (under a lock)
        unless ``migrate`` is off. ``where`` names the URL's origin in a SetupError."""
        self.url = url
        self.worker = worker or worker_name()
        self.lease = lease
        self.where = where
        self.engine = open_engine(url, where, migrate=migrate)
        self._deliveries = Deliveries(self.engine, self.worker, lease)
        self._queries = Queries(self.engine)
        self._renders = Renders(self.engine)
        self._suppressions = SuppressionList(self.engine)
        self._values = ValueStore(self.engine)
        self._completed = CompletedLists(self._values)

    def close(self) -> None:
        self.engine.dispose()

    # -- schema -----------------------------------------------------------------------------

    def schema_revision(self) -> str | None:
        """The migration the ledger is at: ``migrations.HEAD`` when up to date, None when new
        (or made before migrations existed)."""
        with database_errors(self.engine, self.where):
            return migrations.stamped(self.engine)

    def migrate(self) -> str | None:
        """Bring the ledger to ``migrations.HEAD`` under the migration lock; returns the
        revision it was at once the lock was held."""
        with database_errors(self.engine, self.where):
            return migrations.upgrade(self.engine)

    # -- rendering once: renders.py ---------------------------------------------------------

    def stored_render(
        self, group: Group, fingerprint: str, body: dict[str, str] | None
    ) -> tuple[int, dict[str, str]] | None:
        """The message rendered earlier for this group, else store ``body`` (first one wins)."""
        return self._renders.stored(group, fingerprint, body)

    def render_body(self, render_id: int) -> dict[str, str]:
        return self._renders.body(render_id)

    # -- a delivery's life: deliveries.py ---------------------------------------------------

    def claim(
        self,
        group: Group,
        targets: Sequence[str],
        render_id: int | None,
        now: datetime,
        *,
        unknown_since: datetime | None = None,
    ) -> dict[str, Claim]:
        """Claim what is free or due among ``targets``: target -> the claim we now own."""
        return self._deliveries.claim(group, targets, render_id, now, unknown_since=unknown_since)

    def record(
        self,
        now: datetime,
        *,
        sent: Sequence[tuple[int, dict[str, Any]]] = (),
        failed: Sequence[tuple[int, str, datetime | None]] = (),
        unknown: Sequence[tuple[int, str]] = (),
        starting: Sequence[int] = (),
    ) -> None:
        """In one transaction: the outcomes that arrived, and the claims starting now."""
        self._deliveries.record(now, sent=sent, failed=failed, unknown=unknown, starting=starting)

    def mark_sent(self, results: Sequence[tuple[int, dict[str, Any]]], now: datetime) -> None:
        """Record accepted deliveries, many in one transaction."""
        self.record(now, sent=results)

    def mark_failed(
        self, results: Sequence[tuple[int, str, datetime | None]], now: datetime
    ) -> None:
        """Record failures: with a next-attempt time they are ``retry``, without, ``failed``."""
        self.record(now, failed=results)

    def extend_leases(self) -> int:
        return self._deliveries.extend_leases()

    def reap(self) -> int:
        """Release or mark ``unknown`` the claims of processes that are gone; how many."""
        return self._deliveries.reap()

    def resolve(self, delivery_id: int, *, sent: bool, who: str, now: datetime) -> Delivery:
        """An operator settles an ``unknown`` (or ``failed``) delivery: it went out, or resend it.

        ``sent`` records it as delivered (nothing more will happen); otherwise it becomes a
        ``retry`` due at once, so the next pass sends it. Who and when are kept in the ledger.
        """
        changed = self._deliveries.resolve(delivery_id, sent=sent, who=who, now=now)
        delivery = self.get(delivery_id)
        if delivery is None:
            raise LookupError(f"no delivery {delivery_id}")
        if changed and not sent:  # its list must be walked again to send it
            self._completed.forget(delivery.group)
        if not changed:
            raise ValueError(
                f"delivery {delivery_id} is {delivery.state}: only unknown or failed deliveries can be resolved"
            )
        return delivery

    # -- reading deliveries: queries.py -----------------------------------------------------

    def states(self, group: Group) -> dict[str, int]:
        """State -> count for one group (cheap: used by ``plan``)."""
        return self._queries.states(group)

    def first_sent_at(self, notice_id: str, occasion: str, channel: str) -> datetime | None:
        return self._queries.first_sent_at(notice_id, occasion, channel)

    def max_seq(self, notice_id: str, occasion: str, channel: str) -> int:
        return self._queries.max_seq(notice_id, occasion, channel)

    def holding(
        self, messages: Sequence[tuple[str, str]], channel: str, targets: Sequence[str]
    ) -> set[str]:
        """Which of ``targets`` have a delivery, not failed, of these (notice id, occasion)
        messages."""
        return self._queries.holding(messages, channel, targets)

    def last_version(self, notice_id: str, channel: str) -> Version | None:
        """The newest announcement, correction or edit of ``notice_id`` sent on ``channel``."""
        return self._queries.last_version(notice_id, channel)

    def receipt_of(
        self, notice_id: str, occasion: str, channel: str, target: str
    ) -> dict[str, Any] | None:
        """The platform's receipt of a sent delivery (to edit that post later)."""
        return self._queries.receipt_of(notice_id, occasion, channel, target)

    def get(self, delivery_id: int) -> Delivery | None:
        return self._queries.get(delivery_id)

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
        return self._queries.history(
            limit=limit, before_id=before_id, channel=channel, notice_id=notice_id, state=state
        )

    def iter_history(self, page: int = 500, **filters: Any) -> Iterator[Delivery]:
        return self._queries.iter_history(page, **filters)

    def counts(self) -> dict[str, dict[str, int]]:
        """channel -> state -> count."""
        return self._queries.counts()

    def channel_health(self) -> dict[str, ChannelHealth]:
        """Per channel: counts by state, the next retry, and the latest error (``status``)."""
        return self._queries.channel_health()

    # -- addresses never to email again: suppressions.py ------------------------------------

    def suppress(self, addresses: Sequence[str], reason: str) -> int:
        """Suppress normalised addresses for good; returns how many were not suppressed yet."""
        return self._suppressions.suppress(addresses, reason)

    def suppressed(self, addresses: Sequence[str]) -> set[str]:
        """Which of ``addresses`` are suppressed: one query, so pass a few hundred at a time."""
        return self._suppressions.suppressed(addresses)

    def suppression(self, address: str) -> tuple[str, datetime] | None:
        """Why and since when ``address`` is suppressed, if it is."""
        return self._suppressions.suppression(address)

    # -- small values kept between passes: store.py -----------------------------------------

    def completed(self, group: Group) -> str | None:
        """The target-list version ``group`` was last completed for, if any."""
        return self._completed.version(group)

    def mark_completed(self, group: Group, version: str) -> None:
        self._completed.mark(group, version)

    def values(self, prefix: str) -> dict[str, str]:
        """Every stored value whose key starts with ``prefix``."""
        return self._values.with_prefix(prefix)

    def get_value(self, key: str) -> str | None:
        return self._values.get(key)

    def set_value(self, key: str, value: str) -> None:
        self._values.set(key, value)
