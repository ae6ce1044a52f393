"""What stands between the open internet and the sign-up form: rate limits, a cap on request
bodies, and the check that a form was posted from a page allowed to post it.

The rate limits are kept in the process's memory (a sliding window per key): enough for one
``broadcast serve`` behind a proxy, which is what a clinic runs. Several processes each keep
their own count, so the effective limit multiplies by their number.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: a form post is a few hundred bytes; anything much larger is not one of ours
MAX_BODY = 16 * 1024


class RateLimiter:
    """At most ``limit`` events per key within ``window`` seconds (a sliding window)."""

    MAX_KEYS = 100_000  # memory stays bounded under a flood of distinct keys

    def __init__(
        self, limit: int, window: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        """Count an event for ``key`` if it is within the limit; False (not counted) if not."""
        now = self.clock()
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
            while len(self._events) > self.MAX_KEYS:
                self._events.popitem(last=False)
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        self._events.move_to_end(key)
        return True

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again."""
        events = self._events.get(key)
        if not events:
            return 0
        return max(1, int(events[0] + self.window - self.clock()) + 1)


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is answered 413 unread."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await _too_large(send)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    body = b"Request body too large\n"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def origin_of(url: str) -> str | None:
    """``https://clinic.example:8443/a/b`` -> ``https://clinic.example:8443``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def posted_from_allowed_page(
    headers: MutableMapping[str, str] | Any, own_origin: str, allowed: Iterable[str]
) -> bool:
    """CSRF's first check: a browser names the page that posts (``Origin``, else ``Referer``);
    it must be this application or a site allowed to embed its forms. A request naming
    neither comes from no browser page (a script), and is left to the form token."""
    claimed = headers.get("origin") or headers.get("referer")
    if not claimed or claimed == "null":
        return not claimed
    origin = origin_of(claimed)
    return origin is not None and (origin == own_origin or origin in set(allowed))
