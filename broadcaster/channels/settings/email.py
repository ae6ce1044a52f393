"""``channels.email``: its settings, its SMTP password and its unsubscribe-link key."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from broadcaster.channels.kit import ChannelKit
from broadcaster.config_fields import LOOPBACK_HOSTS, ChannelSection, email_address


class EmailConfig(ChannelSection):
    """``channels.email``: one message per subscriber, over SMTP or into a local Maildir."""

    transport: Literal["smtp", "maildir"] = "smtp"
    host: str = Field(default="localhost", min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None  # the password comes from BROADCAST_SMTP_PASSWORD
    sender: str = Field(alias="from")
    reply_to: str | None = None
    subscribers: Path
    unsubscribe_url: str
    unsubscribe_mailto: str | None = None  # default: reply_to, else the from address
    maildir: Path = Path("var/outbox")
    connections: int = Field(default=4, ge=1, le=64)
    #: then reconnect; most relays take hundreds per connection, a few fewer (Exchange's
    #: receive connectors: 20 by default) -- see docs/email.md
    messages_per_connection: int = Field(default=500, ge=1)
    timeout: float = Field(default=30.0, gt=0, le=600)

    def told_in(self, site_languages: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
        """One message per language: each subscriber gets theirs (their list's ``language``
        column, or their choice on the sign-up page), the default language otherwise."""
        return tuple((language,) for language in site_languages)

    @field_validator("sender", "reply_to", "unsubscribe_mailto")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else email_address(value)

    @field_validator("unsubscribe_url")
    @classmethod
    def _unsubscribe_url(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must start with https:// (mail providers only POST to HTTPS links)")
        if any(c.isspace() or c in '<>"' for c in value):
            raise ValueError('must be a plain URL: no spaces, < > or "')
        if value.count("{token}") != 1:
            raise ValueError(
                "must contain {token} once, e.g. https://example.org/unsubscribe?t={token}"
            )
        return value

    @model_validator(mode="after")
    def _no_cleartext_password(self) -> EmailConfig:
        if (
            self.transport == "smtp"
            and self.username
            and self.security == "none"
            and self.host not in LOOPBACK_HOSTS
        ):
            raise ValueError(
                "security: none would send the SMTP password unencrypted; use starttls or tls"
            )
        return self

    @property
    def smtp_port(self) -> int:
        return self.port or {"none": 25, "starttls": 587, "tls": 465}[self.security]


KIT = ChannelKit(
    section=EmailConfig,
    #: the SMTP user's password; the key that signs unsubscribe links (32+ characters)
    secrets=("smtp_password", "email_unsubscribe_secret"),
    channel="broadcaster.channels.email:EmailChannel",
    factory="broadcaster.channels.email:from_config",
)
