"""``channels.apprise``: Apprise URLs (slack://, discord://, json://...), from the config and
from BROADCAST_APPRISE_URLS. Checks that the optional package is installed, without importing
it."""

from __future__ import annotations

from pydantic import Field, model_validator

from broadcaster.channels.kit import ChannelKit
from broadcaster.config_fields import PostsText, installed


class AppriseConfig(PostsText):
    """``channels.apprise``: Apprise URLs (slack://, discord://, json://...); they embed
    credentials, so prefer BROADCAST_APPRISE_URLS (space- or comma-separated), added to these."""

    urls: list[str] = Field(default_factory=list)
    #: notifications in flight at once (each in its own thread), at most this many per host
    concurrency: int = Field(default=16, ge=1, le=64)
    per_host: int = Field(default=4, ge=1, le=64)

    @model_validator(mode="after")
    def _extra_installed(self) -> AppriseConfig:
        """Without the optional package the channel could send nothing: say how to get it."""
        if not installed("apprise"):
            raise ValueError(
                "the apprise package is not installed: pip install 'broadcaster[apprise]' "
                "(or remove channels.apprise)"
            )
        return self


KIT = ChannelKit(
    section=AppriseConfig,
    #: Apprise URLs carry credentials: space- or comma-separated, added to channels.apprise.urls
    secrets=("apprise_urls",),
    channel="broadcaster.channels.apprise_channel:AppriseChannel",
    factory="broadcaster.channels.apprise_channel:from_config",
)
