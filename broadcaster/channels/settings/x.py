"""``channels.x``: one account, with OAuth 1.0a user-context credentials."""

from __future__ import annotations

from broadcaster.channels.kit import ChannelKit
from broadcaster.config_fields import ApiUrl, PostsText


class XConfig(PostsText):
    """``channels.x``: one account, OAuth 1.0a user context: BROADCAST_X_CONSUMER_KEY,
    _CONSUMER_SECRET, _ACCESS_TOKEN and _ACCESS_TOKEN_SECRET."""

    api_url: ApiUrl = "https://api.x.com"


KIT = ChannelKit(
    section=XConfig,
    secrets=("x_consumer_key", "x_consumer_secret", "x_access_token", "x_access_token_secret"),
    channel="broadcaster.channels.x:XChannel",
    factory="broadcaster.channels.x:from_config",
)
