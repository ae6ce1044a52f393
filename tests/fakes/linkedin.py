"""Fake LinkedIn Posts API (channel-apis.md §7 and §10), served with tests.fakes.server.serve.

What it reproduces because clients get it wrong: all three headers are required (Bearer
token, an *active* ``LinkedIn-Version``, ``X-Restli-Protocol-Version: 2.0.0``); 201 with an
empty body and the post's URN in ``x-restli-id``; the "little" format surprise -- an
unescaped reserved character silently truncates the stored post while the answer is still
201; 422 ``DUPLICATE_POST``; a bare 429 without rate headers; 401/403 bodies.

The exact wording of the version and length errors follows third-party reports (unverified).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .base import FakeService

RESERVED = set("\\|{}@[]()<>#*_~")
REQUIRED = ("author", "commentary", "visibility", "distribution", "lifecycleState")


class LinkedInError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.body = status, {"status": status, "message": message, **extra}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, self.status)


def visible_commentary(commentary: str) -> str:
    """What LinkedIn shows: escapes resolved, and the text cut at the first unescaped
    reserved character (the post is still accepted)."""
    shown, escaped = [], False
    for char in commentary:
        if escaped:
            shown.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in RESERVED:
            break
        else:
            shown.append(char)
    return "".join(shown)


class FakeLinkedIn(FakeService):
    """One member token that administers one organisation page."""

    def __init__(
        self,
        token: str = "AQVlinkedinFAKEmemberTOKENglow0003",
        organization: str = "urn:li:organization:5515715",
        oldest_version: str = "202410",
        newest_version: str = "202612",
        role: str = "ADMINISTRATOR",
    ) -> None:
        super().__init__()
        self.token, self.organization, self.role = token, organization, role
        self.oldest_version, self.newest_version = oldest_version, newest_version
        self.posts: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/rest/posts", self.endpoint(self._guard(self._create)), methods=["POST"]),
                Route(
                    "/rest/organizationAcls",
                    self.endpoint(self._guard(self._acls)),
                    methods=["GET"],
                ),
            ]
        )

    def too_many_requests(self, retry_after: int) -> Response:
        """A bare 429: no Retry-After and no rate-limit headers."""
        message = (
            "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."
        )
        return JSONResponse({"status": 429, "serviceErrorCode": 101, "message": message}, 429)

    def server_error(self, status: int) -> Response:
        if status == 500:
            return JSONResponse({"status": 500, "message": "Internal Server Error"}, 500)
        return HTMLResponse("<html><body><h1>Bad Gateway</h1></body></html>", status)

    def _guard(self, handler: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                self._check_headers(request)
                return await handler(request)
            except LinkedInError as error:
                return error.response()

        return run

    def _check_headers(self, request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            raise LinkedInError(
                401, "Invalid access token", serviceErrorCode=65600, code="INVALID_ACCESS_TOKEN"
            )
        version = request.headers.get("linkedin-version")
        if not version:
            message = "A version must be present. Please specify a version by adding the LinkedIn-Version header."
            raise LinkedInError(400, message, code="VERSION_MISSING")
        if not (version.isdigit() and self.oldest_version <= version <= self.newest_version):
            raise LinkedInError(
                426, f"Requested version {version} is not active", code="NONEXISTENT_VERSION"
            )
        if request.headers.get("x-restli-protocol-version") != "2.0.0":
            raise LinkedInError(400, "Restli protocol version 2.0.0 is required for this resource")

    async def _acls(self, request: Request) -> Response:
        element = {
            "roleAssignee": "urn:li:person:Zk3fakeMember",
            "state": "APPROVED",
            "role": self.role,
            "organization": self.organization,
        }
        return JSONResponse({"elements": [element], "paging": {"count": 10, "start": 0}})

    async def _create(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise LinkedInError(400, "Invalid JSON in the request body") from None
        request.state.log["body"] = body
        for name in REQUIRED:
            if name not in body:
                raise LinkedInError(
                    422,
                    f"ERROR :: /{name} :: field is required but not found and has no default value",
                )
        if body["author"] != self.organization or self.role not in (
            "ADMINISTRATOR",
            "CONTENT_ADMIN",
            "DIRECT_SPONSORED_CONTENT_POSTER",
        ):
            raise LinkedInError(
                403,
                "Not enough permissions to access: partnerApiPostsExternal.CREATE.20251001",
                serviceErrorCode=100,
                code="ACCESS_DENIED",
            )
        commentary = str(body["commentary"])
        if len(visible_commentary(commentary)) > 3000:
            raise LinkedInError(422, "ERROR :: /commentary :: length exceeds maximum of 3000")
        article = (body.get("content") or {}).get("article")
        if article is not None and not (article.get("source") and article.get("title")):
            raise LinkedInError(422, "ERROR :: /content/article :: source and title are required")
        if any(p["body"]["commentary"] == commentary for p in self.posts):
            urn = next(p["urn"] for p in self.posts if p["body"]["commentary"] == commentary)
            details = {
                "inputErrors": [
                    {"description": "Duplicate post is detected", "code": "DUPLICATE_POST"}
                ]
            }
            raise LinkedInError(
                422,
                f"Content is a duplicate of {urn}",
                errorDetailType="com.linkedin.common.error.BadRequest",
                errorDetails=details,
            )
        urn = f"urn:li:share:70123456789012{next(self._ids):05d}"
        self.posts.append({"urn": urn, "body": body, "visible": visible_commentary(commentary)})
        return Response(status_code=201, headers={"x-restli-id": urn})
