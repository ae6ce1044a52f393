"""``channels.bluesky``: one account; its app password is BROADCAST_BLUESKY_APP_PASSWORD."""

from __future__ import annotations

from pydantic import Field, field_validator

from broadcaster.channels.kit import ChannelKit
from broadcaster.config_fields import ApiUrl, PostsText


class BlueskyConfig(PostsText):
    """``channels.bluesky``: one account; its app password is BROADCAST_BLUESKY_APP_PASSWORD."""

    service: ApiUrl = "https://bsky.social"
    handle: str  # e.g. glowaesthetics.bsky.social (or the account's DID)
    langs: list[str] | None = Field(default=None, min_length=1, max_length=3)  # default: site
    link_thumbnails: bool = True  # upload the article's image as the link card's thumbnail
    cards: bool = False  # attach the notice card (with its alt text) to closures

    @field_validator("handle")
    @classmethod
    def _handle(cls, value: str) -> str:
        value = value.strip().removeprefix("@")
        if not (value.startswith("did:") or ("." in value and " " not in value)):
            raise ValueError("must be a handle like clinic.bsky.social (no @), or a did:plc:...")
        return value

    def draws_cards(self) -> bool:
        return self.cards


KIT = ChannelKit(
    section=BlueskyConfig,
    secrets=("bluesky_app_password",),
    channel="broadcaster.channels.bluesky:BlueskyChannel",
    factory="broadcaster.channels.bluesky:from_config",
)
