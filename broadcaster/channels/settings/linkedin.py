"""``channels.linkedin``: one organisation page; its member token is BROADCAST_LINKEDIN_TOKEN."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from broadcaster.channels.kit import ChannelKit
from broadcaster.config_fields import ApiUrl, PostsText, numeric_id


class LinkedInConfig(PostsText):
    """``channels.linkedin``: one organisation page; a member token with
    w_organization_social is BROADCAST_LINKEDIN_TOKEN."""

    organization: str  # the page's numeric id, or urn:li:organization:<id>
    #: the LinkedIn-Version header (YYYYMM); versions retire after about a year
    version: str = Field(pattern=r"^20\d{2}(0[1-9]|1[0-2])$")
    api_url: ApiUrl = "https://api.linkedin.com"

    @field_validator("organization", mode="before")
    @classmethod
    def _urn(cls, value: Any) -> str:
        text = str(value).strip().removeprefix("urn:li:organization:")
        return "urn:li:organization:" + numeric_id(text)

    @field_validator("version", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return str(value).strip()


KIT = ChannelKit(
    section=LinkedInConfig,
    secrets=("linkedin_token",),
    channel="broadcaster.channels.linkedin:LinkedInChannel",
    factory="broadcaster.channels.linkedin:from_config",
)
