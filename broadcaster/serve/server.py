"""uvicorn serving the application inside an event loop someone else owns (``serve`` or
the worker), on a socket bound before anything starts so a port in use is one clear error."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn

from broadcaster.config import Loaded, Secrets
from broadcaster.errors import SetupError
from broadcaster.ledger import Ledger
from broadcaster.serve.app import Serve, build_state, create_app

log = logging.getLogger("broadcaster.serve")


class Server(uvicorn.Server):
    """uvicorn without its own signal handling: the process (serve, or the worker) owns
    SIGTERM/SIGINT and stops the server with ``should_exit``."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Running:
    """A server started in the current event loop."""

    def __init__(self, server: Server, task: asyncio.Task[None], url: str) -> None:
        self.server, self.task, self.url = server, task, url

    def stop(self) -> None:
        self.server.should_exit = True

    async def wait(self) -> None:
        await self.task


def start(
    loaded: Loaded, secrets: Secrets, ledger: Ledger, sock: socket.socket | None = None
) -> Running:
    """Build the app (SetupError if it cannot run), bind, and start serving in this loop."""
    state = build_state(loaded, secrets, ledger)
    settings = state.settings
    _log_what_is_off(state)
    if sock is None:
        sock = _bind(settings.host, settings.port)
    config = uvicorn.Config(
        create_app(state),
        proxy_headers=True,
        forwarded_allow_ips=",".join(settings.trusted_proxies),
        root_path=settings.path_prefix,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="off",
    )
    server = Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    host, port = sock.getsockname()[:2]
    log.info("serving %s on %s:%s", settings.public_url, host, port)
    return Running(server, task, f"http://{host}:{port}")


def _bind(host: str, port: int) -> socket.socket:
    try:
        return socket.create_server((host, port))
    except OSError as exc:
        raise SetupError(
            f"serve {host}:{port}",
            f"cannot listen: {exc.strerror or exc}",
            "another program may use the port: set serve.port",
        ) from None


def _log_what_is_off(state: Serve) -> None:
    if state.confirmer is None:
        log.warning("sign-up is off: it needs channels.email (and serve.signup: true)")
    if state.unsubscribe_key is None:
        log.warning(
            "one-click unsubscribe is off: set BROADCAST_EMAIL_UNSUBSCRIBE_SECRET, the key "
            "that signs the links in the emails"
        )
