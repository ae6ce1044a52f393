"""``channels.google_business``: each outlet's Google Business Profile special hours."""

from __future__ import annotations

from pydantic import Field, field_validator

from broadcaster.channels.kit import ChannelKit
from broadcaster.config_fields import ApiUrl, ChannelSection


class GoogleBusinessConfig(ChannelSection):
    """``channels.google_business``: each outlet's Google Business Profile special hours.

    OAuth2 client and refresh token (scope business.manage): BROADCAST_GOOGLE_CLIENT_ID,
    BROADCAST_GOOGLE_CLIENT_SECRET, BROADCAST_GOOGLE_REFRESH_TOKEN."""

    #: outlet name (as in site.outlets) -> its location id, "locations/123..." or "123..."
    locations: dict[str, str] = Field(min_length=1)
    api_url: ApiUrl = "https://mybusinessbusinessinformation.googleapis.com"
    token_url: ApiUrl = "https://oauth2.googleapis.com/token"

    @field_validator("locations")
    @classmethod
    def _location_ids(cls, value: dict[str, str]) -> dict[str, str]:
        result = {}
        for outlet, location in value.items():
            number = str(location).strip().removeprefix("locations/")
            if not number.isdigit():
                raise ValueError(
                    f"{outlet}: {location!r} is not a location id like locations/1234567890"
                )
            result[outlet] = number
        return result


KIT = ChannelKit(
    section=GoogleBusinessConfig,
    secrets=("google_client_id", "google_client_secret", "google_refresh_token"),
    channel="broadcaster.channels.google_business:GoogleBusinessChannel",
    factory="broadcaster.channels.google_business:from_config",
)
