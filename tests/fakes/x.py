"""Fake X API v2 (channel-apis.md §6 and §10), served with tests.fakes.server.serve.

What it reproduces because clients get it wrong: OAuth 1.0a HMAC-SHA1 signatures, verified
here with oauthlib's own signature functions over the method, the URL and the oauth_*
parameters only -- a client that signs the JSON body fails; reused nonces and stale
timestamps are refused; the weighted length (asked of twitter-text 3.1.0 itself, by
tests/reference/node.py, so the fake cannot share a mistake with the client's code); 201 + Location; the 403 duplicate refusal; problem-JSON errors; and the
``x-rate-limit-*`` / ``x-user-limit-24hour-*`` headers, with a 429 that has no Retry-After.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from oauthlib.oauth1.rfc5849 import signature, utils
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.reference.node import x_answer

from .base import FakeService, Handler
from .server import DropConnection

DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
TOO_LONG = (
    "Your Tweet text is too long. For more information on how Twitter determines text length "
    "see https://github.com/twitter/twitter-text."
)
WINDOW = 900
TIMESTAMP_SKEW = 300


def weighted_length(text: str) -> int:
    """X's count, from twitter-text 3.1.0 itself (run by Node): never a copy of our rules."""
    return int(x_answer(text)["weightedLength"])


def problem(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": "about:blank", "status": status, **extra}


class FakeX(FakeService):
    """One app and one user: POST /2/tweets and GET /2/users/me, OAuth 1.0a signed."""

    def __init__(
        self,
        consumer_key: str = "xvz1evFS4wEEPTGEFPHBog",
        consumer_secret: str = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        access_token: str = "1456000000000000001-AbCdEfGhIjKlMnOpQrStUvWxYz0123",
        access_token_secret: str = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        post_limit: int = 100,
        daily_limit: int | None = None,
    ) -> None:
        super().__init__()
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.access_token, self.access_token_secret = access_token, access_token_secret
        self.user_id = access_token.split("-", 1)[0]
        self.post_limit, self.daily_limit = post_limit, daily_limit
        self.clock: Callable[[], float] = time.time
        self.tweets: list[dict[str, Any]] = []
        self.nonces: set[str] = set()
        self.signature_failures = 0
        self._window = (0, 0)  # (window index, posts in it)
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/2/tweets", self.endpoint(self._guard(self._create)), methods=["POST"]),
                Route("/2/users/me", self.endpoint(self._guard(self._me)), methods=["GET"]),
            ]
        )

    # Faults and headers -------------------------------------------------------------------

    def _reset(self) -> int:
        now = int(self.clock())
        return now - now % WINDOW + WINDOW

    def too_many_requests(self, retry_after: int) -> Response:
        headers = {
            "x-rate-limit-limit": str(self.post_limit),
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(self.clock()) + retry_after),
        }
        body = problem(429, "Too Many Requests", "Too Many Requests")
        return JSONResponse(body, 429, headers)

    def server_error(self, status: int) -> Response:
        if status == 503:
            return JSONResponse(problem(503, "Service Unavailable", "Service Unavailable"), 503)
        return HTMLResponse("<html><body>Over capacity</body></html>", status)

    def after_response(self, request: Request, response: Response) -> None:
        """Rate-limit headers on every answer to /2/tweets (a 429 keeps its own)."""
        if isinstance(response, DropConnection) or request.url.path != "/2/tweets":
            return
        if "x-rate-limit-remaining" in response.headers:
            return
        response.headers["x-rate-limit-limit"] = str(self.post_limit)
        response.headers["x-rate-limit-remaining"] = str(max(self.post_limit - self._window[1], 0))
        response.headers["x-rate-limit-reset"] = str(self._reset())
        if self.daily_limit is not None:
            response.headers["x-user-limit-24hour-limit"] = str(self.daily_limit)
            left = max(self.daily_limit - self._posts_today(), 0)
            response.headers["x-user-limit-24hour-remaining"] = str(left)
            response.headers["x-user-limit-24hour-reset"] = str(int(self.clock()) + 86400)

    def _guard(self, handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            if not self._signed_correctly(request):
                body = problem(401, "Unauthorized", "Unauthorized")
                return JSONResponse(body, 401)
            return await handler(request)

        return run

    # OAuth 1.0a ---------------------------------------------------------------------------

    def _signed_correctly(self, request: Request) -> bool:
        """RFC 5849 §3.4 with the app's and the user's secrets; the body is never included."""
        header = request.headers.get("authorization", "")
        try:
            oauth = {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}
        except ValueError:
            return False
        request.state.log["oauth"] = oauth
        fresh = abs(self.clock() - float(oauth.get("oauth_timestamp", 0))) <= TIMESTAMP_SKEW
        if (
            oauth.get("oauth_consumer_key") != self.consumer_key
            or oauth.get("oauth_token") != self.access_token
            or oauth.get("oauth_signature_method") != "HMAC-SHA1"
            or oauth.get("oauth_version", "1.0") != "1.0"
            or not fresh
            or oauth.get("oauth_nonce") in self.nonces
        ):
            return False
        params = signature.collect_parameters(
            uri_query=request.url.query, headers={"Authorization": header}
        )
        signed = SimpleNamespace(
            uri=str(request.url),
            http_method=request.method,
            params=params,
            signature=oauth.get("oauth_signature", ""),
        )
        if not signature.verify_hmac_sha1(signed, self.consumer_secret, self.access_token_secret):
            self.signature_failures += 1
            return False
        self.nonces.add(oauth["oauth_nonce"])
        return True

    # Endpoints ----------------------------------------------------------------------------

    def _posts_today(self) -> int:
        now = self.clock()
        return sum(1 for t in self.tweets if now - t["at"] < 86400)

    async def _me(self, request: Request) -> Response:
        user = {"id": self.user_id, "name": "Glow Aesthetics", "username": "glowaesthetics"}
        return JSONResponse({"data": user})

    async def _create(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            detail = "One or more parameters to your request was invalid."
            errors = [{"parameters": {"text": []}, "message": "The `text` field is required"}]
            return JSONResponse(problem(400, "Invalid Request", detail, errors=errors), 400)
        text = body["text"]
        request.state.log["body"] = body
        window = int(self.clock()) // WINDOW
        used = self._window[1] if self._window[0] == window else 0
        if used >= self.post_limit or (
            self.daily_limit is not None and self._posts_today() >= self.daily_limit
        ):
            return self.too_many_requests(self._reset() - int(self.clock()))
        self._window = (window, used + 1)
        if weighted_length(text) > 280:
            return JSONResponse(problem(400, "Invalid Request", TOO_LONG), 400)
        if any(t["text"] == text for t in self.tweets):
            return JSONResponse(problem(403, "Forbidden", DUPLICATE), 403)
        tweet_id = str(1770000000000000000 + next(self._ids))
        self.tweets.append({"id": tweet_id, "text": text, "body": body, "at": self.clock()})
        data = {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}
        headers = {"Location": f"https://api.x.com/2/tweets/{tweet_id}"}
        return JSONResponse({"data": data}, 201, headers)
