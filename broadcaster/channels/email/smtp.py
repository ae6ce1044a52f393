"""SMTP: a small pool of persistent connections, each carrying many messages, pipelined.

aiosmtplib opens every connection -- TCP or TLS, greeting, EHLO, STARTTLS, AUTH -- and then
hands the socket to :class:`_Replies`, a reader that lets several commands be outstanding:
aiosmtplib itself waits for each reply before the next command, so it cannot pipeline.
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
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Literal, cast

import aiosmtplib

from broadcaster.channels.email.message import Envelope
from broadcaster.channels.email.transport import Outcome
from broadcaster.errors import DeliveryError, NoReply, PermanentError, RetryableError

COOL_OFF = 30.0  # seconds without connection attempts after one failed
SETUP_RETRY = 3600.0  # retry_after when the sender's configuration must be fixed first
DOWN_RETRY = 60.0  # retry_after while the server cannot be reached
MAX_REPLY = 65536
DOT_LINE = re.compile(rb"^\.", re.MULTILINE)
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


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


class _Lost(Exception):
    """The connection is gone: closed, reset, garbled or silent for too long."""


class _Replies(asyncio.Protocol):
    """Splits the server's byte stream into replies, however many are outstanding."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._buffer = bytearray()
        self._lines: list[str] = []
        self._ready: deque[Reply] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._lost: str | None = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\n")) >= 0:
            line = bytes(self._buffer[:end]).rstrip(b"\r")
            del self._buffer[: end + 1]
            if not line[:3].isdigit():
                self._lose(f"garbled reply {line[:40]!r}")
                self.transport.close()
                return
            self._lines.append(line[4:].decode("utf-8", "replace").strip())
            if line[3:4] != b"-":
                self._ready.append(Reply(int(line[:3]), " ".join(self._lines)))
                self._lines = []
        if len(self._buffer) > MAX_REPLY:
            self._lose("reply too long")
            self.transport.close()
        self._wake()

    def eof_received(self) -> bool:
        self._lose("the server closed the connection")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lose(f"connection lost ({exc})" if exc else "connection closed")

    async def read(self, timeout: float) -> Reply:
        while not self._ready:
            if self._lost is not None:
                raise _Lost(self._lost)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await self._waiter
            except TimeoutError:
                self._lose(f"no reply within {timeout:g}s")
                self.transport.close()
        return self._ready.popleft()

    def _lose(self, reason: str) -> None:
        self._lost = self._lost or reason
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class _Session:
    """One open connection: its reply reader and how many messages it has carried."""

    def __init__(self, smtp: aiosmtplib.SMTP, settings: SmtpSettings) -> None:
        assert smtp.transport is not None
        self.smtp = smtp
        self.transport = cast(asyncio.Transport, smtp.transport)
        self.replies = _Replies(self.transport)
        self.transport.set_protocol(self.replies)
        self.pipelining = smtp.supports_extension("pipelining")
        self.timeout = settings.timeout
        self.limit = settings.messages_per_connection
        self.sent = 0
        self.presented: Envelope | None = None  # whose MAIL/RCPT/DATA are already written

    @property
    def alive(self) -> bool:
        return not self.transport.is_closing()

    def room_for_two(self) -> bool:
        return self.sent + 2 <= self.limit

    def write(self, data: bytes) -> None:
        if self.transport.is_closing():
            raise _Lost("connection closed")
        self.transport.write(data)

    async def open(self, envelope: Envelope) -> tuple[str, Reply] | None:
        """Start the transaction; None when the server waits for content, else the refusal."""
        commands = _commands(envelope)
        if self.pipelining and self.presented is not envelope:
            self.write(b"".join(commands))
        self.presented = None
        for stage, command, wanted in zip(
            ("MAIL", "RCPT", "DATA"), commands, (2, 2, 3), strict=True
        ):
            if not self.pipelining:
                self.write(command)
            reply = await self.replies.read(self.timeout)
            if reply.code // 100 != wanted:
                await self._abandon(reply, remaining=2 - ("MAIL", "RCPT", "DATA").index(stage))
                return stage, reply
        return None

    def send_content(self, envelope: Envelope, following: Envelope | None) -> None:
        data = DOT_LINE.sub(b"..", envelope.data) + b".\r\n"
        if following is not None:
            data += b"".join(_commands(following))
            self.presented = following
        self.write(data)
        self.sent += 1

    async def _abandon(self, reply: Reply, remaining: int) -> None:
        """After a refusal: read the replies still due (pipelined), then RSET."""
        if reply.code == 421:
            self.transport.close()
            return
        if self.pipelining:
            for _ in range(remaining):
                if (await self.replies.read(self.timeout)).code == 354:
                    self.transport.close()  # DATA accepted after all: never send an empty message
                    return
        self.write(b"RSET\r\n")
        await self.replies.read(self.timeout)

    async def quit(self) -> None:
        try:
            if self.alive:
                self.write(b"QUIT\r\n")
                await self.replies.read(min(self.timeout, 5.0))
        except _Lost:
            pass
        finally:
            self.close()

    def close(self) -> None:
        self.smtp.close()


class SmtpTransport:
    """Sends envelopes over up to ``connections`` persistent connections at once."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._sessions: list[_Session | None] = [None] * settings.connections
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
            except _Lost as lost:
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

    async def _session(self, slot: int) -> _Session | DeliveryError:
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

    async def _connect(self) -> _Session:
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
        return _Session(smtp, s)

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


def _commands(envelope: Envelope) -> tuple[bytes, bytes, bytes]:
    return (
        b"MAIL FROM:<" + envelope.sender.encode("ascii") + b">\r\n",
        b"RCPT TO:<" + envelope.recipient.encode("ascii") + b">\r\n",
        b"DATA\r\n",
    )


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
