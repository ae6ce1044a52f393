"""``channels.webhook``: signed JSON POSTs; the HMAC key is BROADCAST_WEBHOOK_SECRET."""

from __future__ import annotations

from pydantic import Field, field_validator

from broadcaster.channels.kit import ChannelKit
from broadcaster.config_fields import ChannelSection


class WebhookConfig(ChannelSection):
    """``channels.webhook``: POST each notice as signed JSON to these URLs (the HMAC key is
    BROADCAST_WEBHOOK_SECRET); each URL is its own subscriber, told once."""

    urls: list[str] = Field(min_length=1)
    #: POSTs in flight at once, and at most this many to one host (host:port)
    concurrency: int = Field(default=16, ge=1, le=256)
    per_host: int = Field(default=4, ge=1, le=64)

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        from urllib.parse import urlsplit

        for url in value:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{parts.scheme or url!r}: must be an http(s) URL")
        if len(set(value)) != len(value):
            raise ValueError("a URL is listed twice")
        return value


KIT = ChannelKit(
    section=WebhookConfig,
    secrets=("webhook_secret",),
    channel="broadcaster.channels.webhook:WebhookChannel",
    factory="broadcaster.channels.webhook:from_config",
)
