"""SMTP: a small pool of persistent connections, each carrying many messages, pipelined.

aiosmtplib opens every connection -- TCP or TLS, greeting, EHLO, STARTTLS, AUTH -- and then
hands the socket to a reader that lets several commands be outstanding
(:mod:`broadcaster.channels.email.smtp_session`): aiosmtplib itself waits for each reply
before the next command, so it cannot pipeline.
On a server that offers PIPELINING (RFC 2920; Postfix, Gmail and SES all do), a message is
two writes -- ``MAIL, RCPT, DATA`` then the content, ``.``, and already the *next* message's
``MAIL, RCPT, DATA`` -- so each message costs one round trip instead of four. Without
PIPELINING the same code sends one command at a time.

Every reply maps onto one outcome::

    250 to the content              sent: receipt {message_id, reply}
    4xx anywhere                    RetryableError: tried again later, with backoff
    5xx to RCPT or the content      PermanentError: this recipient only
    5.7.x, or 5xx to MAIL           RetryableError in an hour: the sending setup (relay,
                                    login, SPF/DKIM) is wrong, so no recipient is failed for it
    connection lost before content  back in the queue once: reconnect and carry on
    connection lost after content   NoReply "unconfirmed": it may have arrived, so the
                                    delivery is ``unknown``, as on every channel, and never sent
                                    again by itself (never twice beats at least once)
    cannot connect or log in        RetryableError; the pool then rests COOL_OFF seconds and
                                    fails the rest fast, so a dead server cannot stall a pass
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import aiosmtplib

from broadcaster.channels.email.message import Envelope
from broadcaster.channels.email.smtp_session import Lost, Reply, Session
from broadcaster.channels.email.transport import Outcome
from broadcaster.errors import DeliveryError, NoReply, PermanentError, RetryableError

COOL_OFF = 30.0  # seconds without connection attempts after one failed
SETUP_RETRY = 3600.0  # retry_after when the sender's configuration must be fixed first
DOWN_RETRY = 60.0  # retry_after while the server cannot be reached
Emit = Callable[[Envelope, Outcome], None]


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Literal["none", "starttls", "tls"]
    helo: str  # our name in EHLO (never looked up in DNS)
    username: str | None = None
    password: str | None = None
    connections: int = 4
    messages_per_connection: int = 500
    timeout: float = 30.0


class SmtpTransport:
    """Sends envelopes over up to ``connections`` persistent connections at once."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._sessions: list[Session | None] = [None] * settings.connections
        self._resting_until = 0.0
        self._down = ""

    async def send_many(
        self, envelopes: Iterable[Envelope]
    ) -> AsyncIterator[tuple[Envelope, Outcome]]:
        """Each connection takes the next envelope when it is ready for one, so building a
        message overlaps with waiting for the server's replies."""
        queue = _Queue(envelopes)
        results: asyncio.Queue[tuple[Envelope, Outcome] | BaseException | None] = asyncio.Queue()
        workers = [
            asyncio.create_task(self._worker(slot, queue, results))
            for slot in range(self.settings.connections)
        ]
        running, finished = len(workers), False
        try:
            while running:
                item = await results.get()
                if item is None:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
            finished = True
        finally:
            if not finished:
                for worker in workers:
                    worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def check(self) -> str:
        session = await self._connect()
        settings = self.settings
        login = f", logged in as {settings.username}" if settings.username else ""
        offers = "PIPELINING" if session.pipelining else "no PIPELINING"
        await session.quit()
        return f"SMTP {settings.host}:{settings.port} ({settings.security}{login}; {offers})"

    async def aclose(self) -> None:
        sessions = [s for s in self._sessions if s is not None]
        self._sessions = [None] * self.settings.connections
        await asyncio.gather(*(s.quit() for s in sessions), return_exceptions=True)

    async def _worker(
        self,
        slot: int,
        queue: _Queue,
        results: asyncio.Queue[tuple[Envelope, Outcome] | BaseException | None],
    ) -> None:
        try:
            await self._work(slot, queue, lambda e, o: results.put_nowait((e, o)))
        except asyncio.CancelledError:
            self._drop(slot)
            raise
        except Exception as exc:  # a bug: surface it instead of hanging the batch
            self._drop(slot)
            results.put_nowait(exc)
        results.put_nowait(None)

    async def _work(self, slot: int, queue: _Queue, emit: Emit) -> None:
        carried: Envelope | None = None
        while (envelope := carried or queue.take()) is not None:
            carried = following = None
            session = await self._session(slot)
            if isinstance(session, DeliveryError):
                emit(envelope, session)
                continue
            content_sent = False
            try:
                refusal = await session.open(envelope)
                if refusal is not None:
                    emit(envelope, _refused(*refusal))
                    continue
                if session.pipelining and session.room_for_two():
                    following = queue.take()
                session.send_content(envelope, following)
                content_sent = True
                reply = await session.replies.read(session.timeout)
            except Lost as lost:
                self._drop(slot)
                if following is not None:
                    queue.put_back(following)
                if content_sent:
                    emit(envelope, _unconfirmed(str(lost)))
                elif not queue.put_back(envelope, once=True):
                    emit(envelope, RetryableError(f"connection lost twice before sending: {lost}"))
                continue
            ok = reply.code // 100 == 2
            emit(envelope, _receipt(envelope, reply) if ok else _refused("message", reply))
            carried = following
            if not session.alive or (carried is None and session.sent >= session.limit):
                await self._retire(slot)

    async def _session(self, slot: int) -> Session | DeliveryError:
        session = self._sessions[slot]
        if session is not None and session.alive:
            return session
        self._sessions[slot] = None
        if time.monotonic() < self._resting_until:
            return RetryableError(
                f"{self._down} (not retrying for a while)", retry_after=DOWN_RETRY
            )
        try:
            session = await self._connect()
        except DeliveryError as exc:
            self._down, self._resting_until = exc.message, time.monotonic() + COOL_OFF
            return exc
        self._sessions[slot] = session
        return session

    async def _connect(self) -> Session:
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            username=s.username,
            password=s.password,
            local_hostname=s.helo,
            timeout=s.timeout,
        )
        try:
            await smtp.connect()
            if smtp.is_ehlo_or_helo_needed:
                await smtp.ehlo()
        except aiosmtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise RetryableError(
                f"SMTP login as {s.username} refused ({exc.code} {exc.message}); "
                "check username and BROADCAST_SMTP_PASSWORD",
                retry_after=SETUP_RETRY,
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            smtp.close()
            raise RetryableError(f"cannot connect to SMTP {s.host}:{s.port}: {exc}") from None
        return Session(smtp, timeout=s.timeout, limit=s.messages_per_connection)

    async def _retire(self, slot: int) -> None:
        session, self._sessions[slot] = self._sessions[slot], None
        if session is not None:
            await session.quit()

    def _drop(self, slot: int) -> None:
        session, self._sessions[slot] = self._sessions[slot], None
        if session is not None:
            session.close()


class _Queue:
    """The envelopes still to send: a lazy source, and those put back after a lost line."""

    def __init__(self, envelopes: Iterable[Envelope]) -> None:
        self._source = iter(envelopes)
        self._back: deque[Envelope] = deque()
        self._put_back_once: set[int] = set()

    def take(self) -> Envelope | None:
        return self._back.popleft() if self._back else next(self._source, None)

    def put_back(self, envelope: Envelope, *, once: bool = False) -> bool:
        """Send it again on the next free connection; with ``once``, only the first time."""
        if once:
            if envelope.ref in self._put_back_once:
                return False
            self._put_back_once.add(envelope.ref)
        self._back.appendleft(envelope)
        return True


def _receipt(envelope: Envelope, reply: Reply) -> Outcome:
    return {"message_id": envelope.message_id, "reply": str(reply)[:160]}


def _refused(stage: str, reply: Reply) -> DeliveryError:
    text = f"{stage} refused: {reply}"
    if reply.code < 500:
        return RetryableError(text)
    if stage == "MAIL" or reply.text.startswith("5.7."):
        return RetryableError(
            f"{text} -- the sending setup (relay, login, SPF/DKIM) needs fixing, "
            "not this recipient",
            retry_after=SETUP_RETRY,
        )
    return PermanentError(text)


def _unconfirmed(reason: str) -> NoReply:
    """The content went out and no reply came: the server may have queued it (``unknown``)."""
    return NoReply(
        f"unconfirmed: {reason} after the message was sent; it may have arrived, "
        "so it is not sent again"
    )
