"""The channels broadcaster can use, listed explicitly (no discovery by file name).

Each entry turns the channel's config section (and the secrets) into a ready channel, or a
:class:`Skipped` when a secret it needs is missing -- so a half-configured channel is shown
as skipped, never failed, and starts delivering as soon as its secret appears.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from broadcaster.channels.banner import BannerChannel
from broadcaster.channels.base import Channel, Skipped
from broadcaster.config import Config, Secrets

Factory = Callable[[Any, Config, Secrets, httpx.AsyncClient], Channel | Skipped]


def _banner(section: Any, config: Config, secrets: Secrets, http: httpx.AsyncClient) -> Channel:
    return BannerChannel(section.output_dir)


FACTORIES: dict[str, Factory] = {
    "banner": _banner,
}


def build_channels(
    config: Config, secrets: Secrets, http: httpx.AsyncClient
) -> list[Channel | Skipped]:
    """Every channel with a config section, in the order of FACTORIES."""
    result: list[Channel | Skipped] = []
    for name, factory in FACTORIES.items():
        section = getattr(config.channels, name, None)
        if section is not None:
            result.append(factory(section, config, secrets, http))
    return result


def known_channels() -> list[str]:
    return list(FACTORIES)
