"""The email channel: each subscriber gets each notice once, as a proper bulk email.

Every subscriber is a ledger target keyed by their lower-case address, so the ledger's
unique key and its claims give exactly-once per person, a repeated CSV row included. The
list is streamed (:mod:`broadcaster.subscribers`), suppressed addresses are dropped before
they are ever claimed, and each claimed batch is built from the notice's one rendering
(:mod:`.message`) and handed to the transport: SMTP (:mod:`.smtp`, pooled and pipelined)
or a Maildir of ``.eml`` files for the demo (:mod:`.maildir`).

A notice is one message per site language; each subscriber is a target of the one in their
language (:mod:`.audience`), which says so in ``Content-Language``.

Secrets: ``BROADCAST_EMAIL_UNSUBSCRIBE_SECRET`` signs the unsubscribe links (:mod:`.tokens`)
and ``BROADCAST_SMTP_PASSWORD`` logs in when ``username`` is set. Without the first, SMTP is
skipped -- real mail must carry links the website can verify. The Maildir demo runs without
it, signing with a random key that lives only as long as the process: the links in its
files look real but verify nowhere, and nothing about that key is ever stored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import SecretStr

from broadcaster import subscribers
from broadcaster.channels.base import Channel, Outgoing, Receipt, Skipped, Target
from broadcaster.channels.email import tokens
from broadcaster.channels.email.audience import Audience, SuppressionList
from broadcaster.channels.email.message import Envelope, Prepared, Recipient, Sender
from broadcaster.channels.email.progress import SendProgress
from broadcaster.channels.email.transport import Transport
from broadcaster.channels.settings.email import EmailConfig
from broadcaster.config import Config, Secrets
from broadcaster.errors import DeliveryError
from broadcaster.language_match import LanguageMatch

if TYPE_CHECKING:
    from broadcaster.channels import Deps
    from broadcaster.ledger.subscribers import SubscriberBook

log = logging.getLogger(__name__)

#: Subscribers claimed at once: fewer means more ledger transactions per message. A process
#: killed mid-list leaves only the messages it had started as ``unknown``; the rest of its
#: claims are released to the next pass.
CLAIM_BATCH = 64


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
    one_language_each = True

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
        self.audience = Audience(subscriber_file, suppressions, self.progress, book, CLAIM_BATCH)
        self._match: LanguageMatch | None = None

    def targets(self) -> Iterator[Target]:
        """Every valid, not suppressed subscriber, the list's then the book's."""
        return self.audience.everyone()

    def targets_for(self, facts: Mapping[str, Any] | None) -> Iterator[Target]:
        """The subscribers of one message of a notice (known by its ``facts``): those who
        read its language and want its kind (:meth:`.audience.Audience.for_message`)."""
        return self.audience.for_message(facts, self._readers())

    def _readers(self) -> LanguageMatch | None:
        """The site's languages as this channel tells them (one message per language, the
        default first: ``EmailConfig.told_in``); None with only one."""
        languages = tuple(each[0] for each in self.told_in if len(each) == 1)
        if len(languages) < 2:
            return None
        if self._match is None or self._match.languages != languages:
            self._match = LanguageMatch(languages)
        return self._match

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
            # "unsubscribe <token>", quoted: the space by hand, so that quote() finds nothing
            # to escape in a token (base64url) and returns at once instead of byte by byte
            unsubscribe_mailto=f"mailto:{self.unsubscribe_mailto}?subject=unsubscribe%20{quote(token)}",
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
            language = self._language_of(outgoing.facts)
            prepared = self._prepared[key] = Prepared(outgoing.message, self.sender, language)
        return prepared

    def _language_of(self, facts: Mapping[str, Any] | None) -> str | None:
        """The message's language: its notice's (a variant's), else the site's default."""
        told = (facts or {}).get("language")
        if told:
            return str(told)
        return self.told_in[0][0] if self.told_in and self.told_in[0] else None


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
    channel = EmailChannel(
        sender=sender,
        subscriber_file=section.subscribers,
        unsubscribe_url=section.unsubscribe_url,
        unsubscribe_mailto=Sender(mailto).address,
        signer=signer,
        transport=_transport(section, sender, password),
        suppressions=store,
        progress=SendProgress.for_stdout(),
        book=_book(store),
    )
    channel.concurrency = section.connections if section.transport == "smtp" else 1
    return channel


def _book(store: object) -> SubscriberBook | None:
    """The subscribers kept in the ledger's database, if ``store`` is a ledger (it has its
    engine); none in a store that is no database."""
    engine = getattr(store, "engine", None)
    if engine is None:
        return None
    from broadcaster.ledger.subscribers import SubscriberBook

    return SubscriberBook(engine)


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
    """The one the config names (each imported only when named: aiosmtplib for SMTP)."""
    if section.transport == "maildir":
        from broadcaster.channels.email.maildir import MaildirTransport

        return MaildirTransport(section.maildir)
    from broadcaster.channels.email.smtp import SmtpSettings, SmtpTransport

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
