"""``channels.facebook``: one Page; its Page access token is BROADCAST_FACEBOOK_TOKEN."""

from __future__ import annotations

from pydantic import Field

from broadcaster.channels.kit import ChannelKit
from broadcaster.config_fields import ApiUrl, NumericId, PostsText

#: a Graph API version, e.g. v24.0 (Facebook and Instagram)
GRAPH_VERSION = r"^v\d{1,3}\.0$"


class FacebookConfig(PostsText):
    """``channels.facebook``: one Page; its Page access token is BROADCAST_FACEBOOK_TOKEN."""

    page_id: NumericId
    api_url: ApiUrl = "https://graph.facebook.com"
    api_version: str = Field(default="v24.0", pattern=GRAPH_VERSION)  # Graph API, e.g. v24.0


KIT = ChannelKit(
    section=FacebookConfig,
    secrets=("facebook_token",),
    channel="broadcaster.channels.facebook:FacebookChannel",
    factory="broadcaster.channels.facebook:from_config",
)
