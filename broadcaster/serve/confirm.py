"""The confirmation email of a sign-up: rendered from templates, sent once per request
through the email channel's transport, and recorded in the ledger like every other message.

Each sign-up request has a random id; its email is the delivery (``signup``,
``confirm@<id>``, ``email``, address). Claiming it before sending is what makes it once per
request, even if the same form post arrives twice. A temporary failure is retried a few
times within the request's background task; after that the delivery is ``failed`` with the
server's message (``broadcast history --notice signup``) -- a later pass would not know what
to send, and the person can simply sign up again.

The message is transactional (the person asked for it), so it carries no List-Unsubscribe.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

import jinja2

from broadcaster.channels.email import _transport
from broadcaster.channels.email.message import Envelope, Sender
from broadcaster.channels.settings.email import EmailConfig
from broadcaster.config import Secrets
from broadcaster.errors import DeliveryError, NoReply, RetryableError
from broadcaster.ledger import Group, Ledger

log = logging.getLogger("broadcaster.serve")

NOTICE = "signup"
ATTEMPTS = 3
BACKOFF = 2.0  # seconds, doubled each attempt


@dataclass(frozen=True)
class Confirmation:
    """One request's email: who, and the link that confirms it."""

    request_id: str
    address: str
    name: str
    link: str
    language: str | None = None  # the one asked for on the form: its templates, if it has them


class Confirmer:
    """Renders and sends confirmation emails for one ``channels.email`` section."""

    def __init__(
        self,
        section: EmailConfig,
        secrets: Secrets,
        ledger: Ledger,
        pages: jinja2.Environment,
        site: dict[str, str],
        *,
        backoff: float = BACKOFF,
    ) -> None:
        self.section, self.ledger, self.pages, self.site = section, ledger, pages, site
        self.sender = Sender(section.sender, section.reply_to)
        password = secrets.smtp_password.get_secret_value() if secrets.smtp_password else None
        self.password = password
        self.backoff = backoff

    def render(self, confirmation: Confirmation) -> EmailMessage:
        language = confirmation.language
        context = {
            "site": self.site,
            "name": confirmation.name,
            "link": confirmation.link,
            "lang": language or self.site["language"],
        }
        folders = [f"{language}/email", "email"] if language else ["email"]
        parts = {
            ext: self.pages.select_template([f"{folder}/confirm.{ext}" for folder in folders])
            .render(context)
            .strip()
            for ext in ("subject.txt", "txt", "html")
        }
        message = EmailMessage()
        message["From"] = self.section.sender
        if self.section.reply_to:
            message["Reply-To"] = self.section.reply_to
        message["To"] = formataddr((confirmation.name, confirmation.address))
        message["Subject"] = " ".join(parts["subject.txt"].split())
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(confirmation.request_id, self.sender.domain)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(parts["txt"] + "\n")
        message.add_alternative(parts["html"] + "\n", subtype="html")
        if language:  # after the parts: setting content clears every Content-* header
            message["Content-Language"] = language
        return message

    async def send(self, confirmation: Confirmation) -> str:
        """Send it unless this request's email was claimed before; the final state."""
        group = Group(NOTICE, f"confirm@{confirmation.request_id}", "email")
        now = datetime.now(UTC)
        claims = await asyncio.to_thread(
            self.ledger.claim, group, [confirmation.address], None, now
        )
        claim = claims.get(confirmation.address)
        if claim is None:
            return "already handled"
        message = self.render(confirmation)
        envelope = Envelope(
            claim.id,
            self.sender.address,
            confirmation.address,
            str(message["Message-ID"]),
            message.as_bytes(policy=message.policy.clone(linesep="\r\n")),
        )
        await asyncio.to_thread(self.ledger.record, now, starting=[claim.id])
        outcome = await self._attempts(envelope)
        if isinstance(outcome, NoReply):  # it may have arrived: never repeated blindly
            await self._record(unknown=[(claim.id, outcome.message)])
            return "unknown"
        if isinstance(outcome, DeliveryError):
            await self._record(failed=[(claim.id, outcome.message, None)])
            log.warning("confirmation email to a subscriber failed: %s", outcome.message)
            return "failed"
        await self._record(sent=[(claim.id, outcome)])
        return "sent"

    async def _record(self, **outcomes: Any) -> None:
        """Write an outcome without holding up the event loop."""
        await asyncio.to_thread(self.ledger.record, datetime.now(UTC), **outcomes)

    async def _attempts(self, envelope: Envelope) -> dict[str, object] | DeliveryError:
        outcome: dict[str, object] | DeliveryError = RetryableError("not tried")
        for attempt in range(ATTEMPTS):
            outcome = await self._once(envelope)
            final = not isinstance(outcome, RetryableError) or isinstance(outcome, NoReply)
            if final or attempt == ATTEMPTS - 1:
                return outcome
            await asyncio.sleep(self.backoff * 2**attempt)
        return outcome

    async def _once(self, envelope: Envelope) -> dict[str, object] | DeliveryError:
        transport = _transport(self.section, self.sender, self.password)
        try:
            async for _envelope, outcome in transport.send_many([envelope]):
                return outcome
        finally:
            await transport.aclose()
        return RetryableError("the transport gave no outcome")
