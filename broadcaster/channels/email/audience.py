"""Who gets each message of a notice: the subscriber list and the confirmed sign-ups, each
once, narrowed to those who want that kind of notice and read that message's language.

The CSV is walked as a stream, a few hundred rows at a time: each chunk costs one query to
the suppression list and, on a site with several languages where someone in the subscriber
book chose one, one to the book (a person who is in both chose a language there, and that
choice is theirs everywhere: both rows then ask for the same message, and the ledger's
unique key sends it once). Nothing is kept per address between chunks.

A notice comes as one message per site language (``facts["language"]``; none: the default
language). Each subscriber's language -- the list's ``language`` column, or their choice on
the sign-up page -- is matched to one of the site's languages
(:class:`~broadcaster.language_match.LanguageMatch`); none, or one the site does not have,
is the default. So each subscriber is a target of exactly one of the messages.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from broadcaster import subscribers
from broadcaster.channels.base import Target
from broadcaster.channels.email.progress import SendProgress
from broadcaster.language_match import LanguageMatch
from broadcaster.ledger.subscribers import SubscriberBook
from broadcaster.notices.base import about_days

log = logging.getLogger("broadcaster.channels.email")

LOOKUP_BATCH = 500  # addresses per suppression-list (and subscriber book) query
SHOW_PROBLEMS = 5


@runtime_checkable
class SuppressionList(Protocol):
    def suppressed(self, addresses: Sequence[str]) -> set[str]: ...


@dataclass
class Audience:
    """The list (a CSV), the book (sign-ups and imports) and the suppression list, walked."""

    subscriber_file: Path
    suppressions: SuppressionList
    progress: SendProgress
    book: SubscriberBook | None
    #: a repeat within this many rows is dropped here (further apart: the ledger's unique key)
    claim_batch: int

    def for_message(
        self, facts: Mapping[str, Any] | None, readers: LanguageMatch | None
    ) -> Iterator[Target]:
        """The subscribers of one message: those who read its language (``readers``: the
        site's languages; None when it has one), then, for anything but a notice about
        opening days, without those who chose closures only."""
        chosen = self.everyone(readers)
        if readers is not None:
            language = (facts or {}).get("language") or readers.default
            chosen = (t for t in chosen if t.fields["language"] == language)
        if about_days(facts) or self.book is None:
            yield from chosen
            return
        while chunk := list(islice(chosen, LOOKUP_BATCH)):
            skip = self.book.closures_only([t.key for t in chunk])
            yield from (t for t in chunk if t.key not in skip)

    def everyone(self, readers: LanguageMatch | None = None) -> Iterator[Target]:
        """The CSV's subscribers, then the confirmed ones in the book; with ``readers``, each
        target's ``language`` field says which of the site's languages they read. (One
        address in both is two targets with one key: the ledger sends it once.)"""
        return itertools.chain(self.listed(readers), self.signed_up(readers))

    def listed(self, readers: LanguageMatch | None = None) -> Iterator[Target]:
        """Every valid, not suppressed subscriber in the CSV, read as a stream; problems are
        logged at the end."""
        self.progress.begin(self.subscriber_file)
        notes: list[str] = []  # about the file as a whole: an encoding that was a guess
        rows = subscribers.read(self.subscriber_file, notes)
        invalid: list[subscribers.Invalid] = []
        recent: dict[str, None] = {}  # keys of the last claim batch: a repeat there is dropped
        chose = readers is not None and self.book is not None and self.book.any_language()
        while chunk := list(islice(rows, LOOKUP_BATCH)):
            invalid += [row for row in chunk if isinstance(row, subscribers.Invalid)]
            valid = [row for row in chunk if isinstance(row, subscribers.Subscriber)]
            blocked = self.suppressions.suppressed([s.key for s in valid])
            chosen = self._chosen_languages(valid) if chose else {}
            self.progress.rows(len(chunk) - len(valid))
            for subscriber in valid:
                self.progress.rows(1)
                if subscriber.key in blocked or subscriber.key in recent:
                    continue
                recent[subscriber.key] = None
                if len(recent) > self.claim_batch:
                    del recent[next(iter(recent))]
                fields = {"address": subscriber.address, "name": subscriber.name}
                if readers is not None:
                    fields["language"] = readers.of(chosen.get(subscriber.key, subscriber.language))
                yield Target(subscriber.key, fields)
        for note in notes:
            log.warning("email: %s", note)
        self._report(invalid)

    def signed_up(self, readers: LanguageMatch | None = None) -> Iterator[Target]:
        """The book's confirmed subscribers who are not suppressed."""
        if self.book is None:
            return
        rows = self.book.confirmed()
        while chunk := list(islice(rows, LOOKUP_BATCH)):
            blocked = self.suppressions.suppressed([s.address for s in chunk])
            for subscriber in chunk:
                if subscriber.address in blocked:
                    continue
                fields = {"address": subscriber.address, "name": subscriber.name}
                if readers is not None:
                    fields["language"] = readers.of(subscriber.language)
                yield Target(subscriber.address, fields)

    def _chosen_languages(self, listed: Sequence[subscribers.Subscriber]) -> dict[str, str]:
        """The languages chosen in the book by those of ``listed`` who are in it too."""
        if self.book is None or not listed:
            return {}
        return self.book.languages([s.key for s in listed])

    def _report(self, invalid: list[subscribers.Invalid]) -> None:
        if not invalid:
            return
        shown = "; ".join(str(p) for p in invalid[:SHOW_PROBLEMS])
        more = f" (and {len(invalid) - SHOW_PROBLEMS} more)" if len(invalid) > SHOW_PROBLEMS else ""
        log.warning(
            "email: %s: skipped %d invalid rows: %s%s",
            self.subscriber_file,
            len(invalid),
            shown,
            more,
        )
