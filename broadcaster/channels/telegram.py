"""Telegram: one bot posting to one chat or channel through the Bot API.

Messages are Telegram HTML (``templates/telegram/*.html``: autoescaped, only Telegram's tags)
sent with ``sendMessage``, showing a preview of the article's link; an article with an image
goes out as ``sendPhoto`` with the message as its caption -- unless the message is longer than
a caption may be (1024), in which case it is sent whole as a message whose link preview shows
the article. Lengths are budgeted in UTF-16 code units after markup, the safe reading of
Telegram's disputed unit (channel-apis.md §1). With ``cards: true``, closures (and articles
without an image) are sent as ``sendPhoto`` of the notice card (:mod:`.cards`), which is
written beside the banner files first so Telegram can fetch it from its public URL.

Failures, as the Bot API reports them (the HTTP status equals ``error_code``):
429 waits ``parameters.retry_after``; 5xx and connection failures are retried; a group that
became a supergroup (``migrate_to_chat_id``) is followed once, remembered in the ledger DB
and reported (a warning, and a ``note`` in the receipt) -- the ledger's target stays the
configured ``chat_id``, so nothing is sent twice; every other 4xx is permanent.

Telegram has no idempotency: when a request went out and no reply came back the post may
exist, so it is *not* retried but reported for a person to check (``broadcast send --force``
resends it). Corrections of a moved closure edit the message (or photo caption) in place.

The bot token is part of every URL. It never appears in an error or a receipt, and the
httpx logger is redacted at the source (:func:`broadcaster.logs.redact_at_source`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
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
)
from broadcaster.channels.cards import Card, Cards, has_card, notice_cards
from broadcaster.channels.http_api import HttpChannel, json_object, status_line
from broadcaster.errors import AlreadyDelivered, DeliveryError, NoReply, PermanentError

if TYPE_CHECKING:
    from broadcaster.channels import Deps
    from broadcaster.channels.settings.telegram import TelegramConfig

log = logging.getLogger(__name__)

TEXT_LIMITS = Limits(4096, unit="utf16", part="html", markup="html")
CAPTION_LIMITS = Limits(1024, unit="utf16", part="html", markup="html")
#: sendPhoto errors meaning Telegram could not use the image: the message goes out as text
PHOTO_REFUSED = ("http url", "photo", "image_process_failed", "wrong type of the web page")
MIGRATED_KEY = "telegram:migrated:"


@dataclass(frozen=True)
class ApiCall:
    """One Bot API method call; ``params`` lack ``chat_id``, which ``send`` resolves (an edit
    names the chat of the post it edits)."""

    method: str
    params: dict[str, Any]
    fallback: ApiCall | None = field(default=None, compare=False)
    chat: str | None = None
    card: Card | None = field(default=None, compare=False)  # written before a sendPhoto of it


class TelegramChannel(HttpChannel):
    name = "telegram"
    accepts = frozenset({"announce", "remind", "publish"})
    parts = ("html",)
    limits = TEXT_LIMITS
    supports_edit = True

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str,
        chat_id: str,
        store: Store,
        api_url: str = "https://api.telegram.org",
        link_preview: bool = True,
        disable_notification: bool = False,
        cards: Cards | None = None,
    ) -> None:
        super().__init__(http, api_url, [token])
        self.cards = cards  # set: closures (and articles without an image) show the notice card
        self._token = token
        self.chat_id = chat_id
        self.store = store
        self.link_preview = link_preview
        self.disable_notification = disable_notification

    def targets(self) -> list[Target]:
        return [Target(self.chat_id)]

    def _card_for(self, outgoing: Outgoing) -> bool:
        """Closures (and articles without an image of their own) show the notice card."""
        return self.cards is not None and not outgoing.image and has_card(outgoing.facts)

    def build(self, outgoing: Outgoing) -> ApiCall:
        """sendPhoto with a caption for an article with an image (if it fits), else sendMessage;
        an edit of the earlier post when the dispatcher passes its receipt (a correction)."""
        html = outgoing.message["html"]
        common: dict[str, Any] = {"parse_mode": "HTML"}
        if self.disable_notification:
            common["disable_notification"] = True
        preview: dict[str, Any] = {"is_disabled": True}
        if outgoing.link and self.link_preview:
            preview = {"url": outgoing.link, "prefer_large_media": True}
        if outgoing.original and outgoing.original.get("message_id"):
            return _edit(outgoing.original, html, preview)
        message = ApiCall("sendMessage", {**common, "text": html, "link_preview_options": preview})
        card = self.cards.card(outgoing) if self.cards and self._card_for(outgoing) else None
        image = card.url if card else outgoing.image
        if image and CAPTION_LIMITS.fits(html):
            photo = {**common, "photo": image, "caption": html}
            return ApiCall("sendPhoto", photo, fallback=message, card=card)
        return message

    async def send(self, payload: ApiCall) -> Receipt:
        """Post to the chat (or where it moved); a refused photo goes out as a message."""
        chat = payload.chat or self._chat()
        if payload.card and self.cards:
            self.cards.write(payload.card)
        try:
            method, body = await self._post(payload, chat)
        except _Migrated as moved:
            chat = self._follow(moved)
            method, body = await self._post(payload, chat)  # once: a second move is permanent
        receipt = _receipt(body.get("result"), method)
        if payload.chat is None and chat != self.chat_id:
            receipt["note"] = _moved_note(self.chat_id, chat)
        return receipt

    async def check(self) -> str:
        """getMe proves the token; getChat proves the bot can see the chat. Posts nothing."""
        me = await self._request("getMe", {})
        chat = self._chat()
        try:
            found = await self._request("getChat", {"chat_id": _chat_param(chat)})
        except _Migrated as moved:
            chat = self._follow(moved)
            found = await self._request("getChat", {"chat_id": _chat_param(chat)})
        bot = me.get("result", {}).get("username", "?")
        info = found.get("result", {})
        title = info.get("title") or info.get("username") or chat
        return f"telegram: bot @{bot} can see {info.get('type', 'chat')} {title!r} ({chat})"

    # -- requests ---------------------------------------------------------------------------

    def _chat(self) -> str:
        """The configured chat, or the supergroup it became (remembered in the ledger DB)."""
        return self.store.get_value(MIGRATED_KEY + self.chat_id) or self.chat_id

    def _follow(self, moved: _Migrated) -> str:
        """Remember where the chat went and say so; the ledger keeps the configured id as the
        target, so nothing already sent is sent again and chat_id need not change."""
        self.store.set_value(MIGRATED_KEY + self.chat_id, moved.chat_id)
        log.warning("telegram: %s", _moved_note(self.chat_id, moved.chat_id))
        return moved.chat_id

    async def _post(self, payload: ApiCall, chat: str) -> tuple[str, dict[str, Any]]:
        """The method that was used and Telegram's answer."""
        chat_param = _chat_param(chat)
        try:
            return payload.method, await self._request(
                payload.method, {**payload.params, "chat_id": chat_param}
            )
        except _PhotoRefused as refused:
            if payload.fallback is None:
                raise PermanentError(refused.message) from None
            log.warning("%s; sending the article as a message instead", refused.message)
            fallback = payload.fallback
            return fallback.method, await self._request(
                fallback.method, {**fallback.params, "chat_id": chat_param}
            )

    async def _request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call one Bot API method; raise the DeliveryError its answer means."""
        url = f"{self.base_url}/bot{self._token}/{method}"
        try:
            response = await self.call("POST", url, json=params)
        except NoReply as exc:
            if not method.startswith("send"):
                raise
            raise NoReply(  # the Sender leaves it unknown: Telegram has no idempotency key
                f"{exc.message}; Telegram may have posted it and has no way to tell, so it is not "
                "repeated: check the chat, then `broadcast resolve ID --sent` or `--resend`"
            ) from None
        body = json_object(response)
        if response.is_success and body.get("ok"):
            return body
        raise self._error(method, response, body)

    def _error(self, method: str, response: httpx.Response, body: dict[str, Any]) -> DeliveryError:
        description = str(body.get("description") or status_line(response))
        parameters = body.get("parameters") or {}
        if "migrate_to_chat_id" in parameters:
            return _Migrated(str(parameters["migrate_to_chat_id"]), description)
        message = f"{method}: {description}"
        if method.startswith("edit") and "message is not modified" in description:
            return AlreadyDelivered(f"telegram: {description}")  # an earlier attempt edited it
        if response.status_code in (401, 404) and "description" in body:
            message += " (check BROADCAST_TELEGRAM_TOKEN)"
        if (
            method == "sendPhoto"
            and response.status_code == 400
            and any(marker in description.lower() for marker in PHOTO_REFUSED)
        ):
            return _PhotoRefused(self.safe(f"telegram: {message}"))
        retry_after = parameters.get("retry_after")
        return self.failure(
            response, message, float(retry_after) if retry_after is not None else None
        )


class _Migrated(PermanentError):
    """The chat became a supergroup; permanent unless followed (which send does once)."""

    def __init__(self, chat_id: str, description: str) -> None:
        super().__init__(f"telegram: {description} (now chat {chat_id})")
        self.chat_id = chat_id


class _PhotoRefused(DeliveryError):
    """Telegram could not fetch or use the image; the message may still go out as text."""


def _edit(original: Receipt, html: str, preview: dict[str, Any]) -> ApiCall:
    """Edit the post ``original`` describes: its caption if it was a photo, else its text."""
    params: dict[str, Any] = {"message_id": original["message_id"], "parse_mode": "HTML"}
    chat = str(original["chat_id"]) if original.get("chat_id") is not None else None
    if original.get("method") == "sendPhoto":
        return ApiCall("editMessageCaption", {**params, "caption": html}, chat=chat)
    params |= {"text": html, "link_preview_options": preview}
    return ApiCall("editMessageText", params, chat=chat)


def _moved_note(old: str, new: str) -> str:
    return f"chat {old} became supergroup {new}; posting there (remembered, chat_id may stay)"


def _chat_param(chat: str) -> int | str:
    """Numeric ids as numbers, ``@channel`` names as they are."""
    return int(chat) if chat.lstrip("-").isdigit() else chat


def _receipt(message: Any, method: str) -> Receipt:
    message = message if isinstance(message, dict) else {}
    chat = message.get("chat") or {}
    receipt: Receipt = {
        "message_id": message.get("message_id"),
        "chat_id": chat.get("id"),
        "date": message.get("date"),
        "method": method,
    }
    if chat.get("username"):
        receipt["url"] = f"https://t.me/{chat['username']}/{message.get('message_id')}"
    return receipt


def from_config(section: TelegramConfig, deps: Deps) -> TelegramChannel | Skipped:
    """``channels.telegram`` and BROADCAST_TELEGRAM_TOKEN as a channel."""
    found = required_secrets("telegram", deps.secrets, "telegram_token")
    if isinstance(found, Skipped):
        return found
    return TelegramChannel(
        deps.http,
        token=found["telegram_token"],
        chat_id=section.chat_id,
        store=deps.store,
        api_url=section.api_url,
        link_preview=section.link_preview,
        disable_notification=section.disable_notification,
        cards=notice_cards(deps.config) if section.cards else None,
    )
