"""The channels broadcaster can use, from the one registry (:mod:`broadcaster.channels.kit`).

Each channel's factory turns its config section (and the secrets) into a ready channel, or a
:class:`Skipped` when a secret it needs is missing -- so a half-configured channel is shown
as skipped, never failed, and starts delivering as soon as its secret appears. A channel's
module is imported only when its section is configured (or its capabilities are asked for):
a run pays for PIL, oauthlib or Apprise only if it uses a channel that needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from broadcaster.channels.kit import CHANNELS, kit

if TYPE_CHECKING:
    import httpx

    from broadcaster.channels.base import Channel, Skipped, Store
    from broadcaster.config_model import Config, Secrets


@dataclass(frozen=True)
class Deps:
    """What a channel factory may use besides its own config section."""

    config: Config
    secrets: Secrets
    http: httpx.AsyncClient
    store: Store


Factory = Callable[[Any, Deps], "Channel | Skipped"]


def _named(where: str) -> Any:
    """The object at ``"module:name"``, its module imported now."""
    module, _, name = where.partition(":")
    return getattr(import_module(module), name)


def factory(name: str) -> Factory:
    """The factory of the channel ``name``, its module imported now."""
    made: Factory = _named(kit(name).factory)
    return made


def build_channels(deps: Deps) -> list[Channel | Skipped]:
    """Every channel with a config section, in registry order, each told which languages
    its messages are in."""
    from broadcaster.channels.base import Channel

    built: list[Channel | Skipped] = []
    languages = deps.config.site.all_languages
    for name, section in deps.config.channels.configured().items():
        channel = factory(name)(section, deps)
        if isinstance(channel, Channel):
            channel.told_in = section.told_in(languages)
        built.append(channel)
    return built


def known_channels() -> list[str]:
    return list(CHANNELS)


class _Types(Mapping[str, "type[Channel]"]):
    """Channel name -> class, each module imported the first time its class is asked for."""

    def __init__(self) -> None:
        self._loaded: dict[str, type[Channel]] = {}

    def __getitem__(self, name: str) -> type[Channel]:
        if name not in self._loaded:
            self._loaded[name] = _named(kit(name).channel)
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(CHANNELS)

    def __len__(self) -> int:
        return len(CHANNELS)


#: each channel's class, for what it declares (``accepts``, ``parts``, ``supports_edit``) when
#: no channel is built: checking templates and ``lifecycle:`` needs no secrets
TYPES: Mapping[str, type[Channel]] = _Types()


def configured_channels(config: Config) -> list[str]:
    """The channels with a config section (built or skipped), in registry order."""
    return list(config.channels.configured())
