"""The channels broadcaster can use, listed explicitly (no discovery by file name).

Each entry turns the channel's config section (and the secrets) into a ready channel, or a
:class:`Skipped` when a secret it needs is missing -- so a half-configured channel is shown
as skipped, never failed, and starts delivering as soon as its secret appears.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from broadcaster.channels import (
    apprise_channel,
    facebook,
    google_business,
    instagram,
    linkedin,
    webhook,
    x,
)
from broadcaster.channels.banner import BannerChannel
from broadcaster.channels.base import Channel, Skipped, Store, required_secrets
from broadcaster.channels.bluesky import BlueskyChannel
from broadcaster.channels.cards import notice_cards
from broadcaster.channels.email import EmailChannel, email_channel
from broadcaster.channels.mastodon import MastodonChannel
from broadcaster.channels.telegram import TelegramChannel
from broadcaster.config import Config, Secrets


@dataclass(frozen=True)
class Deps:
    """What a channel factory may use besides its own config section."""

    config: Config
    secrets: Secrets
    http: httpx.AsyncClient
    store: Store


Factory = Callable[[Any, Deps], Channel | Skipped]


def _banner(section: Any, deps: Deps) -> Channel:
    return BannerChannel(section.output_dir, deps.config.site)


def _email(section: Any, deps: Deps) -> Channel | Skipped:
    return email_channel(section, deps.secrets, deps.store)


def _telegram(section: Any, deps: Deps) -> Channel | Skipped:
    found = required_secrets("telegram", deps.secrets, "telegram_token")
    if isinstance(found, Skipped):
        return found
    return TelegramChannel(
        deps.http,
        token=found["telegram_token"],
        chat_id=section.chat_id,
        store=deps.store,
        api_url=section.api_url,
        link_preview=section.link_preview,
        disable_notification=section.disable_notification,
        cards=notice_cards(deps.config) if section.cards else None,
    )


def _mastodon(section: Any, deps: Deps) -> Channel | Skipped:
    found = required_secrets("mastodon", deps.secrets, "mastodon_token")
    if isinstance(found, Skipped):
        return found
    return MastodonChannel(
        deps.http,
        token=found["mastodon_token"],
        instance=section.instance,
        store=deps.store,
        visibility=section.visibility,
        language=section.language or deps.config.site.language,
        cards=notice_cards(deps.config) if section.cards else None,
    )


def _bluesky(section: Any, deps: Deps) -> Channel | Skipped:
    found = required_secrets("bluesky", deps.secrets, "bluesky_app_password")
    if isinstance(found, Skipped):
        return found
    return BlueskyChannel(
        deps.http,
        handle=section.handle,
        password=found["bluesky_app_password"],
        store=deps.store,
        service=section.service,
        langs=section.langs or [deps.config.site.language],
        link_thumbnails=section.link_thumbnails,
        cards=notice_cards(deps.config) if section.cards else None,
    )


FACTORIES: dict[str, Factory] = {
    "banner": _banner,
    "email": _email,
    "telegram": _telegram,
    "mastodon": _mastodon,
    "bluesky": _bluesky,
    "facebook": facebook.from_config,
    "instagram": instagram.from_config,
    "x": x.from_config,
    "linkedin": linkedin.from_config,
    "google_business": google_business.from_config,
    "webhook": webhook.from_config,
    "apprise": apprise_channel.from_config,
}


def build_channels(deps: Deps) -> list[Channel | Skipped]:
    """Every channel with a config section, in the order of FACTORIES."""
    result: list[Channel | Skipped] = []
    for name, factory in FACTORIES.items():
        section = getattr(deps.config.channels, name, None)
        if section is not None:
            result.append(factory(section, deps))
    return result


def known_channels() -> list[str]:
    return list(FACTORIES)


#: each channel's class, for what it declares (``accepts``, ``parts``, ``supports_edit``) when
#: no channel is built: checking templates and ``lifecycle:`` needs no secrets
TYPES: dict[str, type[Channel]] = {
    "banner": BannerChannel,
    "email": EmailChannel,
    "telegram": TelegramChannel,
    "mastodon": MastodonChannel,
    "bluesky": BlueskyChannel,
    "facebook": facebook.FacebookChannel,
    "instagram": instagram.InstagramChannel,
    "x": x.XChannel,
    "linkedin": linkedin.LinkedInChannel,
    "google_business": google_business.GoogleBusinessChannel,
    "webhook": webhook.WebhookChannel,
    "apprise": apprise_channel.AppriseChannel,
}


def configured_channels(config: Config) -> list[str]:
    """The channels with a config section (built or skipped), in the order of FACTORIES."""
    return [name for name in FACTORIES if getattr(config.channels, name, None) is not None]
