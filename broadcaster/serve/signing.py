"""Signed, expiring tokens for the links and forms of ``broadcast serve``.

A token is ``<payload>.<mac>``: the payload is base64url JSON holding the purpose, the
expiry (Unix seconds) and the data; the MAC is the first 16 bytes of HMAC-SHA256 over the
payload with ``BROADCAST_SERVE_SECRET``. The purpose is inside what is signed, so a form
token can never pass for a confirmation link, nor a confirmation link for an undo. Nothing
is stored: verifying needs only the secret and the clock.

(The unsubscribe links in email are :mod:`broadcaster.channels.email.tokens`: they never
expire, because a message may be read years later.)
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import time
from typing import Any, Literal

from broadcaster.channels.email.tokens import b64url, unb64url

Purpose = Literal["form", "confirm", "undo"]
MIN_SECRET_LENGTH = 32


class BadToken(ValueError):
    """A token that must be refused; ``reason`` is "expired" or "invalid" (forged, altered,
    truncated, or made for another purpose)."""

    def __init__(self, reason: Literal["expired", "invalid"]) -> None:
        super().__init__(reason)
        self.reason = reason


def sign(
    purpose: Purpose, data: dict[str, Any], key: bytes, ttl: float, now: float | None = None
) -> str:
    """A token for ``data``, valid for ``ttl`` seconds from ``now``."""
    expires = int((time.time() if now is None else now) + ttl)
    body = json.dumps({"p": purpose, "e": expires, "d": data}, separators=(",", ":"))
    payload = b64url(body.encode("utf-8"))
    return f"{payload}.{b64url(_mac(key, payload))}"


def verify(token: str, purpose: Purpose, key: bytes, now: float | None = None) -> dict[str, Any]:
    """The data of a genuine, unexpired token made for ``purpose``; else BadToken."""
    payload, _, mac = token.strip().partition(".")
    try:
        given = unb64url(mac)
        if not payload or not hmac.compare_digest(given, _mac(key, payload)):
            raise BadToken("invalid")
        body = json.loads(unb64url(payload))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, BadToken):
            raise
        raise BadToken("invalid") from None
    if (
        not isinstance(body, dict)
        or body.get("p") != purpose
        or not isinstance(body.get("d"), dict)
    ):
        raise BadToken("invalid")
    if (time.time() if now is None else now) >= float(body.get("e", 0)):
        raise BadToken("expired")
    data: dict[str, Any] = body["d"]
    return data


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(
        key, b"broadcaster/serve\x00" + payload.encode("ascii"), hashlib.sha256
    ).digest()[:16]
