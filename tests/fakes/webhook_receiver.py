"""A subscriber's webhook endpoint: records every POST, checks broadcaster's signature.

Served with tests.fakes.server.serve, on any path. It behaves like a careful receiver written
from the webhook channel's documentation (and its own ten lines of checking, not broadcaster's
``verify_signature``, so a mistake there cannot hide here): it refuses a request whose
``X-Broadcaster-Signature`` does not verify (401), and it answers a repeated
``Idempotency-Key`` with 200 without storing the document again. Tests can make chosen paths
answer other statuses (410 gone, 429 with Retry-After, 5xx) and use the base fault switches.
With ``require_signature=False`` it is a plain JSON or form receiver (for Apprise's
``json://`` and ``form://`` URLs).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import FakeService

SECRET = "whsec_test_0123456789abcdefghijklmnop"


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    document: dict[str, Any] = field(default_factory=dict)
    duplicate: bool = False


class WebhookReceiver(FakeService):
    def __init__(self, secret: str = SECRET, *, require_signature: bool = True) -> None:
        super().__init__()
        self.secret = secret
        self.require_signature = require_signature
        self.tolerance = 300.0
        self.clock: Callable[[], float] = time.time
        self.deliveries: list[Delivery] = []  # accepted, including acknowledged duplicates
        self.refused: list[tuple[str, str]] = []  # (path, why)
        self.statuses: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.keys: set[str] = set()
        self.app = Starlette(
            routes=[Route("/{path:path}", self.endpoint(self._receive), methods=["POST"])]
        )

    def answer(self, path: str, status: int, times: int = 1, **headers: str) -> None:
        """The next ``times`` POSTs to ``path`` get ``status`` (before any checking)."""
        self.statuses.setdefault(path, []).extend([(status, headers)] * times)

    def documents(self, path: str | None = None) -> list[dict[str, Any]]:
        """The distinct documents stored (duplicates by Idempotency-Key left out)."""
        return [
            d.document
            for d in self.deliveries
            if not d.duplicate and (path is None or d.path == path)
        ]

    def too_many_requests(self, retry_after: int) -> Response:
        return JSONResponse({"error": "slow down"}, 429, {"Retry-After": str(retry_after)})

    def server_error(self, status: int) -> Response:
        return Response("upstream unavailable", status)

    async def _receive(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        queued = self.statuses.get(path)
        if queued:
            status, headers = queued.pop(0)
            return JSONResponse({"status": status}, status, headers)
        body = await request.body()
        headers = dict(request.headers)
        if self.require_signature:
            why = self._refusal(body, headers.get("x-broadcaster-signature", ""))
            if why is not None:
                self.refused.append((path, why))
                return JSONResponse({"error": why}, 401)
        key = headers.get("idempotency-key")
        delivery = Delivery(path, headers, body, _parse(body, headers), key in self.keys)
        if key:
            self.keys.add(key)
        self.deliveries.append(delivery)
        return JSONResponse({"ok": True, "duplicate": delivery.duplicate})

    def _refusal(self, body: bytes, header: str) -> str | None:
        """Why the signature fails the documented scheme (``t=<unix>,v1=<hex>``, several
        ``v1`` while a secret rotates; HMAC-SHA256 of ``"<t>." + body``), or None if it holds."""
        fields: dict[str, list[str]] = {}
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            fields.setdefault(name, []).append(value)
        stamps, signatures = fields.get("t", []), fields.get("v1", [])
        if not header:
            return "no X-Broadcaster-Signature header"
        if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
            return "malformed X-Broadcaster-Signature header"
        key = self.secret.encode()
        expected = hmac.new(key, stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
        if expected not in signatures:
            return "signature does not match the body"
        if abs(self.clock() - int(stamps[0])) > self.tolerance:
            return "timestamp outside the tolerance (a replay, or a wrong clock)"
        return None


def _parse(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    kind = headers.get("content-type", "")
    if kind.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode()))
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
