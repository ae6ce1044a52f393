"""The email channel: each subscriber gets each notice once, as a proper bulk email.

Every subscriber is a ledger target keyed by their lower-case address, so the ledger's
unique key and its claims give exactly-once per person, a repeated CSV row included. The
list is streamed (:mod:`broadcaster.subscribers`), suppressed addresses are dropped before
they are ever claimed, and each claimed batch is built from the notice's one rendering
(:mod:`.message`) and handed to the transport: SMTP (:mod:`.smtp`, pooled and pipelined)
or a Maildir of ``.eml`` files for the demo (:mod:`.maildir`).

Secrets: ``BROADCAST_EMAIL_UNSUBSCRIBE_SECRET`` signs the unsubscribe links (:mod:`.tokens`)
and ``BROADCAST_SMTP_PASSWORD`` logs in when ``username`` is set. Without the first, SMTP is
skipped -- real mail must carry links the website can verify. The Maildir demo runs without
it, signing with a random key that lives only as long as the process: the links in its
files look real but verify nowhere, and nothing about that key is ever stored.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import quote

from pydantic import SecretStr

from broadcaster import subscribers
from broadcaster.channels.base import Channel, Outgoing, Receipt, Skipped, Target
from broadcaster.channels.email import tokens
from broadcaster.channels.email.maildir import MaildirTransport
from broadcaster.channels.email.message import Envelope, Prepared, Recipient, Sender
from broadcaster.channels.email.progress import SendProgress
from broadcaster.channels.email.smtp import SmtpSettings, SmtpTransport
from broadcaster.channels.email.transport import Transport
from broadcaster.channels.settings.email import EmailConfig
from broadcaster.config import Config, Secrets
from broadcaster.errors import DeliveryError
from broadcaster.ledger import Ledger
from broadcaster.ledger.subscribers import SubscriberBook
from broadcaster.notices.base import about_days

if TYPE_CHECKING:
    from broadcaster.channels import Deps

log = logging.getLogger(__name__)

#: Subscribers claimed at once: fewer means more ledger transactions per message. A process
#: killed mid-list leaves only the messages it had started as ``unknown``; the rest of its
#: claims are released to the next pass.
CLAIM_BATCH = 64
LOOKUP_BATCH = 500  # addresses per suppression-list query
SHOW_PROBLEMS = 5


@runtime_checkable
class SuppressionList(Protocol):
    def suppressed(self, addresses: Sequence[str]) -> set[str]: ...


class Signer:
    """Makes unsubscribe tokens; a demo signer says once that its links verify nowhere."""

    def __init__(self, secret: bytes, *, throwaway: bool = False) -> None:
        self._secret = secret
        self._throwaway = throwaway

    def __call__(self, address: str) -> str:
        if self._throwaway:
            self._throwaway = False
            log.warning(
                "email: BROADCAST_EMAIL_UNSUBSCRIBE_SECRET is not set; the Maildir demo signs "
                "unsubscribe links with a throwaway key, so they cannot be verified later"
            )
        return tokens.make(address, self._secret)


class EmailChannel(Channel):
    name = "email"
    accepts = frozenset({"announce", "publish"})
    parts = ("subject", "text", "html")
    claim_batch = CLAIM_BATCH

    def __init__(
        self,
        *,
        sender: Sender,
        subscriber_file: Path,
        unsubscribe_url: str,
        unsubscribe_mailto: str,
        signer: Signer,
        transport: Transport,
        suppressions: SuppressionList,
        progress: SendProgress | None = None,
        book: SubscriberBook | None = None,
    ) -> None:
        self.sender = sender
        self.subscriber_file = subscriber_file
        self.unsubscribe_url = unsubscribe_url
        self.unsubscribe_mailto = unsubscribe_mailto
        self.signer = signer
        self.transport = transport
        self.suppressions = suppressions
        self.progress = progress or SendProgress(enabled=False)
        self._prepared: dict[tuple[str, str], Prepared] = {}
        #: subscribers kept in the ledger database (sign-ups, imports), read after the CSV
        self.book = book

    def targets(self) -> Iterator[Target]:
        """Every valid, not suppressed subscriber, read as a stream; problems are logged."""
        self.progress.begin(self.subscriber_file)
        notes: list[str] = []  # about the file as a whole: an encoding that was a guess
        rows = subscribers.read(self.subscriber_file, notes)
        invalid: list[subscribers.Invalid] = []
        recent: dict[str, None] = {}  # keys of the last claim batch: a repeat there is dropped
        while chunk := list(islice(rows, LOOKUP_BATCH)):
            invalid += [row for row in chunk if isinstance(row, subscribers.Invalid)]
            valid = [row for row in chunk if isinstance(row, subscribers.Subscriber)]
            blocked = self.suppressions.suppressed([s.key for s in valid])
            self.progress.rows(len(chunk) - len(valid))
            for subscriber in valid:
                self.progress.rows(1)
                if subscriber.key in blocked or subscriber.key in recent:
                    continue
                recent[subscriber.key] = None
                if len(recent) > self.claim_batch:
                    del recent[next(iter(recent))]
                yield Target(
                    subscriber.key, {"address": subscriber.address, "name": subscriber.name}
                )
        for note in notes:
            log.warning("email: %s", note)
        if invalid:
            shown = "; ".join(str(p) for p in invalid[:SHOW_PROBLEMS])
            more = (
                f" (and {len(invalid) - SHOW_PROBLEMS} more)"
                if len(invalid) > SHOW_PROBLEMS
                else ""
            )
            log.warning(
                "email: %s: skipped %d invalid rows: %s%s",
                self.subscriber_file,
                len(invalid),
                shown,
                more,
            )

    def targets_for(self, facts: Mapping[str, Any] | None) -> Iterator[Target]:
        """The CSV's subscribers, then the confirmed ones in the database; for anything but a
        notice about opening days (a closure, an hours change), without those who chose
        closures only. (One address in both gets one message: the ledger's unique key sees
        to it.)"""
        everyone = itertools.chain(self.targets(), self._book_targets())
        if about_days(facts) or self.book is None:
            yield from everyone
            return
        while chunk := list(islice(everyone, LOOKUP_BATCH)):
            skip = self.book.closures_only([t.key for t in chunk])
            yield from (t for t in chunk if t.key not in skip)

    def _book_targets(self) -> Iterator[Target]:
        if self.book is None:
            return
        rows = self.book.confirmed()
        while chunk := list(islice(rows, LOOKUP_BATCH)):
            blocked = self.suppressions.suppressed([s.address for s in chunk])
            for subscriber in chunk:
                if subscriber.address not in blocked:
                    yield Target(
                        subscriber.address, {"address": subscriber.address, "name": subscriber.name}
                    )

    def targets_version(self) -> str | None:
        try:
            stat = self.subscriber_file.stat()
        except OSError:
            return None
        book = f":{self.book.version()}" if self.book is not None else ""
        return f"{self.subscriber_file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}{book}"

    def build(self, outgoing: Outgoing) -> Envelope:
        """The complete message for one subscriber (pure apart from the Date header)."""
        prepared = self._prepare(outgoing)
        target = outgoing.target
        token = self.signer(target.key)
        recipient = Recipient(
            address=target.fields.get("address", target.key),
            name=target.fields.get("name", ""),
            unsubscribe_url=self.unsubscribe_url.replace("{token}", token),
            unsubscribe_mailto=f"mailto:{self.unsubscribe_mailto}?subject={quote('unsubscribe ' + token)}",
        )
        return prepared.build(outgoing.delivery_id, outgoing.key, recipient)

    async def send(self, payload: Envelope) -> Receipt:
        async for _envelope, outcome in self.transport.send_many([payload]):
            if isinstance(outcome, DeliveryError):
                raise outcome
            return outcome
        raise AssertionError("the transport returned no outcome")

    async def deliver(
        self, batch: Iterable[Outgoing]
    ) -> AsyncIterator[tuple[int, Receipt | DeliveryError]]:
        """Hand the batch to the transport, which sends it over all its connections at once,
        taking (and building) each message only when a connection is ready for it."""
        envelopes = self._envelopes(batch)
        async for envelope, outcome in self.transport.send_many(envelopes):
            if not isinstance(outcome, DeliveryError):
                self.progress.sent()
            yield envelope.ref, outcome

    def _envelopes(self, batch: Iterable[Outgoing]) -> Iterator[Envelope]:
        for position, outgoing in enumerate(batch):
            if position == 0:
                self.progress.label(outgoing.notice_id)
            yield self.build(outgoing)

    async def check(self) -> str:
        return await self.transport.check()

    async def aclose(self) -> None:
        self.progress.close()
        await self.transport.aclose()

    def _prepare(self, outgoing: Outgoing) -> Prepared:
        key = (outgoing.notice_id, outgoing.occasion)
        prepared = self._prepared.get(key)
        if prepared is None or prepared.rendered != outgoing.message:
            prepared = self._prepared[key] = Prepared(outgoing.message, self.sender)
        return prepared


def from_config(section: EmailConfig, deps: Deps) -> EmailChannel | Skipped:
    """``channels.email`` and its secrets as a channel (see :func:`email_channel`)."""
    return email_channel(section, deps.secrets, deps.store)


def email_channel(section: EmailConfig, secrets: Secrets, store: object) -> EmailChannel | Skipped:
    """The channel for ``channels.email``, or Skipped with what is missing."""
    signer = _signer(section, secrets.email_unsubscribe_secret)
    if isinstance(signer, str):
        return Skipped("email", signer)
    password = _value(secrets.smtp_password)
    if section.transport == "smtp" and section.username and not password:
        return Skipped("email", f"set BROADCAST_SMTP_PASSWORD for SMTP user {section.username}")
    if not isinstance(store, SuppressionList):
        return Skipped("email", "the ledger has no suppression list")
    try:
        with closing(subscribers.read(section.subscribers)) as rows:
            next(rows, None)  # the file opens and has an email column
    except subscribers.SubscribersError as exc:
        return Skipped("email", str(exc))
    sender = Sender(section.sender, section.reply_to)
    mailto = section.unsubscribe_mailto or section.reply_to or section.sender
    return EmailChannel(
        sender=sender,
        subscriber_file=section.subscribers,
        unsubscribe_url=section.unsubscribe_url,
        unsubscribe_mailto=Sender(mailto).address,
        signer=signer,
        transport=_transport(section, sender, password),
        suppressions=store,
        progress=SendProgress.for_stdout(),
        book=SubscriberBook(store.engine) if isinstance(store, Ledger) else None,
    )


def subscriber_warnings(config: Config) -> list[str]:
    """For ``broadcast validate``: unreadable file, invalid and repeated rows."""
    section = config.channels.section("email", EmailConfig)
    if section is None:
        return []
    try:
        return subscribers.scan(section.subscribers).warnings(section.subscribers)
    except subscribers.SubscribersError as exc:
        return [str(exc)]


def _signer(section: EmailConfig, secret: SecretStr | None) -> Signer | str:
    value = _value(secret)
    if not value:
        if section.transport == "maildir":
            return Signer(os.urandom(32), throwaway=True)
        return "set BROADCAST_EMAIL_UNSUBSCRIBE_SECRET (32+ random characters) to sign unsubscribe links"
    if len(value) < tokens.MIN_SECRET_LENGTH:
        return f"BROADCAST_EMAIL_UNSUBSCRIBE_SECRET is too short ({len(value)} characters); use 32+ random characters"
    return Signer(value.encode("utf-8"))


def _transport(section: EmailConfig, sender: Sender, password: str | None) -> Transport:
    if section.transport == "maildir":
        return MaildirTransport(section.maildir)
    return SmtpTransport(
        SmtpSettings(
            host=section.host,
            port=section.smtp_port,
            security=section.security,
            helo=sender.domain,
            username=section.username,
            password=password,
            connections=section.connections,
            messages_per_connection=section.messages_per_connection,
            timeout=section.timeout,
        )
    )


def _value(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None
