"""Unsubscribe tokens: who wants out, in a form nobody else can make up.

A token is ``1.<address>.<mac>``: the version, the subscriber's normalised address
(base64url) and the first 16 bytes of HMAC-SHA256 over both with the secret
``BROADCAST_EMAIL_UNSUBSCRIBE_SECRET`` (base64url). It needs no storage -- the website
verifies it with :func:`verify` and calls ``broadcast unsubscribe`` (or
``Ledger.suppress``) -- and it is URL-safe as it stands. A token only ever unsubscribes,
and the address in it is the recipient's own, so it carries nothing secret.

Rotating the secret invalidates the links in mail already sent; keep the old one working
by trying both in the website's verify call.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

VERSION = "1"
MIN_SECRET_LENGTH = 16
_CONTEXT = b"broadcaster/unsubscribe\x00"


def make(address: str, secret: str | bytes) -> str:
    """The token for ``address`` (already normalised: see broadcaster.subscribers.normalise)."""
    encoded = b64url(address.encode("utf-8"))
    return f"{VERSION}.{encoded}.{b64url(_mac(secret, encoded))}"


def verify(token: str, secret: str | bytes) -> str | None:
    """The address a genuine token was made for, else None (forged, altered or malformed)."""
    version, _, rest = token.strip().partition(".")
    encoded, _, mac = rest.partition(".")
    if version != VERSION or not encoded or not mac:
        return None
    try:
        given = unb64url(mac)
        address = unb64url(encoded).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not hmac.compare_digest(given, _mac(secret, encoded)):
        return None
    return address


def _mac(secret: str | bytes, encoded: str) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    message = _CONTEXT + VERSION.encode() + b"." + encoded.encode("ascii")
    return hmac.new(key, message, hashlib.sha256).digest()[:16]


def b64url(data: bytes) -> str:
    """Base64url without padding (also the serve app's signed links)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def address_to_suppress(address: str | None, token: str | None, secret: str | None) -> str:
    """The normalised address ``broadcast unsubscribe`` should suppress, or ValueError."""
    from broadcaster.subscribers import normalise

    if (address is None) == (token is None):
        raise ValueError("give either an address or --token, not both")
    if address is not None:
        return normalise(address)
    if not secret:
        raise ValueError("--token needs BROADCAST_EMAIL_UNSUBSCRIBE_SECRET, the key that signed it")
    found = verify(token or "", secret)
    if found is None:
        raise ValueError("this token was not made with the configured secret (or was altered)")
    return found
