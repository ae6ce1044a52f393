"""What Facebook and Instagram share: Meta's Graph API, its error codes and its throttles.

Graph answers almost every error with HTTP 400 -- throttling included -- and puts the
meaning in the body, ``{"error": {"message", "type", "code", "error_subcode"?,
"is_transient"?, "fbtrace_id"}}``. So errors are classified by ``code``, not by status::

    code                          meaning                         becomes
    1, 2, 341, 368                temporary, app limit, blocked   RetryableError
    4, 17, 32, 613, 80001         app / user / Page throttles     RetryableError, waiting for
                                                                  X-Business-Use-Case-Usage's
                                                                  estimated_time_to_regain_access
    9 + subcode 2207042           Instagram's publishing quota    RetryableError
    9004 + subcode 2207052        Meta could not fetch the image  RetryableError
    506                           duplicate post                  AlreadyDelivered
    190                           token expired or revoked        PermanentError: re-authorise
    10, 200-299                   a permission is missing         PermanentError
    100 and anything else         invalid request                 PermanentError
    (no Graph error in the body)  an HTML error page and such     by HTTP status (5xx retry)

The token travels in an ``Authorization: Bearer`` header, never in a URL.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx

from broadcaster.channels.http_api import HttpChannel, json_object, status_line
from broadcaster.errors import AlreadyDelivered, DeliveryError, PermanentError, RetryableError

TEMPORARY = frozenset({1, 2, 341, 368})
THROTTLED = frozenset({4, 17, 32, 613, 80001})
EXPIRED_TOKEN = 190
DUPLICATE = 506
QUOTA = (9, 2207042)
DOWNLOAD_FAILED = (9004, 2207052)


class GraphChannel(HttpChannel):
    """Base of the channels that call ``{api_url}/{api_version}/...`` with a Meta token."""

    #: the variable holding this channel's token and what the token is, for "re-authorise"
    token_variable: ClassVar[str]
    token_kind: ClassVar[str] = "token"

    def __init__(
        self, http: httpx.AsyncClient, *, token: str, api_url: str, api_version: str
    ) -> None:
        super().__init__(http, api_url, [token])
        self._token = token
        self.api_version = api_version

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.api_version}/{path.lstrip('/')}"

    async def graph(
        self,
        method: str,
        path: str,
        *,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One Graph call: its JSON object, or the DeliveryError its error means."""
        response = await self.call(
            method,
            self.url(path),
            data=data,
            params=params,
            headers={"Authorization": f"Bearer {self._token}"},
        )
        body = json_object(response)
        if response.is_success and "error" not in body:
            return body
        raise self.graph_error(response, body)

    def graph_error(self, response: httpx.Response, body: dict[str, Any]) -> DeliveryError:
        """The DeliveryError for a Graph error reply (see the table above)."""
        error = body.get("error")
        if not isinstance(error, dict) or not isinstance(error.get("code"), int):
            return self.failure(response, status_line(response))
        code, subcode = error["code"], error.get("error_subcode")
        message = str(error.get("message") or f"error {code}")
        if f"#{code}" not in message:
            message = f"(#{code}) {message}"
        if subcode:
            message += f" [subcode {subcode}]"
        text = self.safe(f"{self.name}: {message.rstrip(' .')}")
        if code == DUPLICATE:
            return AlreadyDelivered(f"{text}: it was posted before")
        if code == EXPIRED_TOKEN:
            return PermanentError(
                f"{text}: the token expired or was revoked; re-authorise the {self.token_kind} "
                f"and set {self.token_variable}"
            )
        if code == 10 or 200 <= code <= 299:
            return PermanentError(f"{text}: the token lacks a permission this needs")
        if code in THROTTLED or code in TEMPORARY or (code, subcode) in (QUOTA, DOWNLOAD_FAILED):
            return RetryableError(text, regain_access(response))
        if error.get("is_transient") is True or response.status_code >= 500:
            return RetryableError(text)
        return PermanentError(text)


def regain_access(response: httpx.Response) -> float | None:
    """Seconds until a throttled Page may call again: the largest
    ``estimated_time_to_regain_access`` (minutes) in ``X-Business-Use-Case-Usage``."""
    header = response.headers.get("X-Business-Use-Case-Usage")
    if not header:
        return None
    try:
        usage = json.loads(header)
        minutes = [
            float(entry.get("estimated_time_to_regain_access") or 0)
            for entries in usage.values()
            for entry in entries
        ]
    except (ValueError, AttributeError, TypeError):
        return None
    wait = max(minutes, default=0.0)
    return wait * 60 if wait > 0 else None
