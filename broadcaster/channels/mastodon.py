"""Mastodon: one account posting statuses through ``POST /api/v1/statuses``.

Posts are plain text (the server links URLs and shows the article's card by itself). Each
delivery carries an ``Idempotency-Key`` derived from its ledger key, so a retry after a lost
reply returns the status already created instead of posting it again (Mastodon keeps the key
for an hour). The length limit is the instance's own -- ``configuration.statuses`` of
``/api/v2/instance``: ``max_characters`` graphemes, every URL counting
``characters_reserved_per_url`` -- read before a pass renders anything and cached in the
ledger DB for a day, with Mastodon's defaults (500, 23) until it is known.

Rate limits: a 429 waits until ``X-RateLimit-Reset`` (an ISO-8601 time, not epoch seconds),
and a reply saying no requests remain holds the channel's next posts until that time.
Corrections of a moved closure edit the status in place (``PUT /api/v1/statuses/:id``).
With ``cards: true`` a closure's status carries the notice card (:mod:`.cards`), uploaded
with its alt text through ``POST /api/v2/media`` and polled until processed.

Known gap: the key lives for an hour, so a delivery whose reply was lost and that cannot be
retried for over an hour (a long outage) could post twice; statuses are not read back.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from broadcaster.channels.base import (
    Limits,
    Outgoing,
    Receipt,
    Skipped,
    Store,
    Target,
    required_secrets,
    told_languages,
)
from broadcaster.channels.cards import Card, Cards, draws, notice_cards
from broadcaster.channels.http_api import HttpChannel, json_object, seconds_until, status_line
from broadcaster.errors import DeliveryError, RetryableError

if TYPE_CHECKING:
    from broadcaster.channels import Deps
    from broadcaster.channels.settings.mastodon import MastodonConfig

log = logging.getLogger(__name__)

DEFAULT_LIMITS = Limits(500, unit="graphemes", url_length=23)
INSTANCE_KEY = "mastodon:instance:"  # + host -> {"max_characters", "url_length", "fetched_at"}
INSTANCE_TTL = 24 * 3600.0
MEDIA_POLLS, MEDIA_POLL_SECONDS = 10, 0.5  # an uploaded card is processed within seconds


@dataclass(frozen=True)
class StatusPost:
    """The form of one new status and the key that makes retrying it safe; or, for a
    correction, the new text of the status ``edit_of`` (an edit is safe to repeat)."""

    params: dict[str, Any]
    idempotency_key: str
    edit_of: str | None = None
    card: Card | None = None  # a closure's notice card, uploaded and attached first


class MastodonChannel(HttpChannel):
    name = "mastodon"
    accepts = frozenset({"announce", "remind", "publish"})
    parts = ("text",)
    limits = DEFAULT_LIMITS
    supports_edit = True
    #: the server keeps an Idempotency-Key for 3600 s after the status is created (never
    #: before the attempt began); five minutes are left for the two clocks to disagree
    repeat_unknown_within = timedelta(minutes=55)

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str,
        instance: str,
        store: Store,
        visibility: str = "public",
        language: str | None = None,
        cards: Cards | None = None,
    ) -> None:
        super().__init__(http, instance, [token])
        self.cards = cards  # set: closures carry the notice card, with its alt text
        self._token = token
        self.store = store
        self.visibility = visibility
        self.language = language
        self._held_until = 0.0  # no requests left until then (X-RateLimit-Remaining: 0)
        cached = self._cached_instance()
        if cached:
            self.limits = _limits(cached)

    def targets(self) -> list[Target]:
        return [Target(self.host)]

    def build(self, outgoing: Outgoing) -> StatusPost:
        params: dict[str, Any] = {"status": outgoing.message["text"], "visibility": self.visibility}
        language = next(iter(told_languages(outgoing)), self.language)
        if language:
            params["language"] = language  # a combined post: its first language
        if outgoing.original and outgoing.original.get("id"):
            params.pop("visibility")  # fixed once posted
            return StatusPost(params, idempotency_key(outgoing.key), str(outgoing.original["id"]))
        card = self.cards.card(outgoing) if self.cards and draws(outgoing.facts) else None
        return StatusPost(params, idempotency_key(outgoing.key), card=card)

    async def send(self, payload: StatusPost) -> Receipt:
        wait = self._held_until - time.time()
        if wait > 0:
            raise RetryableError("mastodon: rate limit reached, waiting for its reset", wait)
        if payload.edit_of:
            response = await self.call(
                "PUT",
                f"{self.base_url}/api/v1/statuses/{payload.edit_of}",
                json=payload.params,
                headers=self._auth(),
            )
        else:
            params = payload.params
            if payload.card:
                params = {**params, "media_ids": [await self._upload_card(payload.card)]}
            response = await self.call(
                "POST",
                f"{self.base_url}/api/v1/statuses",
                json=params,
                headers={**self._auth(), "Idempotency-Key": payload.idempotency_key},
            )
        self._note_rate_limit(response)
        body = json_object(response)
        if not response.is_success or "id" not in body:
            raise self._error(response, body)
        receipt = {"id": body["id"], "url": body.get("url"), "created_at": body.get("created_at")}
        return receipt | ({"edited_at": body.get("edited_at")} if payload.edit_of else {})

    async def prepare(self) -> None:
        """Read the instance's status limits once a day; keep what we had if that fails."""
        cached = self._cached_instance()
        if cached and time.time() - float(cached.get("fetched_at", 0)) < INSTANCE_TTL:
            self.limits = _limits(cached)
            return
        try:
            response = await self.call("GET", f"{self.base_url}/api/v2/instance")
            statuses = json_object(response).get("configuration", {}).get("statuses", {})
            fresh = {
                "max_characters": int(statuses["max_characters"]),
                "url_length": int(statuses.get("characters_reserved_per_url", 23)),
                "fetched_at": time.time(),
            }
        except (DeliveryError, KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = exc.message if isinstance(exc, DeliveryError) else "no status limits in it"
            log.warning(
                "mastodon: cannot read /api/v2/instance (%s); limit %d characters",
                reason,
                self.limits.max_length,
            )
            return
        self.store.set_value(INSTANCE_KEY + self.host, json.dumps(fresh))
        self.limits = _limits(fresh)

    async def check(self) -> str:
        """verify_credentials proves the token; posts nothing."""
        response = await self.call(
            "GET", f"{self.base_url}/api/v1/accounts/verify_credentials", headers=self._auth()
        )
        body = json_object(response)
        if not response.is_success:
            raise self._error(response, body)
        return f"mastodon: token of @{body.get('acct', '?')} on {self.host} is valid"

    async def _upload_card(self, card: Card) -> str:
        """Upload the card with its alt text (``description``); wait until it is processed."""
        data = self.cards.write(card) if self.cards else b""
        response = await self.call(
            "POST",
            f"{self.base_url}/api/v2/media",
            files={"file": (card.name.rsplit("/", 1)[-1], data, "image/jpeg")},
            data={"description": card.alt},
            headers=self._auth(),
        )
        for _ in range(MEDIA_POLLS):
            body = json_object(response)
            if not response.is_success or "id" not in body:
                raise self._error(response, body)
            if response.status_code == 200 and body.get("url"):
                return str(body["id"])
            await asyncio.sleep(MEDIA_POLL_SECONDS)  # 202/206: still processing
            response = await self.call(
                "GET", f"{self.base_url}/api/v1/media/{body['id']}", headers=self._auth()
            )
        raise RetryableError("mastodon: the notice card is still being processed")

    # -- helpers ----------------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def _cached_instance(self) -> dict[str, Any] | None:
        text = self.store.get_value(INSTANCE_KEY + self.host)
        try:
            value = json.loads(text) if text else None
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def _note_rate_limit(self, response: httpx.Response) -> None:
        """After a reply with no requests left, hold further posts until the reset."""
        if response.headers.get("X-RateLimit-Remaining") == "0":
            wait = seconds_until(response.headers.get("X-RateLimit-Reset"))
            if wait:
                self._held_until = time.time() + wait

    def _error(self, response: httpx.Response, body: dict[str, Any]) -> DeliveryError:
        message = str(body.get("error") or status_line(response))
        if response.status_code == 401:
            message += " (check BROADCAST_MASTODON_TOKEN)"
        retry_after = None
        if response.status_code == 429:
            retry_after = seconds_until(response.headers.get("X-RateLimit-Reset"))
        return self.failure(response, message, retry_after)


def idempotency_key(delivery_key: str) -> str:
    """Stable per delivery (notice, occasion, target, resend number), opaque to the server."""
    return "broadcaster-" + hashlib.sha256(delivery_key.encode()).hexdigest()[:40]


def _limits(instance: dict[str, Any]) -> Limits:
    return replace(
        DEFAULT_LIMITS,
        max_length=int(instance["max_characters"]),
        url_length=int(instance["url_length"]),
    )


def from_config(section: MastodonConfig, deps: Deps) -> MastodonChannel | Skipped:
    """``channels.mastodon`` and BROADCAST_MASTODON_TOKEN as a channel."""
    found = required_secrets("mastodon", deps.secrets, "mastodon_token")
    if isinstance(found, Skipped):
        return found
    return MastodonChannel(
        deps.http,
        token=found["mastodon_token"],
        instance=section.instance,
        store=deps.store,
        visibility=section.visibility,
        language=section.language or deps.config.site.language,
        cards=notice_cards(deps.config) if section.cards else None,
    )
