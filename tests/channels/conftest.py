"""Fixtures for channel tests.

Email: a real SMTP server (aiosmtpd) on 127.0.0.1 with an ephemeral port, run in a thread
with its own event loop so both async tests and ``broadcast`` subprocesses can talk to it.
Its handler records every accepted message and can be told to misbehave for chosen
recipients: answer 4xx/5xx, drop the connection before or after the content, or take its
time over each reply.
"""

from __future__ import annotations

import asyncio
import email
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SinkHandler:
    """Accepts everything unless told otherwise; all fields may be changed while it runs."""

    pipelining: bool = True
    latency: float = 0.0  # seconds before answering each message's content
    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)  # address -> replies, in turn
    data_replies: dict[str, str] = field(default_factory=dict)  # address -> reply to the content
    drop_at_rcpt: set[str] = field(default_factory=set)  # once: cut the line at this RCPT
    drop_after_data: set[str] = field(default_factory=set)  # once: keep the message, never reply
    password: str | None = None  # when set, AUTH must use it
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    closed: int = 0  # connections the server has seen end: nothing more arrives on them
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.drop_at_rcpt:
            self.drop_at_rcpt.discard(address)
            server.transport.abort()
            return "421 gone"
        replies = self.rcpt_replies.get(address)
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.latency:
            await asyncio.sleep(self.latency)
        rcpt = envelope.rcpt_tos[0]
        if rcpt in self.data_replies:
            return self.data_replies[rcpt]
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content)
            )
        if rcpt in self.drop_after_data:
            self.drop_after_data.discard(rcpt)
            server.transport.abort()
        return "250 2.0.0 Ok: queued"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = auth_data.password.decode() == self.password
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def per_address(self) -> Counter[str]:
        with self.lock:
            return Counter(r for m in self.received for r in m.rcpt_tos)

    def messages(self) -> dict[str, Received]:
        with self.lock:
            return {m.rcpt_tos[0]: m for m in self.received}


class _CountingSMTP(SMTP):
    """aiosmtpd's server, counting the connections that ended (see SmtpSink.wait_idle)."""

    def __init__(self, handler: SinkHandler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.sink_handler = handler

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        with self.sink_handler.lock:
            self.sink_handler.closed += 1


class SmtpSink:
    """aiosmtpd on 127.0.0.1:<ephemeral>, in a background thread."""

    def __init__(self, handler: SinkHandler) -> None:
        self.handler = handler
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.protocols: list[SMTP] = []
        self.port = 0

    def __enter__(self) -> SmtpSink:
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(10)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _serve(self) -> asyncio.Server:
        return await self.loop.create_server(self._protocol, "127.0.0.1", 0)

    def _protocol(self) -> SMTP:
        handler = self.handler
        handler.connections += 1
        smtp = _CountingSMTP(
            handler,
            hostname="sink.test",
            loop=self.loop,
            auth_require_tls=False,
            authenticator=handler.authenticate if handler.password else None,
        )
        self.protocols.append(smtp)
        return smtp

    async def _shutdown(self) -> None:
        self.server.close()
        await self.server.wait_closed()
        for smtp in self.protocols:
            if smtp.transport is not None:
                smtp.transport.close()
        tasks = [t for t in asyncio.all_tasks(self.loop) if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until every connection the server accepted has ended: whatever a client (even
        a killed one) had sent is then either received or lost for good."""
        deadline = time.monotonic() + timeout
        while self.handler.closed < self.handler.connections:
            open_ = self.handler.connections - self.handler.closed
            assert time.monotonic() < deadline, f"{open_} connections still open"
            time.sleep(0.02)

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.handler.count() < count:
            assert time.monotonic() < deadline, f"only {self.handler.count()} of {count} arrived"
            time.sleep(0.02)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink(SinkHandler()) as running:
        yield running
