"""Run fake API servers on loopback for tests, and the low-level faults they need.

The fakes are real HTTP servers (uvicorn in a thread) rather than mocked transports, so the
client code under test exercises its actual httpx stack: timeouts, dropped connections and
connection reuse behave as they would against the real services.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

HOST = "127.0.0.1"
TRANSPORT_KEY = "fakes.transport"
STOPPING_KEY = "fakes.stopping"
_START_TIMEOUT = 10.0


def _protocol_class(stopping: threading.Event) -> type[H11Protocol]:
    """An h11 protocol that hands the app its TCP transport and the server's stop flag.

    ASGI has no way to abort a connection without a response; exposing the transport in the
    scope lets a fake close the socket mid-request, which the client sees as a lost response.
    """

    class _FakeProtocol(H11Protocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            inner = self.app

            async def app(scope: Scope, receive: Receive, send: Send) -> None:
                scope[TRANSPORT_KEY] = self.transport
                scope[STOPPING_KEY] = stopping
                await inner(scope, receive, send)

            self.app = cast(Any, app)

    return _FakeProtocol


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 at an ephemeral port; yield its base URL; stop it on exit."""
    stopping = threading.Event()
    config = uvicorn.Config(
        app,
        host=HOST,
        port=0,
        http=_protocol_class(stopping),
        ws="none",
        lifespan="off",
        loop="asyncio",
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    errors: list[BaseException] = []
    thread = threading.Thread(target=_run, args=(server, errors), name="fake-api", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{_wait_for_port(server, thread, errors)}"
    finally:
        stopping.set()
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT)
    if errors:
        raise RuntimeError("fake server crashed") from errors[0]


def _run(server: uvicorn.Server, errors: list[BaseException]) -> None:
    """Thread body: keep any crash for the main thread instead of an unhandled-thread warning."""
    try:
        server.run()
    except BaseException as exc:  # re-raised by serve()
        errors.append(exc)


def _wait_for_port(server: uvicorn.Server, thread: threading.Thread, errors: list[Any]) -> int:
    """Block until uvicorn is listening, then read the port the OS picked."""
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if errors or not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("fake server failed to start") from (errors[0] if errors else None)
        time.sleep(0.01)
    return int(server.servers[0].sockets[0].getsockname()[1])


class DropConnection(Response):
    """A 'response' that closes the socket without a status line, like a lost reply.

    The client sees a transport error (httpx.RemoteProtocolError) even though the server may
    already have acted on the request; that is the case idempotency keys exist for.
    """

    def __init__(self) -> None:
        super().__init__(status_code=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = scope.get(TRANSPORT_KEY)
        if transport is None:
            raise RuntimeError("DropConnection needs the app to run under tests.fakes.server.serve")
        transport.close()
        while (await receive())["type"] != "http.disconnect":
            pass


async def pause(request: Request, seconds: float) -> None:
    """Sleep like a slow server, but stop early once the client gave up or the server stops.

    A real server keeps processing after the client times out, so callers carry on with the
    request afterwards; stopping early only keeps the test run and shutdown fast.
    """
    await request.body()  # is_disconnected() would otherwise swallow the body message
    stopping = request.scope.get(STOPPING_KEY)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if await request.is_disconnected() or (stopping is not None and stopping.is_set()):
            return
        await asyncio.sleep(min(left, 0.02))
