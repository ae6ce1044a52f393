"""Fixtures for the fakes' own tests: each fake running on loopback plus an httpx client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx
import pytest

from .base import FakeService
from .bluesky import FakeBluesky
from .mastodon import FakeMastodon
from .server import serve
from .telegram import FakeTelegram

F = TypeVar("F", bound=FakeService)


@dataclass
class Running(Generic[F]):
    """A fake, the base URL it listens on, and a client pointed at it."""

    fake: F
    url: str
    client: httpx.Client


def eventually(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait for the server thread to finish work the client no longer waits for."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@contextmanager
def running(fake: F) -> Iterator[Running[F]]:
    """Serve `fake` and close the client before the server stops."""
    # verify=False: plain http on loopback, and skipping the CA bundle saves ~0.5 s per test
    with serve(fake.app) as url, httpx.Client(base_url=url, timeout=5.0, verify=False) as client:
        yield Running(fake, url, client)


@pytest.fixture
def tg() -> Iterator[Running[FakeTelegram]]:
    with running(FakeTelegram()) as r:
        yield r


@pytest.fixture
def masto() -> Iterator[Running[FakeMastodon]]:
    with running(FakeMastodon()) as r:
        yield r


@pytest.fixture
def bsky() -> Iterator[Running[FakeBluesky]]:
    with running(FakeBluesky()) as r:
        yield r
