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

from broadcaster.channels.banner import BannerChannel
from broadcaster.channels.base import Channel, Skipped, Store
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
    return BannerChannel(section.output_dir)


FACTORIES: dict[str, Factory] = {
    "banner": _banner,
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
