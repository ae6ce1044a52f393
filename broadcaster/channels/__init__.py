"""The channels broadcaster can use, listed explicitly (no discovery by file name).

Each entry turns the channel's config section (and the secrets) into a ready channel, or a
:class:`Skipped` when a secret it needs is missing -- so a half-configured channel is shown
as skipped, never failed, and starts delivering as soon as its secret appears.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from broadcaster.channels.base import Channel, Skipped, Store, required_secrets

if TYPE_CHECKING:
    import httpx

    from broadcaster.config import Config, Secrets


@dataclass(frozen=True)
class Deps:
    """What a channel factory may use besides its own config section."""

    config: Config
    secrets: Secrets
    http: httpx.AsyncClient
    store: Store


Factory = Callable[[Any, Deps], Channel | Skipped]


def _lazy(module: str, name: str = "from_config") -> Factory:
    """A factory that imports its channel's module only when that channel is configured:
    a run pays for PIL, oauthlib or Apprise only if it uses a channel that needs them."""

    def factory(section: Any, deps: Deps) -> Channel | Skipped:
        made: Factory = getattr(import_module(module), name)
        return made(section, deps)

    return factory


def _banner(section: Any, deps: Deps) -> Channel:
    from broadcaster.channels.banner import BannerChannel

    return BannerChannel(section.output_dir, deps.config.site)


def _email(section: Any, deps: Deps) -> Channel | Skipped:
    from broadcaster.channels.email import email_channel

    return email_channel(section, deps.secrets, deps.store)


def _telegram(section: Any, deps: Deps) -> Channel | Skipped:
    from broadcaster.channels.cards import notice_cards
    from broadcaster.channels.telegram import TelegramChannel

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
    from broadcaster.channels.cards import notice_cards
    from broadcaster.channels.mastodon import MastodonChannel

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
    from broadcaster.channels.bluesky import BlueskyChannel
    from broadcaster.channels.cards import notice_cards

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
    "facebook": _lazy("broadcaster.channels.facebook"),
    "instagram": _lazy("broadcaster.channels.instagram"),
    "x": _lazy("broadcaster.channels.x"),
    "linkedin": _lazy("broadcaster.channels.linkedin"),
    "google_business": _lazy("broadcaster.channels.google_business"),
    "webhook": _lazy("broadcaster.channels.webhook"),
    "apprise": _lazy("broadcaster.channels.apprise_channel"),
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


class _Types(Mapping[str, type[Channel]]):
    """Channel name -> class, each module imported the first time its class is asked for."""

    def __init__(self, where: Mapping[str, str]) -> None:
        self._where = where
        self._loaded: dict[str, type[Channel]] = {}

    def __getitem__(self, name: str) -> type[Channel]:
        if name not in self._loaded:
            module, _, cls = self._where[name].partition(":")
            self._loaded[name] = getattr(import_module(module), cls)
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


#: each channel's class, for what it declares (``accepts``, ``parts``, ``supports_edit``) when
#: no channel is built: checking templates and ``lifecycle:`` needs no secrets
TYPES: Mapping[str, type[Channel]] = _Types(
    {
        "banner": "broadcaster.channels.banner:BannerChannel",
        "email": "broadcaster.channels.email:EmailChannel",
        "telegram": "broadcaster.channels.telegram:TelegramChannel",
        "mastodon": "broadcaster.channels.mastodon:MastodonChannel",
        "bluesky": "broadcaster.channels.bluesky:BlueskyChannel",
        "facebook": "broadcaster.channels.facebook:FacebookChannel",
        "instagram": "broadcaster.channels.instagram:InstagramChannel",
        "x": "broadcaster.channels.x:XChannel",
        "linkedin": "broadcaster.channels.linkedin:LinkedInChannel",
        "google_business": "broadcaster.channels.google_business:GoogleBusinessChannel",
        "webhook": "broadcaster.channels.webhook:WebhookChannel",
        "apprise": "broadcaster.channels.apprise_channel:AppriseChannel",
    }
)


def configured_channels(config: Config) -> list[str]:
    """The channels with a config section (built or skipped), in the order of FACTORIES."""
    return [name for name in FACTORIES if getattr(config.channels, name, None) is not None]
