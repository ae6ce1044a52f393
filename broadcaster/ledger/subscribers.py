"""Subscribers kept in the ledger database: who joined by double opt-in, who was imported,
and what each address wants to receive.

The CSV of ``channels.email.subscribers`` stays a list source of its own; this table is read
beside it by the email channel, and only ``confirmed`` rows ever get a notice. A sign-up
makes a ``pending`` row; the signed link in the confirmation email turns it ``confirmed``.
Preferences (:data:`TOPICS`) are kept per address for everyone, CSV subscribers included,
since the page behind every unsubscribe link offers them.

Every address here is normalised and lower case (:func:`broadcaster.subscribers.normalise`),
the same key the ledger's deliveries and suppressions use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from broadcaster.ledger.schema import email_preferences, subscribers, suppressions

Status = Literal["pending", "confirmed"]
Topics = Literal["all", "closures"]
#: "all": closures, opening-hours changes and articles; "closures": no articles
TOPICS: tuple[Topics, ...] = ("all", "closures")
PAGE = 500
#: one imported subscriber: (address, name), or (address, name, language)
ImportRow = tuple[str, str] | tuple[str, str, str | None]


@dataclass(frozen=True)
class Subscriber:
    address: str
    name: str
    language: str | None
    status: Status
    source: str
    created_at: datetime
    confirmed_at: datetime | None
    topics: Topics = "all"


class SubscriberBook:
    """All reads and writes of the ``subscribers`` and ``email_preferences`` tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- sign-up ----------------------------------------------------------------------------

    def request(
        self, address: str, name: str, language: str | None, source: str, now: datetime
    ) -> Status | None:
        """Record a sign-up request; returns the status the address had before (None: new).
        A confirmed subscriber is left as they are; a pending one gets the newer name."""
        with self.engine.begin() as conn:
            before = conn.execute(
                sa.select(subscribers.c.status).where(subscribers.c.address == address)
            ).scalar()
            if before is None:
                conn.execute(
                    subscribers.insert().values(
                        address=address,
                        name=name,
                        language=language,
                        status="pending",
                        source=source[:200],
                        created_at=now,
                        updated_at=now,
                    )
                )
            elif before == "pending":
                conn.execute(
                    subscribers.update()
                    .where(subscribers.c.address == address)
                    .values(name=name, language=language, updated_at=now)
                )
        return before

    def confirm(
        self,
        address: str,
        name: str,
        now: datetime,
        source: str = "form",
        language: str | None = None,
    ) -> bool:
        """Make ``address`` a confirmed subscriber; True if it was not one already. A row an
        admin removed meanwhile is made again: the link is the person's own consent. A
        ``language`` (the one the link was asked for in) is kept; None leaves it as it is."""
        with self.engine.begin() as conn:
            before = conn.execute(
                sa.select(subscribers.c.status).where(subscribers.c.address == address)
            ).scalar()
            if before == "confirmed":
                return False
            values: dict[str, object] = {
                "status": "confirmed",
                "confirmed_at": now,
                "updated_at": now,
            }
            if language is not None:
                values["language"] = language
            if before is None:
                conn.execute(
                    subscribers.insert().values(
                        address=address, name=name, source=source, created_at=now, **values
                    )
                )
            else:
                conn.execute(
                    subscribers.update().where(subscribers.c.address == address).values(**values)
                )
        return True

    def get(self, address: str) -> Subscriber | None:
        query = _with_topics().where(subscribers.c.address == address)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _subscriber(row)

    def rows(self, status: Status | None = None, page: int = PAGE) -> Iterator[Subscriber]:
        """Every subscriber in address order, a page at a time (keyset paging)."""
        after = ""
        while True:
            query = _with_topics().where(subscribers.c.address > after)
            if status is not None:
                query = query.where(subscribers.c.status == status)
            with self.engine.connect() as conn:
                found = [
                    _subscriber(r)
                    for r in conn.execute(query.order_by(subscribers.c.address).limit(page))
                ]
            yield from found
            if len(found) < page:
                return
            after = found[-1].address

    def confirmed(self, page: int = PAGE) -> Iterator[Subscriber]:
        """Who gets notices from this table (the email channel reads it beside the CSV)."""
        return self.rows("confirmed", page)

    def import_rows(self, rows: Iterable[ImportRow], source: str, now: datetime) -> tuple[int, int]:
        """Add (address, name) or (address, name, language) rows as confirmed -- the admin
        vouches for an imported list -- keeping existing subscribers as they are; returns
        (added, already there)."""
        added = kept = 0
        batch: list[ImportRow] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= PAGE:
                a, k = self._import_batch(batch, source, now)
                added, kept, batch = added + a, kept + k, []
        a, k = self._import_batch(batch, source, now)
        return added + a, kept + k

    def _import_batch(
        self, batch: Sequence[ImportRow], source: str, now: datetime
    ) -> tuple[int, int]:
        # a repeated address keeps its last row
        wanted = {row[0]: (row[1], row[2] if len(row) > 2 else None) for row in batch}
        if not wanted:
            return 0, 0
        with self.engine.begin() as conn:
            present = set(
                conn.execute(
                    sa.select(subscribers.c.address).where(subscribers.c.address.in_(list(wanted)))
                ).scalars()
            )
            new = [a for a in wanted if a not in present]
            if new:
                conn.execute(
                    subscribers.insert(),
                    [
                        {
                            "address": a,
                            "name": wanted[a][0],
                            "language": wanted[a][1] or None,
                            "status": "confirmed",
                            "source": source[:200],
                            "created_at": now,
                            "confirmed_at": now,
                            "updated_at": now,
                        }
                        for a in new
                    ],
                )
        return len(new), len(wanted) - len(new)

    def remove(self, address: str) -> bool:
        """Delete the subscriber (not a suppression: they may sign up again)."""
        with self.engine.begin() as conn:
            deleted = conn.execute(subscribers.delete().where(subscribers.c.address == address))
        return bool(deleted.rowcount)

    def counts(self) -> dict[str, int]:
        """status -> how many."""
        query = sa.select(subscribers.c.status, sa.func.count()).group_by(subscribers.c.status)
        with self.engine.connect() as conn:
            return {status: count for status, count in conn.execute(query)}

    def version(self) -> str:
        """Changes whenever who gets what changes here: part of the email list's version, so
        a notice already sent to the whole list is sent to a newly confirmed subscriber."""
        with self.engine.connect() as conn:
            count, latest = conn.execute(
                sa.select(sa.func.count(), sa.func.max(subscribers.c.updated_at))
            ).one()
            topics = conn.execute(sa.select(sa.func.max(email_preferences.c.updated_at))).scalar()
        return f"{count}:{latest}:{topics}"

    # -- preferences ------------------------------------------------------------------------

    def set_language(self, address: str, language: str, now: datetime) -> bool:
        """A subscriber's own choice of language (the preferences page); False if the
        address is not in the book (a CSV subscriber's language is the list's)."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                subscribers.update()
                .where(subscribers.c.address == address)
                .values(language=language, updated_at=now)
            ).rowcount
        return bool(changed)

    def any_language(self) -> bool:
        """Has any confirmed subscriber chosen a language? (If not, a list needs no
        :meth:`languages` query per chunk.)"""
        query = sa.select(subscribers.c.address).where(_chose_language()).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def languages(self, addresses: Sequence[str]) -> dict[str, str]:
        """The languages chosen by those of ``addresses`` who are confirmed here: one query,
        so a few hundred at a time (the email channel asks it beside each chunk of its CSV)."""
        if not addresses:
            return {}
        query = sa.select(subscribers.c.address, subscribers.c.language).where(
            subscribers.c.address.in_(list(addresses)) & _chose_language()
        )
        with self.engine.connect() as conn:
            return {address: language for address, language in conn.execute(query)}

    def set_topics(self, address: str, topics: Topics, now: datetime) -> None:
        with self.engine.begin() as conn:
            changed = conn.execute(
                email_preferences.update()
                .where(email_preferences.c.address == address)
                .values(topics=topics, updated_at=now)
            ).rowcount
            if not changed:
                conn.execute(
                    email_preferences.insert().values(
                        address=address, topics=topics, updated_at=now
                    )
                )

    def topics(self, address: str) -> Topics:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(email_preferences.c.topics).where(email_preferences.c.address == address)
            ).scalar()
        return "closures" if value == "closures" else "all"

    def closures_only(self, addresses: Sequence[str]) -> set[str]:
        """Which of ``addresses`` want no articles: one query, so a few hundred at a time."""
        if not addresses:
            return set()
        query = sa.select(email_preferences.c.address).where(
            email_preferences.c.address.in_(list(addresses))
            & (email_preferences.c.topics == "closures")
        )
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    # -- the suppression list's other direction ------------------------------------------------

    def unsuppress(self, address: str) -> bool:
        """Lift a suppression: only ever on the person's own request (the undo button, or a
        confirmed sign-up); True if there was one."""
        with self.engine.begin() as conn:
            deleted = conn.execute(suppressions.delete().where(suppressions.c.address == address))
        return bool(deleted.rowcount)


def _chose_language() -> sa.ColumnElement[bool]:
    return (
        (subscribers.c.status == "confirmed")
        & subscribers.c.language.is_not(None)
        & (subscribers.c.language != "")
    )


def _with_topics() -> sa.Select[tuple[object, ...]]:
    return sa.select(subscribers, email_preferences.c.topics).outerjoin(
        email_preferences, email_preferences.c.address == subscribers.c.address
    )


def _subscriber(row: sa.Row[tuple[object, ...]]) -> Subscriber:
    data = row._mapping
    return Subscriber(
        address=data["address"],
        name=data["name"] or "",
        language=data["language"],
        status=data["status"],
        source=data["source"],
        created_at=data["created_at"],
        confirmed_at=data["confirmed_at"],
        topics="closures" if data["topics"] == "closures" else "all",
    )
