"""What the HTTP channels (Telegram, Mastodon, Bluesky) share: one way to call an API and to
turn whatever went wrong into the DeliveryError family.

::

    DeliveryError
    ├── RetryableError     cannot connect, 5xx, 429 (with the server's wait), timeouts
    │   └── NoReply        the request went out but no answer came back: the platform may
    │                      have acted on it, so only a channel with an idempotency key
    │                      (Mastodon) or a client-chosen record key (Bluesky) may retry
    └── PermanentError     4xx: credentials, permissions, rejected content

Error text never carries a credential: messages name the host, never the URL (Telegram's
token is in its path), httpx's own exceptions are never chained, and every message passes
through :meth:`HttpChannel.safe`. The channels use the shared ``httpx.AsyncClient`` from the
dispatcher: each makes one request at a time, far below the ~50 concurrent requests at which
one client's connection pool becomes the bottleneck.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from broadcaster import logs
from broadcaster.channels.base import Channel
from broadcaster.errors import DeliveryError, NoReply, PermanentError, RetryableError

NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
)
INCOMPLETE = (httpx.WriteError, httpx.WriteTimeout, httpx.LocalProtocolError)


class HttpChannel(Channel):
    """Base of the channels that post to a JSON API over the dispatcher's httpx client."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, secrets: Iterable[str]) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc
        self._secrets = sorted(
            {s for s in secrets if len(s) >= logs.MIN_SECRET_LENGTH}, key=len, reverse=True
        )
        #: once the host proved unreachable or silent, the rest of the pass (a channel lives
        #: for one pass) fails at once instead of waiting for a timeout each: never sent, so
        #: safely retried by a later pass
        self._unreachable: str | None = None
        logs.redact_at_source(self._secrets)

    def safe(self, text: str) -> str:
        """``text`` with every credential of this channel replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return logs.BOT_TOKEN_IN_URL.sub("/bot***", text)

    async def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One HTTP request to this channel's API; a transport failure raises a DeliveryError."""
        if self._unreachable:
            raise RetryableError(self._unreachable)
        try:
            return await self.http.request(method, url, **kwargs)
        except NOT_SENT as exc:
            self._unreachable = f"{self.name}: cannot reach {self.host} ({self._reason(exc)})"
            raise RetryableError(self._unreachable) from None
        except INCOMPLETE as exc:
            raise RetryableError(
                f"{self.name}: request to {self.host} failed ({self._reason(exc)})"
            ) from None
        except httpx.TimeoutException as exc:
            self._unreachable = f"{self.name}: {self.host} did not answer in time"
            raise NoReply(f"{self._unreachable} ({self._reason(exc)})") from None
        except httpx.TransportError as exc:
            raise NoReply(
                f"{self.name}: connection to {self.host} lost before the reply ({self._reason(exc)})"
            ) from None
        except httpx.HTTPError as exc:  # an invalid URL and the like: configuration
            raise PermanentError(f"{self.name}: {self._reason(exc)}") from None

    def _reason(self, exc: Exception) -> str:
        detail = str(exc).strip()
        name = type(exc).__name__
        return self.safe(f"{name}: {detail}"[:160] if detail else name)

    def failure(
        self, response: httpx.Response, message: str, retry_after: float | None = None
    ) -> DeliveryError:
        """The error for a non-2xx ``response``: 429, 408 and 5xx retryable, the rest not."""
        text = self.safe(f"{self.name}: {message}")
        if response.status_code == 429:
            return RetryableError(text, retry_after)
        if response.status_code == 408 or response.status_code >= 500:
            return RetryableError(text, retry_after)
        return PermanentError(text)


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The response body as a JSON object; ``{}`` for an HTML error page or anything else."""
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def status_line(response: httpx.Response) -> str:
    """``HTTP 502 Bad Gateway``, for replies without a usable body."""
    return f"HTTP {response.status_code} {response.reason_phrase}".rstrip()


def seconds_until(reset: str | None, *, now: float | None = None) -> float | None:
    """Seconds until a rate-limit reset given as epoch seconds (Bluesky) or ISO-8601 (Mastodon);
    None when absent or unreadable; never negative."""
    if not reset:
        return None
    now = time.time() if now is None else now
    try:
        moment = float(reset)
    except ValueError:
        try:
            moment = datetime.fromisoformat(reset.strip()).timestamp()
        except ValueError:
            return None
    return max(0.0, moment - now)
