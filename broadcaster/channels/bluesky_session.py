"""A Bluesky login that outlives the process: created once, kept in the ledger DB, refreshed.

``createSession`` is limited to 30 logins per 5 minutes and 300 a day per account, so a
broadcaster that logged in per post (or per run, every minute) would lock itself out. The
session (DID, PDS, access and refresh tokens) is stored with ``Store.set_value``; the access
token is refreshed with ``refreshSession`` 15 minutes before its ``exp`` and whenever the PDS
answers ``ExpiredToken``; only a refused refresh falls back to logging in with the app
password. Refresh tokens are single-use, so another process that refreshed first has stored
the new pair: a refused refresh re-reads the store before logging in.

The tokens are credentials: they are kept only in the DB and never logged or reported.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import httpx

from broadcaster.channels.base import Store
from broadcaster.channels.http_api import json_object, seconds_until, status_line
from broadcaster.errors import DeliveryError, PermanentError, RetryableError

SESSION_KEY = "bluesky:session:"  # + service + handle
REFRESH_EARLY = 15 * 60.0


@dataclass(frozen=True)
class Session:
    did: str
    handle: str
    access_jwt: str
    refresh_jwt: str
    pds: str  # where the account's repository lives; requests go there

    def access_expires(self) -> float:
        """``exp`` of the access token (0 if unreadable: then it is refreshed on use)."""
        try:
            payload = self.access_jwt.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            return float(claims["exp"])
        except (IndexError, ValueError, KeyError, TypeError):
            return 0.0


class Account(Protocol):
    """What a session needs of the channel that holds it: the account, where its session is
    kept, and the channel's own requests and error replies (so a login shares its transport
    failures and redaction). Declared here so this module needs nothing from the channel's."""

    @property
    def handle(self) -> str: ...

    @property
    def base_url(self) -> str: ...

    @property
    def store(self) -> Store: ...

    async def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response: ...

    def error(self, response: httpx.Response, body: dict[str, Any]) -> DeliveryError: ...


class Sessions:
    """The one session of one account, shared by every post of the process."""

    def __init__(self, channel: Account, password: str) -> None:
        self.channel = channel
        self._password = password
        self._key = f"{SESSION_KEY}{channel.base_url}|{channel.handle}"
        self._session: Session | None = None
        self._lock = asyncio.Lock()
        self.logins = 0  # createSession calls made by this process, for tests and reports

    async def current(self) -> Session:
        """A session whose access token is good for the next 15 minutes."""
        async with self._lock:
            session = self._session or self._stored()
            if session is None:
                session = await self._login()
            elif session.access_expires() - time.time() < REFRESH_EARLY:
                session = await self._refresh(session)
            self._session = session
            return session

    async def renewed(self, stale: Session) -> Session:
        """After the PDS answered ExpiredToken or InvalidToken for ``stale``."""
        async with self._lock:
            if self._session is not None and self._session != stale:
                return self._session  # another post renewed it meanwhile
            self._session = await self._refresh(stale)
            return self._session

    def forget(self) -> None:
        self._session = None

    # -- the three ways to a session --------------------------------------------------------

    def _stored(self) -> Session | None:
        text = self.channel.store.get_value(self._key)
        try:
            return Session(**json.loads(text)) if text else None
        except (TypeError, ValueError):
            return None

    def _keep(self, body: dict[str, Any]) -> Session:
        try:
            session = Session(
                did=str(body["did"]),
                handle=str(body.get("handle") or self.channel.handle),
                access_jwt=str(body["accessJwt"]),
                refresh_jwt=str(body["refreshJwt"]),
                pds=self._pds(body.get("didDoc")),
            )
        except KeyError as missing:
            raise RetryableError(f"bluesky: session reply without {missing}") from None
        self.channel.store.set_value(self._key, json.dumps(asdict(session)))
        return session

    def _pds(self, did_doc: Any) -> str:
        """The account's PDS from its DID document; the configured service if none or odd."""
        services = did_doc.get("service", []) if isinstance(did_doc, dict) else []
        for service in services if isinstance(services, list) else []:
            if not isinstance(service, dict):
                continue
            endpoint = str(service.get("serviceEndpoint", ""))
            if str(service.get("id", "")).endswith("#atproto_pds") and endpoint.startswith(
                "https://"
            ):
                return endpoint.rstrip("/")
        return self.channel.base_url

    async def _login(self) -> Session:
        self.logins += 1
        response = await self.channel.call(
            "POST",
            f"{self.channel.base_url}/xrpc/com.atproto.server.createSession",
            json={"identifier": self.channel.handle, "password": self._password},
        )
        body = json_object(response)
        if response.is_success:
            return self._keep(body)
        raise self._login_error(response, body)

    async def _refresh(self, session: Session) -> Session:
        response = await self.channel.call(
            "POST",
            f"{session.pds}/xrpc/com.atproto.server.refreshSession",
            headers={"Authorization": f"Bearer {session.refresh_jwt}"},
        )
        body = json_object(response)
        if response.is_success:
            return self._keep(body)
        if response.status_code == 429 or response.status_code >= 500:
            raise self.channel.error(response, body)
        stored = self._stored()  # another process may have refreshed (tokens are single-use)
        if stored is not None and stored.refresh_jwt != session.refresh_jwt:
            return stored
        return await self._login()

    def _login_error(self, response: httpx.Response, body: dict[str, Any]) -> DeliveryError:
        name = str(body.get("error") or status_line(response))
        text = f"bluesky: login as {self.channel.handle} refused: {name}: {body.get('message', '')}"
        if response.status_code == 429:
            wait = seconds_until(response.headers.get("RateLimit-Reset"))
            return RetryableError(f"{text} (login limit: 30 per 5 minutes)", wait)
        if response.status_code >= 500:
            return RetryableError(text)
        return PermanentError(f"{text} (check BROADCAST_BLUESKY_APP_PASSWORD)")
