"""Fake Mastodon API (channel-apis.md §2 and §10), served with tests.fakes.server.serve.

What it reproduces because clients get it wrong: the length rule (grapheme clusters of
spoiler_text + status, every URL = characters_reserved_per_url, counted by the reference
in tests/reference, not by a copy of the client's rules), the Idempotency-Key store
(per account, 3600 s, a repeat returns the original Status), X-RateLimit-Reset as an ISO-8601
time with microseconds, `card: null` at creation, and media that answers 202 then 206.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.reference.node import mastodon_length

from .base import FakeService, Fault, Handler, parse_params
from .mastodon_entities import Site, iso, render
from .server import DropConnection, pause

VISIBILITIES = ("public", "unlisted", "private", "direct")
IDEMPOTENCY_TTL = 3600.0
RATE_PERIOD = 300
NOT_READY = "Cannot attach files that have not finished processing. Try again in a moment!"


class MastodonError(Exception):
    """An API error: {"error": message} with the given status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class FakeMastodon(FakeService):
    """One account on one instance; statuses, edits, media and the instance document."""

    def __init__(
        self,
        token: str = "mastodon-user-token",
        domain: str = "mastodon.example",
        username: str = "glowaesthetics",
        max_characters: int = 500,
        characters_reserved_per_url: int = 23,
        rate_limit: int = 300,
        media_polls_until_ready: int = 1,
    ) -> None:
        super().__init__()
        self.token, self.domain, self.username = token, domain, username
        self.account_id = "109348765432101234"
        self.site = Site(domain, username, self.account_id)
        self.max_characters = max_characters
        self.characters_reserved_per_url = characters_reserved_per_url
        self.rate_limit = rate_limit
        self.media_polls_until_ready = media_polls_until_ready
        self.clock: Callable[[], float] = time.time
        self.statuses: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self.instance_calls = 0
        self._window = (0, 0)  # (period index, requests counted in it)
        self._ids = itertools.count(1)
        self.app = Starlette(routes=self._routes())

    def _routes(self) -> list[Route]:
        def route(path: str, handler: Handler, method: str) -> Route:
            return Route(path, self.endpoint(self._limited(handler)), methods=[method])

        return [
            route("/api/v2/instance", self._instance, "GET"),
            route("/api/v1/accounts/verify_credentials", self._verify_credentials, "GET"),
            route("/api/v1/statuses", self._create_status, "POST"),
            route("/api/v1/statuses/{id}", self._get_status, "GET"),
            route("/api/v1/statuses/{id}", self._edit_status, "PUT"),
            route("/api/v2/media", self._upload_media, "POST"),
            route("/api/v1/media/{id}", self._get_media, "GET"),
        ]

    def fail_after_create(
        self, times: int | None = 1, then: Literal["drop", "delay"] = "drop", seconds: float = 5.0
    ) -> None:
        """Create the status, then lose the reply (drop) or answer after `seconds` (delay).

        The status exists although the client saw an error: only Idempotency-Key prevents the
        retry from posting it twice.
        """
        self.faults.append(Fault("after_create", times, None, then=then, seconds=seconds))

    # Rate limits --------------------------------------------------------------------------

    def _reset(self, now: float) -> str:
        """Rack::Attack's reset: the end of the aligned period, keeping now's microseconds."""
        return iso(now + (RATE_PERIOD - int(now) % RATE_PERIOD), "microseconds")

    def too_many_requests(self, retry_after: int) -> Response:
        headers = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": iso(self.clock() + retry_after, "microseconds"),
        }
        return JSONResponse({"error": "Too many requests"}, 429, headers)

    def server_error(self, status: int) -> Response:
        """503 is Mastodon's own JSON; other 5xx come from nginx or Rails as HTML pages."""
        if status == 503:
            message = "There was a temporary problem serving your request, please try again"
            return JSONResponse({"error": message}, 503)
        return HTMLResponse(f"<html><body><h1>{status}</h1></body></html>", status)

    def _limited(self, handler: Handler) -> Handler:
        """Count the request in the current 5-minute period; over the limit answers 429."""

        async def run(request: Request) -> Response:
            now = self.clock()
            period = int(now) // RATE_PERIOD
            self._window = (period, 1 + (self._window[1] if self._window[0] == period else 0))
            if self._window[1] > self.rate_limit:
                return self.too_many_requests(RATE_PERIOD - int(now) % RATE_PERIOD)
            try:
                return await handler(request)
            except MastodonError as error:
                return JSONResponse({"error": error.message}, error.status)

        return run

    def after_response(self, request: Request, response: Response) -> None:
        """X-RateLimit-* on every response; a 429 keeps its own Remaining=0 and Reset."""
        if "x-ratelimit-remaining" in response.headers or isinstance(response, DropConnection):
            return
        response.headers["X-RateLimit-Limit"] = str(self.rate_limit)
        response.headers["X-RateLimit-Remaining"] = str(max(self.rate_limit - self._window[1], 0))
        response.headers["X-RateLimit-Reset"] = self._reset(self.clock())

    # Documents ----------------------------------------------------------------------------

    def _authorize(self, request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            raise MastodonError(401, "The access token is invalid")

    def account(self) -> dict[str, Any]:
        """The Account entity of the token's user."""
        return self.site.account(len(self.statuses))

    async def _instance(self, request: Request) -> Response:
        """GET /api/v2/instance: public, and counted so tests can prove clients cache it."""
        self.instance_calls += 1
        return JSONResponse(
            self.site.instance(self.max_characters, self.characters_reserved_per_url)
        )

    async def _verify_credentials(self, request: Request) -> Response:
        self._authorize(request)
        source = {
            "privacy": "public",
            "sensitive": False,
            "language": "en",
            "note": "",
            "fields": [],
        }
        return JSONResponse(self.account() | {"source": source})

    # Statuses -----------------------------------------------------------------------------

    def countable_length(self, text: str) -> int:
        """Mastodon's count (graphemes, a URL = characters_reserved_per_url, @u@domain = @u),
        asked of twitter-text and Mastodon's rule by tests/reference/node.py, never our code."""
        return mastodon_length(text, self.characters_reserved_per_url)

    def _validate(self, text: str, spoiler: str, media: list[dict[str, Any]]) -> None:
        if not text.strip() and not media:
            raise MastodonError(422, "Validation failed: Text can't be blank")
        if self.countable_length(spoiler + text) > self.max_characters:
            message = f"Validation failed: Text character limit of {self.max_characters} exceeded"
            raise MastodonError(422, message)

    def _attachments(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The media named by media_ids[] (form) or media_ids (JSON), checked like Mastodon."""
        ids = params.get("media_ids[]", params.get("media_ids", []))
        ids = [str(i) for i in (ids if isinstance(ids, list) else [ids])]
        if len(ids) > 4:
            raise MastodonError(422, "Cannot attach more than 4 files")
        missing = [i for i in ids if i not in self.media]
        if missing:  # wording from Mastodon's locale file (unverified against a live server)
            raise MastodonError(
                422, f"Media {', '.join(missing)} not found or already attached to another post"
            )
        if any(self.media[i]["url"] is None for i in ids):
            raise MastodonError(422, NOT_READY)
        return [self._media_json(i) for i in ids]

    def _replay(self, key: str | None) -> dict[str, Any] | None:
        """The Status first created with this Idempotency-Key, if still within its TTL."""
        stored = self.idempotency.get((self.account_id, key)) if key else None
        if stored is None or self.clock() - stored[0] >= IDEMPOTENCY_TTL:
            return None
        return stored[1]

    async def _create_status(self, request: Request) -> Response:
        self._authorize(request)
        key = request.headers.get("idempotency-key")
        original = self._replay(key)
        if original is not None:
            return JSONResponse(original)
        params = await self._params(request)
        if params.get("visibility", "public") not in VISIBILITIES:
            raise MastodonError(422, f"'{params['visibility']}' is not a valid visibility")
        media = self._attachments(params)
        self._validate(
            str(params.get("status") or ""), str(params.get("spoiler_text") or ""), media
        )
        now = self.clock()
        status_id = str((int(now * 1000) << 16) + next(self._ids))  # snowflake-like
        status = self.site.status(status_id, now, params, self.account()) | {
            "media_attachments": media
        }
        self.statuses.append(
            {"id": status["id"], "status": status, "idempotency_key": key, "params": params}
        )
        if key:  # set after creation, as Mastodon does: concurrent duplicates are not protected
            self.idempotency[(self.account_id, key)] = (self.clock(), status)
        return await self._after_create(request, JSONResponse(status))

    async def _after_create(self, request: Request, response: Response) -> Response:
        """Apply a fail_after_create switch: lose or delay the reply of a created status."""
        for fault in self.take_faults(request.url.path, frozenset({"after_create"}))[:1]:
            self.consume(fault)
            if fault.then == "drop":
                return DropConnection()
            await pause(request, fault.seconds)
        return response

    @staticmethod
    async def _params(request: Request) -> dict[str, Any]:
        try:
            return await parse_params(request)
        except ValueError:
            raise MastodonError(400, "Error occurred while parsing request parameters") from None

    def _find(self, status_id: str) -> dict[str, Any]:
        for entry in self.statuses:
            if entry["id"] == status_id:
                return entry
        raise MastodonError(404, "Record not found")

    async def _get_status(self, request: Request) -> Response:
        return JSONResponse(self._find(request.path_params["id"])["status"])

    async def _edit_status(self, request: Request) -> Response:
        """PUT /api/v1/statuses/:id: same validation as creation; sets edited_at."""
        self._authorize(request)
        entry = self._find(request.path_params["id"])
        params = await self._params(request)
        media = (
            self._attachments(params) if "media_ids[]" in params or "media_ids" in params else None
        )
        status = entry["status"]
        spoiler = str(params.get("spoiler_text", status["spoiler_text"]) or "")
        self._validate(
            str(params.get("status") or ""), spoiler, media or status["media_attachments"]
        )
        status |= {"content": render(str(params.get("status") or "")), "spoiler_text": spoiler}
        status |= {
            "edited_at": iso(self.clock()),
            "language": params.get("language") or status["language"],
        }
        status["media_attachments"] = status["media_attachments"] if media is None else media
        entry.setdefault("edits", []).append(params)
        return JSONResponse(status)

    # Media --------------------------------------------------------------------------------

    async def _upload_media(self, request: Request) -> Response:
        """POST /api/v2/media: 202 with url null while 'processing'."""
        self._authorize(request)
        params = await self._params(request)
        upload = params.get("file")
        if not isinstance(upload, dict):
            raise MastodonError(422, "Validation failed: File can't be blank")
        media_id = str(109000000000000000 + next(self._ids))
        self.media[media_id] = {
            "id": media_id,
            "type": "image",
            "url": None,
            "preview_url": f"https://{self.domain}/media/small/{media_id}.png",
            "remote_url": None,
            "meta": {},
            "description": params.get("description"),
            "blurhash": None,
            "polls_left": self.media_polls_until_ready,
        }
        return JSONResponse(self._media_json(media_id), 202)

    def _media_json(self, media_id: str) -> dict[str, Any]:
        return {k: v for k, v in self.media[media_id].items() if k != "polls_left"}

    async def _get_media(self, request: Request) -> Response:
        """GET /api/v1/media/:id: 206 until processed, then 200 with its url."""
        self._authorize(request)
        media = self.media.get(request.path_params["id"])
        if media is None:
            raise MastodonError(404, "Record not found")
        if media["polls_left"] > 0:
            media["polls_left"] -= 1
            return JSONResponse(self._media_json(media["id"]), 206)
        media["url"] = f"https://{self.domain}/media/original/{media['id']}.png"
        return JSONResponse(self._media_json(media["id"]))
