"""X (Twitter): one account posting with ``POST /2/tweets``.

Requests are signed with OAuth 1.0a in user context (HMAC-SHA1) by oauthlib's ``Client``:
the four credentials are BROADCAST_X_CONSUMER_KEY, _CONSUMER_SECRET, _ACCESS_TOKEN and
_ACCESS_TOKEN_SECRET. The body is JSON, which OAuth 1.0a does not sign, so only the method,
the URL and the ``oauth_*`` parameters go into the signature.

Length is X's own weighted count (twitter-text v3, ``Limits`` unit ``x-weighted``): most
scripts 1 per character, CJK and other wide scripts 2, an emoji sequence 2, every URL 23;
at most 280.

Failures: the 403 "duplicate content" refusal means the post is there already (counted as
sent, which also makes a retry after a lost reply safe); a 429 waits until
``x-rate-limit-reset`` (epoch seconds -- X sends no Retry-After), or until the 24-hour
reset when that cap is the one exhausted; a reply saying no requests remain holds the next
posts until the reset. 401 and other 403s are permanent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx

from broadcaster.channels.base import (
    Channel,
    Limits,
    Outgoing,
    Receipt,
    Skipped,
    Target,
    required_secrets,
)
from broadcaster.channels.http_api import HttpChannel, json_object, seconds_until, status_line
from broadcaster.errors import AlreadyDelivered, DeliveryError, RetryableError

if TYPE_CHECKING:
    from broadcaster.channels import Deps
    from broadcaster.channels.settings.x import XConfig

LIMITS = Limits(280, unit="x-weighted", url_length=23)
DUPLICATE = "duplicate content"
CREDENTIALS = "check BROADCAST_X_CONSUMER_KEY/_SECRET and BROADCAST_X_ACCESS_TOKEN/_SECRET"


@dataclass(frozen=True)
class Tweet:
    """The JSON body of one post."""

    body: dict[str, Any]


class XChannel(HttpChannel):
    name = "x"
    accepts = frozenset({"announce", "remind", "publish"})
    parts = ("text",)
    limits = LIMITS

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        api_url: str = "https://api.x.com",
    ) -> None:
        secrets = [consumer_key, consumer_secret, access_token, access_token_secret]
        super().__init__(http, api_url, secrets)
        from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, Client  # only when X is configured

        self._oauth = Client(
            consumer_key,
            client_secret=consumer_secret,
            resource_owner_key=access_token,
            resource_owner_secret=access_token_secret,
            signature_method=SIGNATURE_HMAC_SHA1,
        )
        user_id = access_token.split("-", 1)[0]  # X's access tokens start "<user id>-"
        self.account = user_id if user_id.isdigit() and user_id != access_token else "account"
        self._held_until = 0.0

    def targets(self) -> list[Target]:
        return [Target(self.account)]

    def build(self, outgoing: Outgoing) -> Tweet:
        return Tweet({"text": outgoing.message["text"]})

    async def send(self, payload: Tweet) -> Receipt:
        wait = self._held_until - time.time()
        if wait > 0:
            raise RetryableError("x: rate limit reached, waiting for its reset", wait)
        url = f"{self.base_url}/2/tweets"
        response = await self.call("POST", url, json=payload.body, headers=self.signed("POST", url))
        self._note_rate_limit(response)
        body = json_object(response)
        data = body.get("data") if isinstance(body.get("data"), dict) else None
        if response.status_code != 201 or not data or not data.get("id"):
            raise self._error(response, body)
        return {"id": str(data["id"]), "url": f"https://x.com/i/web/status/{data['id']}"}

    async def check(self) -> str:
        """``GET /2/users/me`` proves the four credentials sign correctly; posts nothing."""
        url = f"{self.base_url}/2/users/me"
        response = await self.call("GET", url, headers=self.signed("GET", url))
        body = json_object(response)
        user = body.get("data") if isinstance(body.get("data"), dict) else None
        if not response.is_success or user is None:
            raise self._error(response, body)
        return f"x: signed in as @{user.get('username', '?')} ({user.get('id', '?')})"

    def signed(self, method: Literal["GET", "POST"], url: str) -> dict[str, str]:
        """The ``Authorization: OAuth ...`` header for a request without form parameters."""
        _uri, headers, _body = self._oauth.sign(url, http_method=method)
        return {"Authorization": headers["Authorization"]}

    # -- helpers ----------------------------------------------------------------------------

    def _note_rate_limit(self, response: httpx.Response) -> None:
        """After a reply with no posts left in a window, hold the next until its reset."""
        wait = _exhausted_wait(response)
        if wait:
            self._held_until = time.time() + wait

    def _error(self, response: httpx.Response, body: dict[str, Any]) -> DeliveryError:
        detail = str(body.get("detail") or body.get("title") or status_line(response))
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            detail += f" ({errors[0].get('message', '')})".replace(" ()", "")
        if response.status_code == 403 and DUPLICATE in detail.lower():
            return AlreadyDelivered(self.safe(f"x: {detail}"))
        if response.status_code == 401:
            detail += f" ({CREDENTIALS})"
        wait = None
        if response.status_code == 429:
            wait = _exhausted_wait(response) or seconds_until(
                response.headers.get("x-rate-limit-reset")
            )
        return self.failure(response, detail, wait)


def _exhausted_wait(response: httpx.Response) -> float | None:
    """Seconds until the latest reset among the windows (15 min, 24 h) with nothing left."""
    waits = [
        seconds_until(response.headers.get(f"{prefix}-reset"))
        for prefix in ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour")
        if response.headers.get(f"{prefix}-remaining") == "0"
    ]
    return max((w for w in waits if w is not None), default=None)


def from_config(section: XConfig, deps: Deps) -> Channel | Skipped:
    """``channels.x`` and the four BROADCAST_X_* credentials as a channel."""
    fields = ("x_consumer_key", "x_consumer_secret", "x_access_token", "x_access_token_secret")
    found = required_secrets("x", deps.secrets, *fields)
    if isinstance(found, Skipped):
        return found
    return XChannel(
        deps.http,
        consumer_key=found["x_consumer_key"],
        consumer_secret=found["x_consumer_secret"],
        access_token=found["x_access_token"],
        access_token_secret=found["x_access_token_secret"],
        api_url=section.api_url,
    )
