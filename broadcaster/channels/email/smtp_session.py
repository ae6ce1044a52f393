"""One SMTP connection after its greeting and login, with several commands outstanding.

aiosmtplib waits for each reply before the next command, so once it has connected (TLS,
EHLO, STARTTLS, AUTH) the socket is handed to :class:`Replies`, which splits the server's
stream into replies however many are due; :class:`Session` writes a message's ``MAIL, RCPT,
DATA`` at once where the server offers PIPELINING (RFC 2920), one at a time where it does not.
What the replies *mean* is :mod:`broadcaster.channels.email.smtp`'s.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from dataclasses import dataclass
from typing import cast

import aiosmtplib

from broadcaster.channels.email.message import Envelope

MAX_REPLY = 65536
DOT_LINE = re.compile(rb"^\.", re.MULTILINE)


def dot_stuffed(data: bytes) -> bytes:
    """``data`` with a dot doubled at the start of each line (RFC 5321 4.5.2). Most messages
    have none: looking is a tenth of what the substitution costs on every message."""
    if data.startswith(b".") or b"\n." in data:
        return DOT_LINE.sub(b"..", data)
    return data


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


class Lost(Exception):
    """The connection is gone: closed, reset, garbled or silent for too long."""


class Replies(asyncio.Protocol):
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
                raise Lost(self._lost)
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


class Session:
    """One open connection: its reply reader and how many messages it has carried."""

    def __init__(self, smtp: aiosmtplib.SMTP, *, timeout: float, limit: int) -> None:
        assert smtp.transport is not None
        self.smtp = smtp
        self.transport = cast(asyncio.Transport, smtp.transport)
        self.replies = Replies(self.transport)
        self.transport.set_protocol(self.replies)
        self.pipelining = smtp.supports_extension("pipelining")
        self.timeout = timeout
        self.limit = limit  # messages per connection, then it is retired
        self.sent = 0
        self.presented: Envelope | None = None  # whose MAIL/RCPT/DATA are already written

    @property
    def alive(self) -> bool:
        return not self.transport.is_closing()

    def room_for_two(self) -> bool:
        return self.sent + 2 <= self.limit

    def write(self, data: bytes) -> None:
        if self.transport.is_closing():
            raise Lost("connection closed")
        self.transport.write(data)

    async def open(self, envelope: Envelope) -> tuple[str, Reply] | None:
        """Start the transaction; None when the server waits for content, else the refusal."""
        lines = commands(envelope)
        if self.pipelining and self.presented is not envelope:
            self.write(b"".join(lines))
        self.presented = None
        for stage, command, wanted in zip(("MAIL", "RCPT", "DATA"), lines, (2, 2, 3), strict=True):
            if not self.pipelining:
                self.write(command)
            reply = await self.replies.read(self.timeout)
            if reply.code // 100 != wanted:
                await self._abandon(reply, remaining=2 - ("MAIL", "RCPT", "DATA").index(stage))
                return stage, reply
        return None

    def send_content(self, envelope: Envelope, following: Envelope | None) -> None:
        data = dot_stuffed(envelope.data) + b".\r\n"
        if following is not None:
            data += b"".join(commands(following))
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
        except Lost:
            pass
        finally:
            self.close()

    def close(self) -> None:
        self.smtp.close()


def commands(envelope: Envelope) -> tuple[bytes, bytes, bytes]:
    """MAIL, RCPT and DATA for one envelope."""
    return (
        b"MAIL FROM:<" + envelope.sender.encode("ascii") + b">\r\n",
        b"RCPT TO:<" + envelope.recipient.encode("ascii") + b">\r\n",
        b"DATA\r\n",
    )
