"""``channels.banner``: the notice banner files the website shows (no secrets)."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator

from broadcaster.channels.kit import ChannelKit
from broadcaster.config_fields import ChannelSection, api_url


class BannerConfig(ChannelSection):
    output_dir: Path = Path("site/notices")
    #: where the website serves output_dir, e.g. https://clinic.example/notices: the notice
    #: cards (Instagram, ``cards: true``) are written there and fetched by the platforms
    public_url: str | None = None

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        return None if value is None else api_url(value)

    def told_in(self, site_languages: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
        """Every language, each rendered on its own: the banner carries them all and the
        visitor's browser picks one (``banner.js``), so ``validate`` and ``preview`` cover each."""
        return tuple((language,) for language in site_languages)


KIT = ChannelKit(
    section=BannerConfig,
    secrets=(),
    channel="broadcaster.channels.banner:BannerChannel",
    factory="broadcaster.channels.banner:from_config",
)
