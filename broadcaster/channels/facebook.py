"""Facebook: one Page posting to its feed with ``POST /{page-id}/feed``.

A post is the plain-text ``message``; an article adds its ``link``, from which Facebook
builds the preview card itself (the API no longer lets a client set the card's title or
image). The Page access token (``pages_manage_posts``) is BROADCAST_FACEBOOK_TOKEN; the Graph
API version is ``channels.facebook.api_version``.

Errors are read by their Graph ``code`` (see :mod:`.graph_api`): throttles wait as long as
``X-Business-Use-Case-Usage`` says, an expired token asks for re-authorisation, and 506
"duplicate status message" means the post is already there -- which is also what makes a
retry after a lost reply safe: the repeat is refused as a duplicate and counts as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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
from broadcaster.channels.graph_api import GraphChannel

if TYPE_CHECKING:
    from broadcaster.channels import Deps
    from broadcaster.channels.settings.facebook import FacebookConfig


@dataclass(frozen=True)
class FeedPost:
    """The form fields of one Page post."""

    params: dict[str, str]


class FacebookChannel(GraphChannel):
    name = "facebook"
    accepts = frozenset({"announce", "remind", "publish"})
    parts = ("text",)
    limits = Limits(63206)  # Facebook's limit for a post's message
    token_variable = "BROADCAST_FACEBOOK_TOKEN"
    token_kind = "Page token"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str,
        page_id: str,
        api_url: str = "https://graph.facebook.com",
        api_version: str = "v24.0",
    ) -> None:
        super().__init__(http, token=token, api_url=api_url, api_version=api_version)
        self.page_id = page_id

    def targets(self) -> list[Target]:
        return [Target(self.page_id)]

    def build(self, outgoing: Outgoing) -> FeedPost:
        params = {"message": outgoing.message["text"]}
        if outgoing.link:
            params["link"] = outgoing.link
        return FeedPost(params)

    async def send(self, payload: FeedPost) -> Receipt:
        body = await self.graph("POST", f"{self.page_id}/feed", data=payload.params)
        post_id = str(body.get("id", ""))
        return {"id": post_id, "url": f"https://www.facebook.com/{post_id}" if post_id else None}

    async def check(self) -> str:
        """Reads the Page with the token; posts nothing."""
        page = await self.graph("GET", self.page_id, params={"fields": "id,name"})
        return f"facebook: the token reads Page {page.get('name', '?')!r} ({self.page_id})"


def from_config(section: FacebookConfig, deps: Deps) -> Channel | Skipped:
    """``channels.facebook`` and BROADCAST_FACEBOOK_TOKEN as a channel."""
    found = required_secrets("facebook", deps.secrets, "facebook_token")
    if isinstance(found, Skipped):
        return found
    return FacebookChannel(
        deps.http,
        token=found["facebook_token"],
        page_id=section.page_id,
        api_url=section.api_url,
        api_version=section.api_version,
    )
