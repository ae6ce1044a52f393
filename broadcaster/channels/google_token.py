"""The OAuth2 access token for Google Business Profile: refreshed by google-auth, cached.

google-auth (and the cryptography it loads) is imported only when a token is made, so every
command that does not sync Google skips it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx

from broadcaster.channels.base import Store
from broadcaster.errors import PermanentError, RetryableError

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

SCOPE = "https://www.googleapis.com/auth/business.manage"
TOKEN_KEY = "google_business:token:"  # + digest of client and refresh token -> cached token


class GoogleToken:
    """An access token from the refresh-token grant (google-auth does the exchange, in a worker
    thread: it is a blocking library), cached in memory and in the ledger DB until google-auth
    considers it expired (a few minutes early), so most runs never call the token endpoint."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        token_url: str,
        store: Store,
    ) -> None:
        # imported here: google-auth loads cryptography, which every other command can skip
        import urllib3
        from google.auth.transport.urllib3 import Request as GoogleTransport
        from google.oauth2.credentials import Credentials

        self.store = store
        self.token_url = token_url
        self._credentials: Credentials = Credentials(  # type: ignore[no-untyped-call]
            None,
            refresh_token=refresh_token,
            token_uri=token_url,
            client_id=client_id,
            client_secret=client_secret,
            scopes=[SCOPE],
        )
        digest = hashlib.sha256(f"{client_id}\0{refresh_token}\0{token_url}".encode()).hexdigest()
        self._key = TOKEN_KEY + digest[:16]
        # one quick reconnect; google-auth itself retries 5xx answers (3 attempts, backing off)
        retries = urllib3.Retry(connect=1, read=0, status=0, redirect=0, other=0)
        timeout = urllib3.Timeout(connect=10, read=30)
        self._pool = urllib3.PoolManager(timeout=timeout, retries=retries)
        self._transport = GoogleTransport(self._pool)  # type: ignore[no-untyped-call]
        self._lock = asyncio.Lock()
        self.refreshes = 0  # token endpoint calls made by this process, for tests

    async def current(self) -> str:
        """A token good for a few more minutes: cached, or freshly exchanged."""
        async with self._lock:
            if not self._credentials.valid:
                self._load()
            if not self._credentials.valid:
                await self._refresh()
            return str(self._credentials.token)

    async def renewed(self, stale: str) -> str:
        """After Google refused ``stale`` (401): a new token, unless one was got meanwhile."""
        async with self._lock:
            if self._credentials.token != stale and self._credentials.valid:
                return str(self._credentials.token)
            await self._refresh()
            return str(self._credentials.token)

    def close(self) -> None:
        self._pool.clear()

    def _load(self) -> None:
        cached = json.loads(self.store.get_value(self._key) or "{}")
        if cached.get("token") and cached.get("expiry"):
            self._credentials.token = cached["token"]
            expiry = datetime.fromisoformat(cached["expiry"])
            self._credentials.expiry = expiry.astimezone(UTC).replace(tzinfo=None)  # naive UTC

    async def _refresh(self) -> None:
        from google.auth import exceptions as google_errors

        self.refreshes += 1
        try:
            await asyncio.to_thread(self._credentials.refresh, self._transport)
        except google_errors.RefreshError as exc:
            detail = str(exc.args[0] if exc.args else exc)[:200]
            if getattr(exc, "retryable", False):
                raise NoToken(f"google_business: token endpoint: {detail}") from None
            raise TokenRefused(
                f"google_business: Google refused the refresh token ({detail}); create a new "
                "one with the business.manage scope and set BROADCAST_GOOGLE_REFRESH_TOKEN "
                "(and BROADCAST_GOOGLE_CLIENT_ID / _SECRET of the same OAuth client)"
            ) from None
        except google_errors.TransportError:
            host = httpx.URL(self.token_url).host
            raise NoToken(f"google_business: cannot reach {host} for a token") from None
        expiry = self._credentials.expiry
        if expiry is not None:
            self.store.set_value(
                self._key,
                json.dumps(
                    {
                        "token": self._credentials.token,
                        "expiry": expiry.replace(tzinfo=UTC).isoformat(),
                    }
                ),
            )


class NoToken(RetryableError):
    """The token endpoint failed or could not be reached (google-auth retried already)."""


class TokenRefused(PermanentError):
    """Google refused the refresh token or the OAuth client."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
