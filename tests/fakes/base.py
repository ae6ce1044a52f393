"""Shared machinery of the fakes: a request log and switchable faults.

Every fake answers each request by first consulting its fault switches, so a test can make the
next N requests (or every request until cleared) slow, rate-limited, failing or lost, and then
prove that the client retries, waits or gives up as the real service demands.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import regex
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from .server import DropConnection, pause

Handler = Callable[[Request], Awaitable[Response]]
FaultKind = Literal["429", "5xx", "delay", "drop", "after_create"]
_BEFORE_HANDLER: frozenset[FaultKind] = frozenset({"429", "5xx", "delay", "drop"})


@dataclass
class Fault:
    """One armed fault; `times=None` keeps it armed until `clear_faults()`."""

    kind: FaultKind
    times: int | None
    on: str | None
    retry_after: int = 1
    status: int = 502
    seconds: float = 0.0
    then: Literal["drop", "delay"] = "drop"

    def matches(self, path: str, kinds: frozenset[FaultKind]) -> bool:
        """`on` is a case-insensitive substring of the path, e.g. "sendMessage" or "statuses"."""
        return self.kind in kinds and (self.on is None or self.on.lower() in path.lower())


class FakeService:
    """Base class: subclasses supply routes and the service's own 429 and 5xx bodies."""

    app: Starlette  # the ASGI app to pass to tests.fakes.server.serve

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.faults: list[Fault] = []

    def fail_with_429(
        self, retry_after: int = 1, times: int | None = 1, on: str | None = None
    ) -> None:
        """Answer the next `times` matching requests with the service's rate-limit error."""
        self.faults.append(Fault("429", times, on, retry_after=retry_after))

    def fail_with_5xx(
        self, status: int = 502, times: int | None = 1, on: str | None = None
    ) -> None:
        """Answer the next `times` matching requests with a server error (retryable)."""
        self.faults.append(Fault("5xx", times, on, status=status))

    def delay(self, seconds: float, times: int | None = 1, on: str | None = None) -> None:
        """Sleep before handling; the request is still processed, like a slow real server."""
        self.faults.append(Fault("delay", times, on, seconds=seconds))

    def drop_connection(self, times: int | None = 1, on: str | None = None) -> None:
        """Close the connection without any response and without processing the request."""
        self.faults.append(Fault("drop", times, on))

    def clear_faults(self) -> None:
        """Disarm every fault switch."""
        self.faults.clear()

    def too_many_requests(self, retry_after: int) -> Response:
        """The service's own 429 response."""
        raise NotImplementedError

    def server_error(self, status: int) -> Response:
        """The service's own 5xx response."""
        raise NotImplementedError

    def after_response(self, request: Request, response: Response) -> None:
        """Hook to add headers (rate-limit counters) to every response."""

    def endpoint(self, handler: Handler) -> Handler:
        """Wrap a route handler with request logging and the fault switches."""

        async def run(request: Request) -> Response:
            await request.body()
            request.state.log = {
                "http_method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "headers": dict(request.headers),
            }
            self.requests.append(request.state.log)
            response = await self._faults_before(request)
            if response is None:
                response = await handler(request)
            self.after_response(request, response)
            return response

        return run

    def take_faults(self, path: str, kinds: frozenset[FaultKind]) -> list[Fault]:
        """Armed faults matching a request, in arming order, without consuming them."""
        return [fault for fault in self.faults if fault.matches(path, kinds)]

    def consume(self, fault: Fault) -> None:
        """Count one use of a fault and disarm it when its `times` run out."""
        if fault.times is None:
            return
        fault.times -= 1
        if fault.times <= 0 and fault in self.faults:
            self.faults.remove(fault)

    async def _faults_before(self, request: Request) -> Response | None:
        """Apply delays, then at most one failing fault, before the real handler runs."""
        for fault in self.take_faults(request.url.path, _BEFORE_HANDLER):
            self.consume(fault)
            if fault.kind == "delay":
                await pause(request, fault.seconds)
                continue
            if fault.kind == "drop":
                return DropConnection()
            if fault.kind == "429":
                return self.too_many_requests(fault.retry_after)
            return self.server_error(fault.status)
        return None


def graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Mastodon and Bluesky count."""
    return len(regex.findall(r"\X", text))


async def parse_params(request: Request) -> dict[str, Any]:
    """Query string merged with a JSON, form-urlencoded or multipart body.

    Uploaded files become {"filename", "content_type", "size", "data"}; repeated form keys
    (media_ids[]) become lists.
    """
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        params.update(body)
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        async with request.form() as form:
            for key in form:
                values = [await _form_value(v) for v in form.getlist(key)]
                params[key] = values if key.endswith("[]") or len(values) > 1 else values[0]
    return params


async def _form_value(value: Any) -> Any:
    """A form field as a string, or an uploaded file as a small dict."""
    if isinstance(value, str):
        return value
    data = await value.read()
    return {
        "filename": value.filename,
        "content_type": value.content_type,
        "size": len(data),
        "data": data,
    }
