"""``channels.telegram``: one chat or channel; the bot token is BROADCAST_TELEGRAM_TOKEN."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from broadcaster.channels.kit import ChannelKit
from broadcaster.config_fields import ApiUrl, PostsText


class TelegramConfig(PostsText):
    """``channels.telegram``: one chat or channel; the bot token is BROADCAST_TELEGRAM_TOKEN."""

    chat_id: str  # "@channelname" or a numeric id such as -1001234567890
    api_url: ApiUrl = "https://api.telegram.org"  # a self-hosted Bot API server works too
    link_preview: bool = True  # show the article's preview card under the message
    disable_notification: bool = False
    cards: bool = False  # closures (and articles without an image) go out with the notice card

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat(cls, value: Any) -> str:
        text = str(value).strip()
        if not (text.lstrip("-").isdigit() or (text.startswith("@") and len(text) > 1)):
            raise ValueError("must be @channelname or a numeric chat id like -1001234567890")
        return text

    def draws_cards(self) -> bool:
        return self.cards


KIT = ChannelKit(
    section=TelegramConfig,
    secrets=("telegram_token",),
    channel="broadcaster.channels.telegram:TelegramChannel",
    factory="broadcaster.channels.telegram:from_config",
)
