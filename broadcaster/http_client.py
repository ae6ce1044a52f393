"""The HTTP client a command shares, whose connection pool is made by its first request.

httpx makes a client's connection pool, and with it the TLS context (certifi's bundle of
certificate authorities read and parsed: 50 ms), when the client is made. A command whose
channels and feeds never go online -- ``validate`` or ``run`` with the banner, email and a
local feed -- paid that for nothing. Here httpx makes the same transport, with the same
options, when the first request is sent; proxies from the environment are still httpx's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx


class _FirstUse(httpx.AsyncBaseTransport):
    """A transport made when the first request goes out (asyncio: no request can race it)."""

    def __init__(self, make: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._make = make
        self._made: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._made is None:
            self._made = self._make()
        return await self._made.handle_async_request(request)

    async def aclose(self) -> None:
        if self._made is not None:
            await self._made.aclose()


class Client(httpx.AsyncClient):
    """``httpx.AsyncClient`` whose own transport is made at its first request.

    Should httpx stop calling the hook below, the transport is simply made at once again."""

    def _init_transport(self, *args: Any, **options: Any) -> httpx.AsyncBaseTransport:
        if args or options.get("transport") is not None:  # not ours to defer
            return super()._init_transport(*args, **options)
        return _FirstUse(lambda: super(Client, self)._init_transport(**options))


def http_client(user_agent: str) -> Client:
    """The client of one process: 20 s to connect, read or write, and our User-Agent."""
    return Client(timeout=httpx.Timeout(20.0), headers={"User-Agent": user_agent})
