"""LinkedIn: one organisation page posting with the Posts API, ``POST /rest/posts``.

Every request carries ``Authorization: Bearer`` (a member's token with
``w_organization_social``, BROADCAST_LINKEDIN_TOKEN, from an admin of the page),
``LinkedIn-Version: YYYYMM`` (``channels.linkedin.version``: versions retire after about a
year) and ``X-Restli-Protocol-Version: 2.0.0``.

The commentary is LinkedIn's "little" text format, in which ``\\ | { } @ [ ] ( ) < > # * _ ~``
are markup: an unescaped one makes LinkedIn silently cut the post short while still
answering 201, so every one of them is backslash-escaped. An article is posted with an
``article`` content block (its URL, title and summary) rather than a link in the text.

LinkedIn answers 201 with an empty body; the post's URN is the ``x-restli-id`` header. A 422
``DUPLICATE_POST`` means the post is there already (counted as sent, which makes a retry
after a lost reply safe). A 429 comes bare, without a wait: it is retried later. 401 and 403
are permanent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
from broadcaster.channels.http_api import HttpChannel, json_object, status_line
from broadcaster.errors import AlreadyDelivered, DeliveryError, PermanentError

if TYPE_CHECKING:
    from broadcaster.channels import Deps
    from broadcaster.channels.settings.linkedin import LinkedInConfig

RESERVED = frozenset("\\|{}@[]()<>#*_~")
POSTING_ROLES = frozenset({"ADMINISTRATOR", "CONTENT_ADMIN", "DIRECT_SPONSORED_CONTENT_POSTER"})


@dataclass(frozen=True)
class Post:
    """The JSON body of one organisation post."""

    body: dict[str, Any]


class LinkedInChannel(HttpChannel):
    name = "linkedin"
    accepts = frozenset({"announce", "remind", "publish"})
    parts = ("text",)
    limits = Limits(3000)  # commentary characters, before escaping

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str,
        organization: str,
        version: str,
        api_url: str = "https://api.linkedin.com",
    ) -> None:
        super().__init__(http, api_url, [token])
        self._token = token
        self.organization = organization  # urn:li:organization:<id>
        self.version = version

    def targets(self) -> list[Target]:
        return [Target(self.organization)]

    def build(self, outgoing: Outgoing) -> Post:
        text = outgoing.message["text"]
        body: dict[str, Any] = {
            "author": self.organization,
            "commentary": escape_little(text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if outgoing.link:
            article = {"source": outgoing.link, "title": outgoing.title or text.split("\n", 1)[0]}
            if outgoing.summary:
                article["description"] = outgoing.summary
            body["content"] = {"article": article}
        return Post(body)

    async def send(self, payload: Post) -> Receipt:
        response = await self.call(
            "POST", f"{self.base_url}/rest/posts", json=payload.body, headers=self._headers()
        )
        urn = response.headers.get("x-restli-id")
        if response.status_code == 201 and urn:
            return {"id": urn, "url": f"https://www.linkedin.com/feed/update/{urn}/"}
        raise self._error(response, json_object(response))

    async def check(self) -> str:
        """The token's roles (organizationAcls) include posting for the page; posts nothing."""
        response = await self.call(
            "GET",
            f"{self.base_url}/rest/organizationAcls",
            params={"q": "roleAssignee", "state": "APPROVED"},
            headers=self._headers(),
        )
        body = json_object(response)
        if not response.is_success:
            raise self._error(response, body)
        roles = {
            str(e.get("role"))
            for e in body.get("elements") or []
            if isinstance(e, dict) and e.get("organization") == self.organization
        }
        if not roles & POSTING_ROLES:
            raise PermanentError(
                f"linkedin: the token's member may not post for {self.organization} (roles: "
                f"{', '.join(sorted(roles)) or 'none'}); an admin must authorise it"
            )
        return f"linkedin: the token may post for {self.organization} ({', '.join(sorted(roles))})"

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            "LinkedIn-Version": self.version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    def _error(self, response: httpx.Response, body: dict[str, Any]) -> DeliveryError:
        message = str(body.get("message") or status_line(response))
        codes = {str(body.get("code") or "")} | {
            str(e.get("code"))
            for e in (body.get("errorDetails") or {}).get("inputErrors") or []
            if isinstance(e, dict)
        }
        if response.status_code == 422 and "DUPLICATE_POST" in codes:
            return AlreadyDelivered(self.safe(f"linkedin: {message}"))
        if response.status_code in (401, 403):
            message += " (check BROADCAST_LINKEDIN_TOKEN and the member's role on the page)"
        elif "not active" in message or "NONEXISTENT_VERSION" in codes:
            message += " (set channels.linkedin.version to a current YYYYMM)"
        return self.failure(response, message)


def escape_little(text: str) -> str:
    """``text`` with every reserved character of LinkedIn's little format backslash-escaped."""
    return "".join(f"\\{char}" if char in RESERVED else char for char in text)


def from_config(section: LinkedInConfig, deps: Deps) -> Channel | Skipped:
    """``channels.linkedin`` and BROADCAST_LINKEDIN_TOKEN as a channel."""
    found = required_secrets("linkedin", deps.secrets, "linkedin_token")
    if isinstance(found, Skipped):
        return found
    return LinkedInChannel(
        deps.http,
        token=found["linkedin_token"],
        organization=section.organization,
        version=section.version,
        api_url=section.api_url,
    )
