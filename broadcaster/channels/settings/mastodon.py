"""``channels.mastodon``: one account; its access token is BROADCAST_MASTODON_TOKEN."""

from __future__ import annotations

from typing import Literal

from broadcaster.channels.kit import ChannelKit
from broadcaster.config_fields import ApiUrl, PostsText


class MastodonConfig(PostsText):
    """``channels.mastodon``: one account; its access token is BROADCAST_MASTODON_TOKEN."""

    instance: ApiUrl  # e.g. https://mastodon.social
    visibility: Literal["public", "unlisted", "private", "direct"] = "public"
    language: str | None = None  # ISO 639-1; default: site.language
    cards: bool = False  # attach the notice card (with its alt text) to closures

    def draws_cards(self) -> bool:
        return self.cards


KIT = ChannelKit(
    section=MastodonConfig,
    secrets=("mastodon_token",),
    channel="broadcaster.channels.mastodon:MastodonChannel",
    factory="broadcaster.channels.mastodon:from_config",
)
