"""Fixtures for the fakes' own tests: each fake running on loopback plus an httpx client."""

from __future__ import annotations

from collections.abc import Iterator
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
