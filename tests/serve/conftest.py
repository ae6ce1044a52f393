"""Fixtures for ``broadcast serve``: a project (config, subscriber CSV, banner folder,
SQLite ledger), a real SMTP server (aiosmtpd on 127.0.0.1) for the confirmation emails, and
the application itself driven through httpx's ASGI transport (the real app, in process;
the answer comes back once the app is done, background tasks included).

A browser or a load test uses :class:`LiveServer`: the same app under uvicorn on
127.0.0.1, in a thread of its own.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from broadcaster import config as config_module
from broadcaster.config import Loaded, Secrets
from broadcaster.ledger import Ledger
from broadcaster.serve.app import Serve, build_state, create_app
from tests.channels.conftest import SinkHandler, SmtpSink

UNSUBSCRIBE_SECRET = "test-unsubscribe-secret-0123456789"
SERVE_SECRET = "test-serve-secret-0123456789-abcdefghij"
SITE = "https://www.glow-aesthetics.example"
CONFIG = """\
site:
  name: "Glow Aesthetics"
  url: "{site}"
  timezone: "Asia/Singapore"
closures:
  - start: 2024-03-26
    end: 2024-03-27
    reason: "our annual team bonding event"
articles:
  items:
    - title: "Can Botox Treat Depression? Here’s the Science"
      url: "https://www.glow-aesthetics.example/blog/botox-depression/"
      published: 2024-03-21T08:00:00+08:00
channels:
  banner:
    output_dir: "{root}/site/notices"
  email:
    transport: smtp
    host: "127.0.0.1"
    port: {smtp_port}
    security: none
    from: "Glow Aesthetics <hello@glow-aesthetics.example>"
    subscribers: "{root}/subscribers.csv"
    unsubscribe_url: "https://notices.glow-aesthetics.example/unsubscribe?token={{token}}"
    timeout: 10
database: "sqlite:///{root}/ledger.db"
serve:
  public_url: "{public_url}"
  allowed_origins: {origins}
  rate_limit:
    per_ip_per_hour: {per_ip}
    per_address_per_hour: 3
"""
LINK = re.compile(r"https?://\S+/confirm\?token=[A-Za-z0-9_.-]+")


@dataclass
class Project:
    root: Path
    config: Path
    sink: SmtpSink

    def loaded(self) -> Loaded:
        return config_module.load(self.config)

    def ledger(self) -> Ledger:
        return Ledger(f"sqlite:///{self.root / 'ledger.db'}")

    def confirmation_link(self, address: str) -> str:
        """The link in the confirmation email ``address`` received (the only one)."""
        mails = [m for m in self.sink.handler.received if address in m.rcpt_tos]
        assert len(mails) == 1, f"{len(mails)} confirmation emails to {address}"
        body = mails[0].message.get_body(("plain",))
        assert body is not None
        found = LINK.search(body.get_content())
        assert found, body.get_content()
        return found.group(0)


def write_config(
    root: Path,
    smtp_port: int,
    public_url: str = "http://127.0.0.1:8080",
    origins: list[str] | None = None,
    per_ip: int = 20,
) -> Path:
    (root / "subscribers.csv").write_text("email,name\nann@example.com,Ann\n", encoding="utf-8")
    path = root / "broadcaster.yaml"
    path.write_text(
        CONFIG.format(
            site=SITE,
            root=root,
            smtp_port=smtp_port,
            public_url=public_url,
            origins=origins or [],
            per_ip=per_ip,
        ).replace("'", '"'),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BROADCAST_EMAIL_UNSUBSCRIBE_SECRET", UNSUBSCRIBE_SECRET)
    monkeypatch.setenv("BROADCAST_SERVE_SECRET", SERVE_SECRET)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink(SinkHandler()) as running:
        yield running


@pytest.fixture
def project(tmp_path: Path, sink: SmtpSink, secrets_env: None) -> Project:
    return Project(tmp_path, write_config(tmp_path, sink.port), sink)


def serve_state(project: Project, ledger: Ledger) -> Serve:
    state = build_state(project.loaded(), Secrets(), ledger)
    if state.confirmer is not None:
        state.confirmer.backoff = 0.01
    return state


@pytest.fixture
def state(project: Project) -> Iterator[Serve]:
    ledger = project.ledger()
    try:
        yield serve_state(project, ledger)
    finally:
        ledger.close()


def asgi_client(state: Serve, root_path: str = "") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(state), root_path=root_path)
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080")


@pytest.fixture
async def client(state: Serve) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(state) as running:
        yield running


async def form_token(client: httpx.AsyncClient, path: str = "/subscribe") -> str:
    """The form token in the page at ``path``."""
    found = re.search(r'name="csrf" value="([^"]+)"', (await client.get(path)).text)
    assert found
    return found.group(1)


async def sign_up(client: httpx.AsyncClient, email: str, **fields: Any) -> httpx.Response:
    data = {"csrf": await form_token(client), "email": email, "topics": "all", **fields}
    return await client.post("/subscribe", data=data)


class LiveServer:
    """The app under uvicorn on 127.0.0.1:<free port>, in a thread with its own loop."""

    def __init__(self, loaded: Loaded, ledger: Ledger, sock: socket.socket) -> None:
        self.loaded, self.ledger, self.sock = loaded, ledger, sock
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        from broadcaster.serve.server import start

        self.thread.start()

        async def begin() -> Any:
            running = start(self.loaded, Secrets(), self.ledger, self.sock)
            while not running.server.started:
                await asyncio.sleep(0.01)
            return running

        self.running = asyncio.run_coroutine_threadsafe(begin(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.running.stop()
        asyncio.run_coroutine_threadsafe(self.running.wait(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def free_socket() -> socket.socket:
    return socket.create_server(("127.0.0.1", 0))
