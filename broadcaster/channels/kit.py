"""The one registry of channels, and what each channel declares to the rest of broadcaster.

A channel is its module (``broadcaster/channels/<name>.py``: the class, with its declared
capabilities -- ``accepts``, ``parts``, ``limits``, ``supports_edit`` -- and its factory) plus
a light settings module (``broadcaster/channels/settings/<name>.py``) holding its ``KIT``: the
model of its ``channels.<name>`` section, the names of its secrets, and where its class and
factory are. The config reads only the settings modules, so loading it never imports a
channel's heavy code (PIL, OAuth, Google's client, Apprise); a channel's own module is imported
when it is configured and built, or when its capabilities are asked for.

This module imports nothing at run time beyond the standard library: ``broadcaster.channels``
reads the registry without loading pydantic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from broadcaster.config_fields import ChannelSection

#: every channel, in the order they are built and reported: its name (the config's
#: ``channels.<name>``) -> the settings module that holds its ``KIT``
CHANNELS: Mapping[str, str] = {
    "banner": "broadcaster.channels.settings.banner",
    "email": "broadcaster.channels.settings.email",
    "telegram": "broadcaster.channels.settings.telegram",
    "mastodon": "broadcaster.channels.settings.mastodon",
    "bluesky": "broadcaster.channels.settings.bluesky",
    "facebook": "broadcaster.channels.settings.facebook",
    "instagram": "broadcaster.channels.settings.instagram",
    "x": "broadcaster.channels.settings.x",
    "linkedin": "broadcaster.channels.settings.linkedin",
    "google_business": "broadcaster.channels.settings.google_business",
    "webhook": "broadcaster.channels.settings.webhook",
    "apprise": "broadcaster.channels.settings.apprise",
}


@dataclass(frozen=True)
class ChannelKit:
    """What one channel declares at config load, without importing the channel itself."""

    #: the model of its ``channels.<name>`` section
    section: type[ChannelSection]
    #: its fields of :class:`~broadcaster.config.Secrets`, each read from BROADCAST_<FIELD>
    secrets: tuple[str, ...]
    #: ``"module:Class"``: the channel, imported when its capabilities are asked for
    channel: str
    #: ``"module:function"``: (section, Deps) -> Channel | Skipped, imported when configured
    factory: str


@cache
def kit(name: str) -> ChannelKit:
    """The kit of the channel ``name`` (a KeyError if there is no such channel)."""
    found = getattr(import_module(CHANNELS[name]), "KIT", None)
    if not isinstance(found, ChannelKit):
        raise TypeError(f"{CHANNELS[name]} has no KIT (a ChannelKit) for channel {name!r}")
    return found


def kits() -> dict[str, ChannelKit]:
    """Every channel's kit, in registry order."""
    return {name: kit(name) for name in CHANNELS}
