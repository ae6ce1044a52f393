"""Fake Bluesky PDS (channel-apis.md §3 and §10), served with tests.fakes.server.serve.

What it reproduces because clients get it wrong: createSession is limited to 30 per 5 minutes
and 300 per day (so sessions must be persisted), access tokens expire (400 ExpiredToken) and
are renewed with a single-use refresh token, posts are limited to 300 graphemes and 3000 UTF-8
bytes, facets use UTF-8 byte ranges, and RateLimit-Reset is epoch seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import FakeService, Fault, Handler
from .bluesky_post import POST, InvalidRecord, validate_post
from .server import DropConnection, pause

TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"
SERVER_ERRORS = {
    500: ("InternalServerError", "Internal Server Error"),
    502: ("UpstreamFailure", "Upstream Failure"),
    503: ("NotEnoughResources", "Not Enough Resources"),
    504: ("UpstreamTimeout", "Upstream Timeout"),
}


class XrpcError(Exception):
    """An XRPC error: {"error": name, "message": text} with the given status."""

    def __init__(
        self, status: int, error: str, message: str, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.error, self.message, self.headers = status, error, message, headers

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "message": self.message}, self.status, self.headers
        )


@dataclass
class Window:
    """A fixed window starting at its first hit, like the PDS's rate-limiter-flexible."""

    limit: int
    seconds: int
    start: float = 0.0
    used: int = 0

    def hit(self, now: float, points: int = 1) -> bool:
        if now >= self.start + self.seconds:
            self.start, self.used = now, 0
        self.used += points
        return self.used <= self.limit

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(self.limit - self.used, 0)),
            "RateLimit-Reset": str(int(self.start + self.seconds)),
            "RateLimit-Policy": f"{self.limit};w={self.seconds}",
        }


def cid_for(data: bytes, codec: int = 0x71) -> str:
    """A CIDv1 (sha-256, base32): dag-cbor gives "bafyrei…", raw blobs "bafkrei…"."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class FakeBluesky(FakeService):
    """One account on one PDS: sessions, createRecord/getRecord for posts, uploadBlob."""

    def __init__(
        self,
        handle: str = "glowaesthetics.bsky.social",
        did: str = "did:plc:u5cwb2mwiv2bfq53cjufe6yn",
        password: str = "abcd-efgh-ijkl-mnop",
        access_ttl: int = 7200,
        refresh_ttl: int = 90 * 86400,
    ) -> None:
        super().__init__()
        self.handle, self.did, self.password = handle, did, password
        self.access_ttl, self.refresh_ttl = access_ttl, refresh_ttl
        self.clock: Callable[[], float] = time.time
        self.login_count = 0  # successful createSession calls
        self.login_attempts = 0  # every createSession that reached the rate limiter
        self.login_limits = [Window(300, 86400), Window(30, 300)]
        self.write_limit = Window(5000, 3600)  # points; a create costs 3
        self.access_tokens: dict[str, int] = {}  # token -> exp
        self.expired_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.revoked_refresh_tokens: set[str] = set()
        self.posts: list[dict[str, Any]] = []
        self.blobs: dict[str, dict[str, Any]] = {}
        self.facet_mismatches: list[str] = []
        self._secret = secrets.token_bytes(32)
        self._last_tid = 0
        self.app = Starlette(routes=self._routes())

    def _routes(self) -> list[Route]:
        def route(nsid: str, handler: Handler, method: str = "POST") -> Route:
            return Route(f"/xrpc/{nsid}", self.endpoint(self._guard(handler)), methods=[method])

        return [
            route("com.atproto.server.createSession", self._create_session),
            route("com.atproto.server.refreshSession", self._refresh_session),
            route("com.atproto.server.getSession", self._get_session, "GET"),
            route("com.atproto.repo.createRecord", self._create_record),
            route("com.atproto.repo.getRecord", self._get_record, "GET"),
            route("com.atproto.repo.uploadBlob", self._upload_blob),
            Route("/xrpc/{nsid}", self.endpoint(self._not_implemented), methods=["GET", "POST"]),
        ]

    def fail_after_create(
        self, times: int | None = 1, then: Literal["drop", "delay"] = "drop", seconds: float = 5.0
    ) -> None:
        """Store the post, then lose the reply (drop) or answer after `seconds` (delay)."""
        self.faults.append(Fault("after_create", times, None, then=then, seconds=seconds))

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now answers 400 ExpiredToken."""
        self.expired_tokens |= set(self.access_tokens)

    # Faults and headers -------------------------------------------------------------------

    def too_many_requests(self, retry_after: int) -> Response:
        headers = Window(3000, 300, used=3000).headers()  # the per-IP limit, exhausted
        headers["RateLimit-Reset"] = str(int(self.clock()) + retry_after)
        return XrpcError(429, "RateLimitExceeded", "Rate Limit Exceeded", headers).response()

    def server_error(self, status: int) -> Response:
        error, message = SERVER_ERRORS.get(status, ("InternalServerError", "Internal Server Error"))
        return XrpcError(status, error, message).response()

    def _guard(self, handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except XrpcError as error:
                return error.response()

        return run

    async def _not_implemented(self, request: Request) -> Response:
        return XrpcError(501, "MethodNotImplemented", "Method Not Implemented").response()

    # Sessions -----------------------------------------------------------------------------

    def _jwt(self, typ: str, scope: str, ttl: int) -> str:
        """A real-looking JWT (header.payload.signature) whose payload a client can read."""
        now = int(self.clock())
        header = {"typ": typ, "alg": "ES256K"}
        payload: dict[str, Any] = {"scope": scope, "sub": self.did, "aud": "did:web:bsky.social"}
        payload |= {"iat": now, "exp": now + ttl, "jti": secrets.token_urlsafe(16)}
        signing_input = ".".join(_b64(json.dumps(part).encode()) for part in (header, payload))
        signature = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    def _new_session(self, request: Request) -> dict[str, Any]:
        access = self._jwt("at+jwt", "com.atproto.appPass", self.access_ttl)
        refresh = self._jwt("refresh+jwt", "com.atproto.refresh", self.refresh_ttl)
        self.access_tokens[access] = int(self.clock()) + self.access_ttl
        self.refresh_tokens.add(refresh)
        pds = {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer"}
        pds["serviceEndpoint"] = str(request.base_url).rstrip("/")
        did_doc = {"id": self.did, "alsoKnownAs": [f"at://{self.handle}"], "service": [pds]}
        session = {
            "did": self.did,
            "handle": self.handle,
            "accessJwt": access,
            "refreshJwt": refresh,
        }
        return session | {"didDoc": did_doc, "active": True}

    async def _create_session(self, request: Request) -> Response:
        """30 per 5 minutes and 300 per day per account, counted before the password check."""
        body = await self._json(request)
        now = self.clock()
        self.login_attempts += 1
        for window in self.login_limits:
            if not window.hit(now):
                raise XrpcError(429, "RateLimitExceeded", "Rate Limit Exceeded", window.headers())
        identifier = str(body.get("identifier", "")).lower()
        if (
            identifier not in (self.handle.lower(), self.did)
            or body.get("password") != self.password
        ):
            raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
        self.login_count += 1
        return JSONResponse(self._new_session(request), headers=self.login_limits[-1].headers())

    def _bearer(self, request: Request) -> str:
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            raise XrpcError(401, "AuthMissing", "Authentication Required")
        return authorization.removeprefix("Bearer ")

    def _authorize(self, request: Request) -> None:
        """Accept only a live access token, with the PDS's error for each other case."""
        token = self._bearer(request)
        if token in self.refresh_tokens or token in self.revoked_refresh_tokens:
            raise XrpcError(400, "InvalidToken", "Bad token scope")
        exp = self.access_tokens.get(token)
        if exp is None:
            raise XrpcError(400, "InvalidToken", "Token could not be verified")
        if token in self.expired_tokens or self.clock() >= exp:
            raise XrpcError(400, "ExpiredToken", "Token has expired")

    async def _get_session(self, request: Request) -> Response:
        """The session behind an access token, as a client checks it without posting."""
        self._authorize(request)
        return JSONResponse({"handle": self.handle, "did": self.did, "active": True})

    async def _refresh_session(self, request: Request) -> Response:
        """Rotate: the refresh token used is revoked and a new pair is returned."""
        token = self._bearer(request)
        if token in self.revoked_refresh_tokens:
            raise XrpcError(400, "ExpiredToken", "Token has been revoked")
        if token in self.access_tokens:
            raise XrpcError(400, "InvalidToken", "Bad token scope")
        if token not in self.refresh_tokens:
            raise XrpcError(400, "InvalidToken", "Token could not be verified")
        self.refresh_tokens.discard(token)
        self.revoked_refresh_tokens.add(token)
        return JSONResponse(self._new_session(request))

    # Records ------------------------------------------------------------------------------

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise XrpcError(400, "InvalidRequest", "Request body must be JSON") from None
        if not isinstance(body, dict):
            raise XrpcError(400, "InvalidRequest", "Input must be an object")
        return body

    def next_tid(self) -> str:
        """A timestamp identifier (microseconds << 10), strictly increasing, base32-sortable."""
        value = max(int(self.clock() * 1_000_000) << 10, self._last_tid + 1)
        self._last_tid = value
        return "".join(TID_CHARS[(value >> shift) & 31] for shift in range(60, -1, -5))

    def _own_repo(self, repo: Any) -> None:
        if repo not in (self.did, self.handle):  # the PDS resolves handles too
            raise XrpcError(400, "InvalidRequest", f"Could not find repo: {repo}")

    def find_post(self, rkey: str) -> dict[str, Any] | None:
        return next((post for post in self.posts if post["rkey"] == rkey), None)

    async def _create_record(self, request: Request) -> Response:
        self._authorize(request)
        body = await self._json(request)
        self._own_repo(body.get("repo"))
        if body.get("collection") != POST:
            raise XrpcError(400, "InvalidRequest", f"This fake only stores {POST} records")
        if not self.write_limit.hit(self.clock(), 3):
            headers = self.write_limit.headers()
            raise XrpcError(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        try:
            mismatches = validate_post(body.get("record"))
        except InvalidRecord as error:
            raise XrpcError(400, "InvalidRequest", str(error)) from None
        rkey = str(body.get("rkey") or self.next_tid())
        if self.find_post(rkey) is not None:  # the real error for a duplicate rkey is unverified
            raise XrpcError(400, "InvalidRequest", "Record already exists")
        response = JSONResponse(
            self._store(rkey, body["record"], mismatches), headers=self.write_limit.headers()
        )
        for fault in self.take_faults(request.url.path, frozenset({"after_create"}))[:1]:
            self.consume(fault)
            if fault.then == "drop":
                return DropConnection()
            await pause(request, fault.seconds)
        return response

    def _store(self, rkey: str, record: dict[str, Any], mismatches: list[str]) -> dict[str, Any]:
        uri = f"at://{self.did}/{POST}/{rkey}"
        cid = cid_for(json.dumps(record, sort_keys=True).encode())
        rev = self.next_tid()
        self.posts.append(
            {"rkey": rkey, "uri": uri, "cid": cid, "record": record, "facet_mismatches": mismatches}
        )
        self.facet_mismatches += mismatches
        commit = {"cid": cid_for(f"{cid}{rev}".encode()), "rev": rev}
        return {"uri": uri, "cid": cid, "commit": commit, "validationStatus": "valid"}

    async def _get_record(self, request: Request) -> Response:
        """Public read-back: how a client checks whether a timed-out create went through."""
        query = request.query_params
        repo, collection, rkey = query.get("repo"), query.get("collection"), query.get("rkey", "")
        post = (
            self.find_post(rkey) if repo in (self.did, self.handle) and collection == POST else None
        )
        if post is None:
            message = f"Could not locate record: at://{repo}/{collection}/{rkey}"
            raise XrpcError(400, "RecordNotFound", message)
        return JSONResponse({"uri": post["uri"], "cid": post["cid"], "value": post["record"]})

    async def _upload_blob(self, request: Request) -> Response:
        """Raw bytes in, a blob ref out; the blob is kept so tests can inspect it."""
        self._authorize(request)
        data = await request.body()
        mime = request.headers.get("content-type", "application/octet-stream")
        cid = cid_for(data, 0x55)
        ref: dict[str, Any] = {
            "$type": "blob",
            "ref": {"$link": cid},
            "mimeType": mime,
            "size": len(data),
        }
        self.blobs[cid] = ref | {"data": data}
        return JSONResponse({"blob": ref})
