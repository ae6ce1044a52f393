"""``channels.instagram``: one professional account; its token is BROADCAST_INSTAGRAM_TOKEN."""

from __future__ import annotations

from pydantic import Field

from broadcaster.channels.kit import ChannelKit
from broadcaster.channels.settings.facebook import GRAPH_VERSION
from broadcaster.config_fields import ApiUrl, NumericId, PostsText


class InstagramConfig(PostsText):
    """``channels.instagram``: one professional account; BROADCAST_INSTAGRAM_TOKEN. Posts are
    the notice card with the message as caption, so channels.banner.public_url is needed."""

    user_id: NumericId  # the Instagram professional account's id (not the @username)
    api_url: ApiUrl = "https://graph.facebook.com"
    api_version: str = Field(default="v24.0", pattern=GRAPH_VERSION)
    #: our own ceiling on posts per 24 h; Meta's (content_publishing_limit) applies as well
    daily_limit: int = Field(default=50, ge=1, le=100)
    poll_seconds: float = Field(default=5.0, gt=0, le=120)  # container status, this often
    poll_attempts: int = Field(default=24, ge=1, le=200)  # and at most this many times a try

    def draws_cards(self) -> bool:
        return True  # every post is a notice card


KIT = ChannelKit(
    section=InstagramConfig,
    secrets=("instagram_token",),
    channel="broadcaster.channels.instagram:InstagramChannel",
    factory="broadcaster.channels.instagram:from_config",
)
