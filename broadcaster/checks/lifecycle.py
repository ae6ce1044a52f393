"""``lifecycle:``: the channels it names exist, are configured and post messages, and
``corrections: edit`` is possible where it is asked for."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from broadcaster.checks.finding import Finding, finding

if TYPE_CHECKING:
    from broadcaster.config_model import Loaded


def lifecycle_findings(loaded: Loaded) -> list[Finding]:
    """``lifecycle:`` names channels: a misspelt one would silently send nothing there."""
    rules = loaded.config.lifecycle
    found = []
    for key, names in (("remind", rules.remind or []), ("reopen", rules.reopen)):
        for index, name in enumerate(names):
            found.extend(_lifecycle_channel(loaded, key, index, name))
    found.extend(_corrections_findings(loaded))
    return found


def _lifecycle_channel(loaded: Loaded, key: str, index: int, name: str) -> list[Finding]:
    """One name under ``lifecycle.remind`` or ``lifecycle.reopen``: a known channel, one that
    is configured, and one that posts messages (the banner shows state, it never reminds)."""
    from broadcaster.channels import TYPES, configured_channels

    at = ("lifecycle", key, index)
    if name not in TYPES:
        close = difflib.get_close_matches(name, list(TYPES), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else f"channels: {', '.join(TYPES)}"
        return [finding(loaded, "error", at, f"unknown channel {name!r} ({hint})")]
    if "announce" not in TYPES[name].accepts:
        message = f"{name} does not announce notices, so it gets no {key} message"
        return [finding(loaded, "warning", at, message)]
    if name not in configured_channels(loaded.config):
        message = f"{name} is not configured (no channels.{name}): nothing is sent there"
        return [finding(loaded, "warning", at, message)]
    return []


def _corrections_findings(loaded: Loaded) -> list[Finding]:
    """``corrections: edit`` edits the post only where the platform can; elsewhere the
    correction goes out as a new post, which the admin should know."""
    from broadcaster.channels import TYPES, configured_channels

    if loaded.config.lifecycle.corrections != "edit":
        return []
    posting = [
        name for name in configured_channels(loaded.config) if "announce" in TYPES[name].accepts
    ]
    cannot = [name for name in posting if not TYPES[name].supports_edit]
    if not cannot:
        return []
    editing = [name for name, channel in TYPES.items() if channel.supports_edit]
    message = (
        f"{', '.join(cannot)} cannot edit a post: a correction goes out there as a new post "
        f"(only {' and '.join(editing)} edit)"
    )
    return [finding(loaded, "warning", ("lifecycle", "corrections"), message)]
