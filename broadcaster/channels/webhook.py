"""Signed webhooks: each notice as a JSON document, POSTed to every subscriber URL once.

For a clinic's own systems (a WordPress plugin, a kiosk screen). Each URL is a target in the
ledger, keyed by its host and a digest of the whole URL (a URL may carry a token, so it is
never stored, logged or reported). A delivery is::

    POST <url>
    Content-Type: application/json
    Idempotency-Key: closure-2024-03-26/announce/webhook/hooks.example#3f2a9c1d2e4b5a6f/0
    X-Broadcaster-Signature: t=1710896400,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

    {"id": ..., "kind": "closure", "occasion": "announce", "texts": {...}, "links": {...},
     "facts": {"kind": "closure", "start": ..., "end": ..., "outlets": [...], "hours": null, ...},
     "closure": {...the same facts, for receivers written before "facts"},
     "delivery": "<the Idempotency-Key>", "sent_at": "2024-03-20T01:00:00+00:00", ...}

The signature is Stripe's scheme: HMAC-SHA256, keyed with BROADCAST_WEBHOOK_SECRET, over
``"<t>." + body`` (the exact bytes sent), hex-encoded. ``t`` is the sending time, so a
receiver refuses a replayed request once it is older than its tolerance; a retry is signed
anew, and carries the same ``Idempotency-Key`` so a receiver can tell it already has it.
Receivers check with :func:`verify_signature` (or its ten lines, in any language).

Many URLs are posted to at once (``concurrency``, default 16), at most ``per_host`` (4) to
one host, so a slow receiver holds one slot and the list goes on. The requests are spread
over a few HTTP clients by host (one client per CONNECTIONS_PER_CLIENT slots): httpx's
connection pool slows down when one pool serves many requests at once.

Outcomes: 2xx sent; 410 Gone permanent (the subscriber is gone: remove the URL); 408, 429
(with Retry-After) and 5xx retried, and so are timeouts and lost replies, since the
idempotency key makes a second copy harmless; every other status is permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from broadcaster.channels.base import ALWAYS, Channel, Outgoing, Receipt, Skipped, Target
from broadcaster.channels.http_api import INCOMPLETE, NOT_SENT
from broadcaster.config import Site
from broadcaster.errors import NoReply, PermanentError, RetryableError
from broadcaster.http_client import Client
from broadcaster.notices.base import about_days

if TYPE_CHECKING:
    from broadcaster.channels import Deps
    from broadcaster.channels.settings.webhook import WebhookConfig

SIGNATURE_HEADER = "X-Broadcaster-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE = 300  # seconds a receiver should accept a signature for
SCHEMA = "broadcaster.notice/1"
#: requests in flight per HTTP client: small pools stay fast under concurrency
CONNECTIONS_PER_CLIENT = 8


class SignatureError(ValueError):
    """A webhook request whose signature is missing, malformed, wrong or too old."""


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    return f"t={timestamp},v1={_digest(body, secret, timestamp)}"


def _digest(body: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_signature(
    body: bytes,
    header: str | None,
    secret: str,
    tolerance: float = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> int:
    """Check a webhook request as its receiver; return its timestamp or raise SignatureError.

    ``body`` must be the raw request body, before any JSON parsing; ``header`` the value of
    ``X-Broadcaster-Signature``. Any ``v1`` entry may match (several appear while a secret
    is being rotated). A timestamp further than ``tolerance`` seconds from ``now`` is refused,
    so a captured request cannot be replayed later; dedupe retries by ``Idempotency-Key``.
    """
    if not header:
        raise SignatureError(f"no {SIGNATURE_HEADER} header")
    items = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in items if key == "t"]
    signatures = [value for key, _, value in items if key == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        raise SignatureError(f"malformed {SIGNATURE_HEADER} header")
    timestamp = int(stamps[0])
    expected = _digest(body, secret, timestamp)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError("signature does not match the body")
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance (a replay, or a wrong clock)")
    return timestamp


def target_key(url: str) -> str:
    """A URL's identity in the ledger: its host and a digest, never the URL (it may hold a
    token). Changing anything in the URL makes it a new subscriber."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port:
        host += f":{parts.port}"
    return f"{host}#{hashlib.sha256(url.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class WebhookRequest:
    """One delivery, before it is dated and signed (that happens in ``send``)."""

    url: str
    key: str  # the Idempotency-Key: the ledger's delivery key
    document: dict[str, Any]


def from_config(section: WebhookConfig, deps: Deps) -> Channel | Skipped:
    """``channels.webhook`` and BROADCAST_WEBHOOK_SECRET as a channel."""
    secret = deps.secrets.webhook_secret
    if secret is None or not secret.get_secret_value():
        return Skipped("webhook", "BROADCAST_WEBHOOK_SECRET is not set (the signing key)")
    channel = WebhookChannel(
        deps.http,
        urls=section.urls,
        secret=secret.get_secret_value(),
        site=deps.config.site,
        clients=-(-section.concurrency // CONNECTIONS_PER_CLIENT),
    )
    channel.concurrency, channel.per_host = section.concurrency, section.per_host
    return channel


class WebhookChannel(Channel):
    name = "webhook"
    accepts = frozenset({"announce", "remind", "reopen", "publish"})
    parts = ("text", "html")
    repeat_unknown_within = ALWAYS  # receivers dedupe by Idempotency-Key, however late

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        urls: Sequence[str],
        secret: str,
        site: Site,
        clock: Callable[[], float] = time.time,
        clients: int = 1,
    ) -> None:
        self.http = http
        self._shards = clients
        self._clients: list[httpx.AsyncClient] = []  # besides ``http``: made when first used
        self._urls = {target_key(url): url for url in urls}
        self._secret = secret
        self.site = site
        self.clock = clock

    def targets(self) -> list[Target]:
        return [Target(key) for key in self._urls]

    def server_of(self, outgoing: Outgoing) -> str:
        return outgoing.target.key.partition("#")[0]  # host[:port], as target_key writes it

    async def aclose(self) -> None:
        made, self._clients = self._clients, []
        for client in made:
            await client.aclose()

    def _client(self, url: str) -> httpx.AsyncClient:
        """The HTTP client for ``url``'s host: ``http``, or one of ``clients - 1`` more like
        it, so that each connection pool serves a few hosts. Like the shared client, each
        makes its pool (and reads the CA bundle) at its first request: one no host uses
        costs nothing."""
        shard = zlib.crc32(urlsplit(url).netloc.encode()) % self._shards
        if shard == 0:
            return self.http
        while len(self._clients) < self._shards - 1:
            self._clients.append(Client(timeout=self.http.timeout, headers=self.http.headers))
        return self._clients[shard - 1]

    def build(self, outgoing: Outgoing) -> WebhookRequest:
        """The notice as a JSON document (pure: the sending time is added by ``send``)."""
        links = {"site": self.site.url}
        if outgoing.link:
            links["article"] = outgoing.link
        document: dict[str, Any] = {
            "schema": SCHEMA,
            "id": outgoing.notice_id,
            "kind": outgoing.kind,
            "occasion": outgoing.occasion,
            "delivery": outgoing.key,
            "site": {"name": self.site.name, "url": self.site.url},
            "texts": dict(outgoing.message),
            "links": links,
        }
        if outgoing.facts:
            document["facts"] = dict(outgoing.facts)  # the notice as data, whatever its kind
            document.update(_legacy_sections(outgoing.facts))
        return WebhookRequest(self._urls[outgoing.target.key], outgoing.key, document)

    async def send(self, payload: WebhookRequest) -> Receipt:
        """Date, sign and POST one document; a 2xx is the receipt."""
        now = self.clock()
        sent_at = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
        body = json.dumps({**payload.document, "sent_at": sent_at}, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: payload.key,
            SIGNATURE_HEADER: sign(body, self._secret, int(now)),
        }
        host = urlsplit(payload.url).hostname or "?"
        response = await self._post(payload.url, host, body, headers)
        if response.is_success:
            return {"status": response.status_code, "host": host, "sent_at": sent_at}
        raise self._failure(response, host)

    async def _post(
        self, url: str, host: str, body: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        """POST, turning transport failures into DeliveryErrors that name only the host."""
        try:
            return await self._client(url).post(url, content=body, headers=headers)
        except (*NOT_SENT, *INCOMPLETE) as exc:
            raise RetryableError(f"webhook: cannot reach {host} ({type(exc).__name__})") from None
        except httpx.TransportError as exc:  # timeouts, lost replies: retry, the key dedupes
            raise NoReply(f"webhook: no reply from {host} ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise PermanentError(f"webhook: {host}: {type(exc).__name__}") from None

    def _failure(self, response: httpx.Response, host: str) -> RetryableError | PermanentError:
        status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
        code = response.status_code
        if code == 410:
            return PermanentError(
                f"webhook: {host} answered {status}: the subscriber is gone, "
                "remove its URL from channels.webhook.urls"
            )
        if code in (408, 429) or code >= 500:
            wait = _retry_after(response.headers.get("Retry-After"))
            return RetryableError(f"webhook: {host} answered {status}", wait)
        if 300 <= code < 400:
            return PermanentError(
                f"webhook: {host} answered {status} (redirects are not followed: "
                "put the final URL in channels.webhook.urls)"
            )
        hint = " (does it have BROADCAST_WEBHOOK_SECRET?)" if code in (401, 403) else ""
        return PermanentError(f"webhook: {host} refused the notice: {status}{hint}")


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _legacy_sections(facts: Mapping[str, Any]) -> dict[str, Any]:
    """``closure`` (a closed-days notice) and ``article``, as receivers written before
    ``facts`` read them; a notice of any other kind is only in ``facts``."""
    if about_days(facts) and facts["hours"] is None:
        return {"closure": dict(facts)}
    if facts.get("kind") == "article":
        keys = ("title", "url", "summary", "image")
        return {"article": {key: facts.get(key) for key in keys}}
    return {}
