"""Fake Meta Graph API for a Facebook Page and an Instagram account (channel-apis.md §4, §5,
§10), served with tests.fakes.server.serve.

What it reproduces because clients get it wrong: errors are HTTP 400 whatever they mean,
with the meaning in ``error.code`` (throttles 4/17/32/613/80001 included, with
``X-Business-Use-Case-Usage`` saying when access comes back); 506 for a duplicate Page post;
190 for an expired token; Instagram's container flow (``IN_PROGRESS`` for a few polls, then
``FINISHED``, or ``ERROR``/``EXPIRED`` when told), publishing only a ``FINISHED`` container,
the 24-hour publishing quota (error 9 / 2207042) and its ``content_publishing_limit``
endpoint; and the image URL is really fetched at container creation, so a card the website
does not serve fails like Meta's "Media download has failed" (9004 / 2207052).

Subcodes other than those in the reference (not ready 2207027, bad image 2207009, published
already 2207006) follow third-party lists, unverified.
"""

from __future__ import annotations

import io
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import regex
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .base import FakeService, Fault, parse_params
from .server import DropConnection

VERSION = regex.compile(r"^v\d{1,3}\.0$")
HASHTAG = regex.compile(r"(?<![\w#])#\w+")
MENTION = regex.compile(r"(?<![\w@])@[\w.]+")
DAY = 86400


class GraphError(Exception):
    """A Graph error body with its HTTP status (400 unless said otherwise)."""

    def __init__(
        self,
        code: int,
        message: str,
        subcode: int | None = None,
        status: int = 400,
        transient: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.subcode, self.status = code, message, subcode, status
        self.transient, self.headers = transient, headers

    def response(self) -> JSONResponse:
        error: dict[str, Any] = {
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
            "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUv",
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.transient is not None:
            error["is_transient"] = self.transient
        return JSONResponse({"error": error}, self.status, self.headers)


@dataclass
class Armed:
    """A Graph error the next `times` matching requests answer with."""

    error: GraphError
    times: int | None
    on: str | None


def static_site(directory: Path) -> Starlette:
    """The website serving the banner folder (where the notice cards are written)."""
    return Starlette(routes=[Mount("/", StaticFiles(directory=directory, check_dir=False))])


class FakeGraph(FakeService):
    """One Page (feed posts) and one Instagram professional account (containers, media)."""

    def __init__(
        self,
        page_id: str = "104857600123456",
        page_token: str = "EAAGpageTOKENfakeGlowAesthetics0001",
        ig_user_id: str = "17841400123456789",
        ig_token: str = "EAAGinstagramTOKENfakeGlow0002",
        polls_until_finished: int = 1,
        quota_total: int = 50,
    ) -> None:
        super().__init__()
        self.page_id, self.page_token = page_id, page_token
        self.ig_user_id, self.ig_token = ig_user_id, ig_token
        self.polls_until_finished = polls_until_finished
        self.quota_total = quota_total
        self.clock: Callable[[], float] = time.time
        self.posts: list[dict[str, Any]] = []
        self.containers: dict[str, dict[str, Any]] = {}
        self.media: list[dict[str, Any]] = []
        self.publish_times: list[float] = []
        self.fetched: list[str] = []  # image URLs fetched at container creation
        self.expired_tokens: set[str] = set()
        self.next_container: tuple[str, str] | None = None  # ("ERROR", detail) or ("EXPIRED", "")
        self.armed: list[Armed] = []
        self.page_usage = 3  # call_count % in X-Business-Use-Case-Usage
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/{version}/{node}", self.endpoint(self._node), methods=["GET"]),
                Route(
                    "/{version}/{node}/{edge}", self.endpoint(self._edge), methods=["GET", "POST"]
                ),
            ]
        )

    # Switches -----------------------------------------------------------------------------

    def fail_with_graph_error(
        self,
        code: int,
        message: str,
        subcode: int | None = None,
        times: int | None = 1,
        on: str | None = None,
        regain_minutes: int | None = None,
        transient: bool | None = None,
    ) -> None:
        """Answer the next matching requests with a Graph error (HTTP 400); a throttle may say
        when access comes back, in X-Business-Use-Case-Usage."""
        headers = None
        if regain_minutes is not None:
            headers = {"X-Business-Use-Case-Usage": self._usage(100, regain_minutes)}
        error = GraphError(code, message, subcode, transient=transient, headers=headers)
        self.armed.append(Armed(error, times, on))

    def expire_token(self, token: str) -> None:
        self.expired_tokens.add(token)

    def fail_after_publish(self, times: int | None = 1) -> None:
        """Publish the container, then lose the reply."""
        self.faults.append(Fault("after_create", times, "media_publish"))

    def expire_containers(self) -> None:
        """Every container not yet published is now EXPIRED (24 h passed)."""
        for container in self.containers.values():
            if container["status_code"] != "PUBLISHED":
                container["status_code"] = "EXPIRED"

    def too_many_requests(self, retry_after: int) -> Response:
        """Graph throttles with HTTP 400 and a code, not 429: the Page limit (#32)."""
        minutes = max(1, -(-retry_after // 60))
        headers = {"X-Business-Use-Case-Usage": self._usage(100, minutes)}
        message = "(#32) Page request limit reached"
        return GraphError(32, message, headers=headers).response()

    def server_error(self, status: int) -> Response:
        if status == 500:
            message = "An unexpected error has occurred. Please retry your request later."
            return GraphError(2, message, status=500, transient=True).response()
        return HTMLResponse(f"<html><body><h1>{status} Bad Gateway</h1></body></html>", status)

    def after_response(self, request: Request, response: Response) -> None:
        """The Page's usage header on every Page request that got an answer."""
        if isinstance(response, DropConnection) or self.page_id not in request.url.path:
            return
        if "x-business-use-case-usage" not in response.headers:
            response.headers["X-Business-Use-Case-Usage"] = self._usage(self.page_usage, 0)

    def _usage(self, percent: int, minutes: int) -> str:
        entry = {"type": "pages", "call_count": percent, "total_cputime": 1, "total_time": 1}
        return json.dumps({self.page_id: [entry | {"estimated_time_to_regain_access": minutes}]})

    # Routing ------------------------------------------------------------------------------

    async def _node(self, request: Request) -> Response:
        return await self._answer(request, self._read_node)

    async def _edge(self, request: Request) -> Response:
        return await self._answer(request, self._call_edge)

    async def _answer(self, request: Request, handler: Callable[..., Any]) -> Response:
        try:
            if not VERSION.match(request.path_params["version"]):
                raise GraphError(
                    2500, "Unknown path components: /" + request.path_params["version"]
                )
            for armed in list(self.armed):
                if armed.on is None or armed.on in request.url.path:
                    if armed.times is not None:
                        armed.times -= 1
                        if armed.times <= 0:
                            self.armed.remove(armed)
                    raise armed.error
            params = await parse_params(request)
            request.state.log["params"] = params
            return await handler(request, params)
        except GraphError as error:
            return error.response()

    def _token(self, request: Request, params: dict[str, Any]) -> str:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        token = token or str(params.pop("access_token", ""))
        if not token:
            raise GraphError(104, "An access token is required to request this resource.")
        if token in self.expired_tokens:
            message = "Error validating access token: Session has expired on Tuesday, 19-Mar-24."
            raise GraphError(190, message, subcode=463)
        return token

    def _authorize(self, request: Request, params: dict[str, Any], owner: str) -> None:
        token = self._token(request, params)
        wanted = self.page_token if owner == self.page_id else self.ig_token
        if token != wanted:
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")

    async def _read_node(self, request: Request, params: dict[str, Any]) -> Response:
        node = request.path_params["node"]
        if node == self.page_id:
            self._authorize(request, params, self.page_id)
            return JSONResponse({"id": self.page_id, "name": "Glow Aesthetics"})
        self._authorize(request, params, self.ig_user_id)
        if node == self.ig_user_id:
            return JSONResponse({"id": self.ig_user_id, "username": "glowaesthetics"})
        container = self.containers.get(node)
        if container is None:
            raise GraphError(
                100, f"Unsupported get request. Object with ID '{node}' does not exist"
            )
        if container["status_code"] == "IN_PROGRESS":
            if container["polls_left"] > 0:
                container["polls_left"] -= 1
            else:
                container["status_code"], container["status"] = container["outcome"]
        body = {"id": node, "status_code": container["status_code"]}
        if container["status"]:
            body["status"] = container["status"]
        return JSONResponse(body)

    async def _call_edge(self, request: Request, params: dict[str, Any]) -> Response:
        node, edge, method = (
            request.path_params["node"],
            request.path_params["edge"],
            request.method,
        )
        routes = {
            (self.page_id, "feed", "POST"): self._feed,
            (self.ig_user_id, "media", "POST"): self._create_container,
            (self.ig_user_id, "media_publish", "POST"): self._publish,
            (self.ig_user_id, "content_publishing_limit", "GET"): self._publishing_limit,
        }
        handler = routes.get((node, edge, method))
        if handler is None:
            raise GraphError(100, f"Unknown path components: /{edge}")
        self._authorize(request, params, node)
        return await handler(request, params)

    # Facebook Page ------------------------------------------------------------------------

    async def _feed(self, request: Request, params: dict[str, Any]) -> Response:
        message, link = str(params.get("message") or ""), params.get("link")
        if not message and not link:
            raise GraphError(100, "(#100) Missing message or attachment")
        if len(message) > 63206:
            raise GraphError(100, "(#100) The message is too long")
        if any(p["message"] == message and p.get("link") == link for p in self.posts):
            raise GraphError(506, "(#506) Duplicate status message")
        post_id = f"{self.page_id}_{122100000000000000 + next(self._ids)}"
        self.posts.append({"id": post_id, "message": message, "link": link, "params": params})
        return JSONResponse({"id": post_id})

    # Instagram ----------------------------------------------------------------------------

    async def _create_container(self, request: Request, params: dict[str, Any]) -> Response:
        caption, url = str(params.get("caption") or ""), str(params.get("image_url") or "")
        if not url:
            raise GraphError(100, "(#100) The parameter image_url is required")
        if len(caption) > 2200 or len(HASHTAG.findall(caption)) > 30:
            raise GraphError(100, "(#100) The caption is too long or has too many hashtags")
        if len(MENTION.findall(caption)) > 20:
            raise GraphError(100, "(#100) The caption has too many @-mentions")
        await self._fetch_image(url)
        container_id = str(17890000000000000 + next(self._ids))
        outcome = self.next_container or ("FINISHED", "")
        self.next_container = None
        self.containers[container_id] = {
            "id": container_id,
            "image_url": url,
            "caption": caption,
            "alt_text": params.get("alt_text"),
            "status_code": "IN_PROGRESS",
            "status": "",
            "polls_left": self.polls_until_finished,
            "outcome": outcome,
        }
        return JSONResponse({"id": container_id})

    async def _fetch_image(self, url: str) -> None:
        """Fetch the image as Meta does at creation: a public JPEG of an accepted shape."""
        failed = GraphError(
            9004,
            "Media download has failed. The media URI doesn't meet our requirements.",
            2207052,
            transient=False,
        )
        try:
            async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
                response = await client.get(url)
        except httpx.HTTPError:
            raise failed from None
        self.fetched.append(url)
        data = response.content
        if not response.is_success or not data.startswith(b"\xff\xd8"):
            raise failed
        if response.headers.get("content-type") != "image/jpeg" or len(data) > 8 * 1024 * 1024:
            raise GraphError(9004, "Only JPEG images up to 8 MB are supported", 2207009)
        width, height = Image.open(io.BytesIO(data)).size
        if not (320 <= width <= 1440 and 0.8 <= width / height <= 1.91):
            raise GraphError(36003, "The aspect ratio is not supported.", 2207009)

    async def _publish(self, request: Request, params: dict[str, Any]) -> Response:
        container = self.containers.get(str(params.get("creation_id") or ""))
        if container is None:
            raise GraphError(100, "(#100) The parameter creation_id is required or invalid")
        if container["status_code"] == "PUBLISHED":
            raise GraphError(9007, "The media has already been published", 2207006)
        if container["status_code"] != "FINISHED":
            raise GraphError(9007, "Media ID is not available", 2207027)
        if self._usage_24h() >= self.quota_total:
            message = "(#9) Application request limit reached"
            raise GraphError(9, message, 2207042, transient=False)
        media_id = str(17900000000000000 + next(self._ids))
        container["status_code"] = "PUBLISHED"
        self.media.append({"id": media_id, "container": container})
        self.publish_times.append(self.clock())
        for fault in self.take_faults(request.url.path, frozenset({"after_create"}))[:1]:
            self.consume(fault)
            return DropConnection()
        return JSONResponse({"id": media_id})

    def _usage_24h(self) -> int:
        now = self.clock()
        return sum(1 for t in self.publish_times if now - t < DAY)

    async def _publishing_limit(self, request: Request, params: dict[str, Any]) -> Response:
        config = {"quota_total": self.quota_total, "quota_duration": DAY}
        return JSONResponse({"data": [{"quota_usage": self._usage_24h(), "config": config}]})
