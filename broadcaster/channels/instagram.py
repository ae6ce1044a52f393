"""Instagram: the notice card, captioned with the message, on one professional account.

Instagram takes no text-only posts and no uploads: an image is given as a public URL that
Meta fetches. So each delivery writes its notice card beside the banner files
(:mod:`.cards`), then runs Meta's two steps:

1. ``POST /{ig-user-id}/media`` with ``image_url``, ``caption`` and ``alt_text`` creates a
   *container*; its id is remembered in the ledger DB under the delivery at once;
2. ``GET /{container-id}?fields=status_code,status`` is polled (``poll_seconds`` apart, at
   most ``poll_attempts`` times per try) until ``FINISHED``, then
   ``POST /{ig-user-id}/media_publish`` with ``creation_id`` publishes it.

Never twice: a retry (a lost reply, a container still processing) goes back to the
remembered container instead of making another, and a container already ``PUBLISHED``
counts as sent. A container that ``EXPIRED`` (24 h unpublished) or failed because Meta
could not download the card is forgotten, so the next try makes a fresh one -- nothing was
published from it; any other ``ERROR`` is permanent.

The daily publishing quota (a moving 24 h window) is read from
``content_publishing_limit`` before a container is made; at ``min(quota_total,
daily_limit)`` the delivery waits until the oldest post this channel published leaves the
window (or an hour, if it published none of them).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import httpx
import regex

from broadcaster.channels.base import (
    ALWAYS,
    Channel,
    Limits,
    Outgoing,
    Receipt,
    Skipped,
    Store,
    Target,
    required_secrets,
)
from broadcaster.channels.cards import Card, Cards, notice_cards
from broadcaster.channels.graph_api import QUOTA, GraphChannel
from broadcaster.errors import DeliveryError, PermanentError, RetryableError

if TYPE_CHECKING:
    from broadcaster.channels import Deps
    from broadcaster.channels.settings.instagram import InstagramConfig

CONTAINER_KEY = "instagram:container:"  # + sha256 of the delivery key -> the container id
PUBLISHED_KEY = "instagram:published:"  # + user id -> JSON list of publish times (epoch s)
DAY = 86400.0
UNKNOWN_QUOTA_WAIT = 3600.0
MAX_HASHTAGS, MAX_MENTIONS = 30, 20
HASHTAG = regex.compile(r"(?<![\w#])#\w+")
MENTION = regex.compile(r"(?<![\w@])@[\w.]+")
#: container ERROR subcodes after which a fresh container may work (Meta's fetch failed)
DOWNLOAD_SUBCODES = ("2207001", "2207003", "2207052")


@dataclass(frozen=True)
class CardPost:
    """One delivery: its ledger key (which names its container), caption and card."""

    key: str
    caption: str
    card: Card


class InstagramChannel(GraphChannel):
    name = "instagram"
    accepts = frozenset({"announce", "remind", "publish"})
    repeat_unknown_within = ALWAYS  # the remembered container says whether it was published
    parts = ("text",)
    limits = Limits(2200)  # caption characters; links in it are not clickable
    token_variable = "BROADCAST_INSTAGRAM_TOKEN"
    token_kind = "Instagram token"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str,
        user_id: str,
        cards: Cards,
        store: Store,
        api_url: str = "https://graph.facebook.com",
        api_version: str = "v24.0",
        daily_limit: int = 50,
        poll_seconds: float = 5.0,
        poll_attempts: int = 24,
    ) -> None:
        super().__init__(http, token=token, api_url=api_url, api_version=api_version)
        self.user_id = user_id
        self.cards = cards
        self.store = store
        self.daily_limit = daily_limit
        self.poll_seconds = poll_seconds
        self.poll_attempts = poll_attempts

    def targets(self) -> list[Target]:
        return [Target(self.user_id)]

    def build(self, outgoing: Outgoing) -> CardPost:
        caption = outgoing.message["text"]
        tags, mentions = len(HASHTAG.findall(caption)), len(MENTION.findall(caption))
        if tags > MAX_HASHTAGS or mentions > MAX_MENTIONS:
            raise PermanentError(
                f"instagram: the caption has {tags} hashtags and {mentions} @-mentions; "
                f"Instagram allows {MAX_HASHTAGS} and {MAX_MENTIONS}"
            )
        return CardPost(outgoing.key, caption, self.cards.card(outgoing))

    async def send(self, payload: CardPost) -> Receipt:
        key = CONTAINER_KEY + hashlib.sha256(payload.key.encode()).hexdigest()
        container = self.store.get_value(key) or None
        if container is not None and await self._settled(container, key) == "PUBLISHED":
            return {"container_id": container, "image_url": payload.card.url, "found": True}
        await self._within_quota()
        if container is None:
            self.cards.write(payload.card)
            container = await self._create(payload)
            self.store.set_value(key, container)  # from now on, retries come back to it
            await self._settled(container, key)
        published = await self.graph(
            "POST", f"{self.user_id}/media_publish", data={"creation_id": container}
        )
        self._note_published()
        return {"id": published.get("id"), "container_id": container, "image_url": payload.card.url}

    async def check(self) -> str:
        """Reads the account and its publishing quota; posts nothing."""
        account = await self.graph("GET", self.user_id, params={"fields": "id,username"})
        usage, limit = await self._quota()
        return (
            f"instagram: the token reads @{account.get('username', '?')} ({self.user_id}); "
            f"{usage} of {limit} posts used in the last 24 h"
        )

    def graph_error(self, response: httpx.Response, body: dict[str, Any]) -> DeliveryError:
        """As Graph's, but over the publishing quota waits for the window to move on."""
        error = body.get("error")
        exc = super().graph_error(response, body)
        if isinstance(error, dict) and (error.get("code"), error.get("error_subcode")) == QUOTA:
            return RetryableError(exc.message, self._quota_wait())
        return exc

    # -- the two steps --------------------------------------------------------------------

    async def _create(self, payload: CardPost) -> str:
        data = {
            "image_url": payload.card.url,
            "caption": payload.caption,
            "alt_text": payload.card.alt,
        }
        body = await self.graph("POST", f"{self.user_id}/media", data=data)
        if not body.get("id"):
            raise RetryableError("instagram: Meta answered without a container id")
        return str(body["id"])

    async def _settled(self, container: str, key: str) -> str:
        """Poll the container until it is FINISHED or PUBLISHED; raise for anything else."""
        for attempt in range(self.poll_attempts):
            if attempt:
                await asyncio.sleep(self.poll_seconds)
            found = await self.graph("GET", container, params={"fields": "status_code,status"})
            status = str(found.get("status_code", ""))
            if status in ("FINISHED", "PUBLISHED"):
                return status
            detail = str(found.get("status") or "")
            if status == "EXPIRED":
                self.store.set_value(key, "")
                raise RetryableError(
                    f"instagram: container {container} expired unpublished; the next attempt "
                    "makes a fresh one"
                )
            if status == "ERROR":
                self._failed(container, key, detail)
        raise RetryableError(
            f"instagram: container {container} still processing after {self.poll_attempts} "
            "checks; the next attempt checks it again",
            self.poll_seconds,
        )

    def _failed(self, container: str, key: str, detail: str) -> NoReturn:
        message = f"instagram: container {container} failed ({detail or 'no detail'})"
        if any(code in detail for code in DOWNLOAD_SUBCODES) or "download" in detail.lower():
            self.store.set_value(key, "")
            raise RetryableError(
                f"{message}: Meta could not fetch the card; the next attempt makes a fresh "
                "container (is channels.banner.public_url served publicly?)"
            )
        raise PermanentError(message)

    # -- the quota ------------------------------------------------------------------------

    async def _quota(self) -> tuple[int, int]:
        """(posts in the last 24 h, the limit that applies: Meta's or ours, the lower)."""
        body = await self.graph(
            "GET",
            f"{self.user_id}/content_publishing_limit",
            params={"fields": "quota_usage,config"},
        )
        try:
            entry = body["data"][0]
            usage = int(entry.get("quota_usage", 0))
            total = int((entry.get("config") or {}).get("quota_total", self.daily_limit))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            return 0, self.daily_limit  # unreadable: Meta still refuses over quota (code 9)
        return usage, min(total, self.daily_limit)

    async def _within_quota(self) -> None:
        usage, limit = await self._quota()
        if usage >= limit:
            raise RetryableError(
                f"instagram: {usage} of {limit} posts published in the last 24 h; waiting",
                self._quota_wait(),
            )

    def _published_times(self) -> list[float]:
        try:
            times = json.loads(self.store.get_value(PUBLISHED_KEY + self.user_id) or "[]")
        except ValueError:
            return []
        now = time.time()
        return [float(t) for t in times if isinstance(t, int | float) and now - t < DAY]

    def _note_published(self) -> None:
        times = [*self._published_times(), time.time()]
        self.store.set_value(PUBLISHED_KEY + self.user_id, json.dumps(times[-100:]))

    def _quota_wait(self) -> float:
        """Until our oldest post in the window leaves it; an hour if we know of none."""
        times = self._published_times()
        if not times:
            return UNKNOWN_QUOTA_WAIT
        return max(60.0, min(times) + DAY - time.time())


def from_config(section: InstagramConfig, deps: Deps) -> Channel | Skipped:
    """``channels.instagram`` and BROADCAST_INSTAGRAM_TOKEN as a channel."""
    found = required_secrets("instagram", deps.secrets, "instagram_token")
    if isinstance(found, Skipped):
        return found
    return InstagramChannel(
        deps.http,
        token=found["instagram_token"],
        user_id=section.user_id,
        cards=notice_cards(deps.config),
        store=deps.store,
        api_url=section.api_url,
        api_version=section.api_version,
        daily_limit=section.daily_limit,
        poll_seconds=section.poll_seconds,
        poll_attempts=section.poll_attempts,
    )
