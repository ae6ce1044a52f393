"""Bluesky: one account posting ``app.bsky.feed.post`` records with ``createRecord``.

A URL in a post is only clickable with a link *facet* giving its UTF-8 byte range, and a
hashtag only searchable with a tag facet: every URL (bare domains too) and tag gets one, as
Bluesky's own app makes them (:mod:`broadcaster.counting.bluesky`). An article also gets an ``app.bsky.embed.external`` card (title,
summary, and its image uploaded as the thumbnail when it can be fetched). With ``cards: true``
a closure carries the notice card (:mod:`.cards`) as an ``app.bsky.embed.images`` image with
its alt text. Posts are limited to 300 graphemes *and* 3000 UTF-8 bytes, both declared in
``limits``.

Exactly once without an idempotency key: each delivery posts under its own record key (a
TID chosen on the first attempt and kept in the ledger DB), so a retry after a lost reply
cannot create a second post -- it collides, and ``getRecord`` confirms the post is there.
The login session is kept and refreshed by :mod:`.bluesky_session`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from broadcaster.channels.base import (
    ALWAYS,
    Limits,
    Outgoing,
    Receipt,
    Skipped,
    Store,
    Target,
    required_secrets,
    told_languages,
)
from broadcaster.channels.bluesky_session import Session, Sessions
from broadcaster.channels.cards import SIZE as CARD_SIZE
from broadcaster.channels.cards import Card, Cards, draws, notice_cards
from broadcaster.channels.http_api import HttpChannel, json_object, seconds_until, status_line
from broadcaster.counting.bluesky import facets as rich_text_facets
from broadcaster.errors import DeliveryError, RetryableError

if TYPE_CHECKING:
    from broadcaster.channels import Deps
    from broadcaster.channels.settings.bluesky import BlueskyConfig

log = logging.getLogger(__name__)

POST = "app.bsky.feed.post"
RKEY_KEY = "bluesky:rkey:"  # + sha256 of the delivery key -> the record key of its post
TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"
THUMB_MAX_BYTES = 1_000_000
THUMB_TIMEOUT = 10.0


@dataclass(frozen=True)
class Draft:
    """A post as far as it can be built without I/O: no createdAt, rkey or thumbnail yet."""

    key: str  # the delivery key: the record key is derived from it on first send
    record: dict[str, Any]
    thumb_url: str | None = None
    card: Card | None = None  # a closure's notice card, uploaded and embedded as an image
    uncertain: bool = False  # an earlier attempt died unanswered: look for its post first


class BlueskyChannel(HttpChannel):
    name = "bluesky"
    accepts = frozenset({"announce", "remind", "publish"})
    parts = ("text",)
    limits = Limits(300, unit="graphemes", max_bytes=3000)
    repeat_unknown_within = ALWAYS  # the record key is ours: getRecord tells if it was posted

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        handle: str,
        password: str,
        store: Store,
        service: str = "https://bsky.social",
        langs: list[str] | None = None,
        link_thumbnails: bool = True,
        cards: Cards | None = None,
    ) -> None:
        super().__init__(http, service, [password])
        self.cards = cards  # set: closures carry the notice card, with its alt text
        self.handle = handle
        self.store = store
        self.langs = langs or []
        self.link_thumbnails = link_thumbnails
        self.sessions = Sessions(self, password)

    def targets(self) -> list[Target]:
        return [Target(self.handle)]

    def build(self, outgoing: Outgoing) -> Draft:
        text = outgoing.message["text"]
        record: dict[str, Any] = {"$type": POST, "text": text}
        facets = rich_text_facets(text)
        if facets:
            record["facets"] = facets
        langs = told_languages(outgoing) or self.langs
        if langs:
            record["langs"] = langs[:3]
        thumb = None
        if outgoing.link:
            record["embed"] = external_card(outgoing, text)
            thumb = outgoing.image if self.link_thumbnails else None
        elif self.cards and draws(outgoing.facts):
            card = self.cards.card(outgoing)
            return Draft(outgoing.key, record, card=card, uncertain=outgoing.uncertain)
        return Draft(outgoing.key, record, thumb, uncertain=outgoing.uncertain)

    async def send(self, payload: Draft) -> Receipt:
        session = await self.sessions.current()
        if payload.uncertain:  # checked with getRecord before posting again
            existing = await self._existing(session, self._rkey(payload.key))
            if existing is not None:
                return existing
        record = {**payload.record, "createdAt": _now_iso()}
        if payload.thumb_url and "embed" in record:
            thumb = await self._thumbnail(session, payload.thumb_url)
            if thumb:
                external = {**record["embed"]["external"], "thumb": thumb}
                record["embed"] = {**record["embed"], "external": external}
        if payload.card and self.cards:
            try:
                record["embed"] = await self._card_embed(session, payload.card)
            except _TokenRefused:
                session = await self.sessions.renewed(session)
                record["embed"] = await self._card_embed(session, payload.card)
        rkey = self._rkey(payload.key)
        body = {"repo": session.did, "collection": POST, "rkey": rkey, "record": record}
        try:
            response = await self._create(session, body)
        except _TokenRefused:
            session = await self.sessions.renewed(session)
            response = await self._create(session, {**body, "repo": session.did})
        answer = json_object(response)
        if response.is_success and "uri" in answer:
            return {"uri": answer["uri"], "cid": answer.get("cid"), "rkey": rkey}
        if response.status_code == 400:  # perhaps our own post, created by an attempt whose
            existing = await self._existing(session, rkey)  # reply was lost: same rkey
            if existing is not None:
                return existing
        raise self.error(response, answer)

    async def check(self) -> str:
        """The session (stored, refreshed or new) as the PDS sees it. Posts nothing."""
        session = await self.sessions.current()
        try:
            response = await self._get_session(session)
        except _TokenRefused:
            session = await self.sessions.renewed(session)
            response = await self._get_session(session)
        body = json_object(response)
        if not response.is_success:
            raise self.error(response, body)
        return f"bluesky: logged in as {body.get('handle', session.handle)} ({session.did})"

    def error(self, response: httpx.Response, body: dict[str, Any]) -> DeliveryError:
        """The DeliveryError for an XRPC error reply (``{"error", "message"}``)."""
        name = str(body.get("error") or status_line(response))
        message = f"{name}: {body['message']}" if body.get("message") else name
        wait = None
        if response.status_code == 429:
            wait = seconds_until(response.headers.get("RateLimit-Reset"))
        return self.failure(response, message, wait)

    # -- requests ---------------------------------------------------------------------------

    async def _get_session(self, session: Session) -> httpx.Response:
        response = await self.call(
            "GET", f"{session.pds}/xrpc/com.atproto.server.getSession", headers=_bearer(session)
        )
        return _token_checked(response)

    async def _create(self, session: Session, body: dict[str, Any]) -> httpx.Response:
        response = await self.call(
            "POST",
            f"{session.pds}/xrpc/com.atproto.repo.createRecord",
            json=body,
            headers=_bearer(session),
        )
        return _token_checked(response)

    async def _existing(self, session: Session, rkey: str) -> Receipt | None:
        """Our post under ``rkey`` if it exists: then an earlier attempt did create it."""
        try:
            response = await self.call(
                "GET",
                f"{session.pds}/xrpc/com.atproto.repo.getRecord",
                params={"repo": session.did, "collection": POST, "rkey": rkey},
            )
        except DeliveryError:
            return None
        found = json_object(response)
        if response.is_success and "uri" in found:
            return {"uri": found["uri"], "cid": found.get("cid"), "rkey": rkey, "found": True}
        return None

    async def _thumbnail(self, session: Session, url: str) -> dict[str, Any] | None:
        """Fetch the article's image and upload it as a blob; None (card without image) if any
        step fails -- a missing thumbnail is no reason to hold a post back."""
        try:
            image = await self.http.get(url, timeout=THUMB_TIMEOUT, follow_redirects=True)
        except httpx.HTTPError as exc:
            log.info("bluesky: no thumbnail, cannot fetch %s (%s)", url, type(exc).__name__)
            return None
        mime = image.headers.get("content-type", "").split(";")[0].strip()
        if not image.is_success or not mime.startswith("image/"):
            log.info("bluesky: no thumbnail, %s is not an image (%s)", url, status_line(image))
            return None
        if len(image.content) > THUMB_MAX_BYTES:
            log.info("bluesky: no thumbnail, %s is over %d bytes", url, THUMB_MAX_BYTES)
            return None
        try:
            response = await self.call(
                "POST",
                f"{session.pds}/xrpc/com.atproto.repo.uploadBlob",
                content=image.content,
                headers={**_bearer(session), "Content-Type": mime},
            )
        except DeliveryError as exc:
            log.info("bluesky: no thumbnail, upload failed (%s)", exc.message)
            return None
        blob = json_object(response).get("blob")
        return blob if response.is_success and isinstance(blob, dict) else None

    async def _card_embed(self, session: Session, card: Card) -> dict[str, Any]:
        """The notice card uploaded as a blob, as an images embed with its alt text."""
        data = self.cards.write(card) if self.cards else b""
        response = await self.call(
            "POST",
            f"{session.pds}/xrpc/com.atproto.repo.uploadBlob",
            content=data,
            headers={**_bearer(session), "Content-Type": "image/jpeg"},
        )
        body = json_object(_token_checked(response))
        if not response.is_success or not isinstance(body.get("blob"), dict):
            raise self.error(response, body)
        width, height = CARD_SIZE
        image = {
            "image": body["blob"],
            "alt": card.alt,
            "aspectRatio": {"width": width, "height": height},
        }
        return {"$type": "app.bsky.embed.images", "images": [image]}

    def _rkey(self, delivery_key: str) -> str:
        """The record key of this delivery's post: made on the first attempt, then reused."""
        key = RKEY_KEY + hashlib.sha256(delivery_key.encode()).hexdigest()
        rkey = self.store.get_value(key)
        if rkey is None:
            rkey = tid(time.time(), clock_id=int(key[-3:], 16) % 1024)
            self.store.set_value(key, rkey)
        return rkey


class _TokenRefused(RetryableError):
    """The access token expired or was revoked: renew the session and try once more (if it
    is refused again, this reaches the dispatcher as an ordinary retryable error)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"bluesky: the PDS refused the session ({name})")


def _token_checked(response: httpx.Response) -> httpx.Response:
    """``response``, unless it says the access token is expired or invalid."""
    name = json_object(response).get("error")
    if response.status_code in (400, 401) and name in ("ExpiredToken", "InvalidToken"):
        raise _TokenRefused(str(name))
    return response


def external_card(outgoing: Outgoing, text: str) -> dict[str, Any]:
    """The link card of an article; without a title on hand, the post's first line."""
    title = outgoing.title or text.split("\n", 1)[0]
    return {
        "$type": "app.bsky.embed.external",
        "external": {
            "uri": outgoing.link,
            "title": title[:300],
            "description": (outgoing.summary or "")[:1000],
        },
    }


def tid(moment: float, clock_id: int = 0) -> str:
    """A timestamp identifier: microseconds << 10 | clock id, in sortable base32 (13 chars)."""
    value = (int(moment * 1_000_000) << 10) | (clock_id & 1023)
    return "".join(TID_CHARS[(value >> shift) & 31] for shift in range(60, -1, -5))


def _bearer(session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {session.access_jwt}"}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_config(section: BlueskyConfig, deps: Deps) -> BlueskyChannel | Skipped:
    """``channels.bluesky`` and BROADCAST_BLUESKY_APP_PASSWORD as a channel."""
    found = required_secrets("bluesky", deps.secrets, "bluesky_app_password")
    if isinstance(found, Skipped):
        return found
    return BlueskyChannel(
        deps.http,
        handle=section.handle,
        password=found["bluesky_app_password"],
        store=deps.store,
        service=section.service,
        langs=section.langs or [deps.config.site.language],
        link_thumbnails=section.link_thumbnails,
        cards=notice_cards(deps.config) if section.cards else None,
    )
