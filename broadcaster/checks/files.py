"""Files and folders a config names: a subscriber list that can be read, a templates folder
that exists, output folders that can be written. Each would otherwise fail quietly, or after
other channels had already been told."""

from __future__ import annotations

import os
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from broadcaster.checks.finding import Finding, finding

if TYPE_CHECKING:
    from broadcaster.config_model import Loaded


def file_findings(loaded: Loaded) -> list[Finding]:
    """Every finding about the files and folders the config names."""
    return [
        *_subscriber_file_findings(loaded),
        *_template_folder_findings(loaded),
        *_output_folder_findings(loaded),
    ]


def _subscriber_file_findings(loaded: Loaded) -> list[Finding]:
    """A list that cannot be read would quietly mail nobody: refuse the config instead.
    (Bad rows are only warnings: they are reported and skipped.)"""
    email = loaded.config.channels.email
    if email is None:
        return []
    from broadcaster import subscribers  # (and the address checker: only with an email list)

    try:
        with closing(subscribers.read(email.subscribers)) as rows:
            next(rows, None)  # the file opens and has an email column
    except subscribers.SubscribersError as exc:
        return [finding(loaded, "error", ("channels", "email", "subscribers"), str(exc))]
    return []


def _template_folder_findings(loaded: Loaded) -> list[Finding]:
    """A misspelt overrides folder would silently send the built-in wording instead."""
    folder = loaded.config.templates
    if folder is None or folder.is_dir():
        return []
    what = "is a file, not a folder" if folder.exists() else "no such folder"
    return [
        finding(
            loaded,
            "error",
            ("templates",),
            f"{folder}: {what} (it holds your own templates, each overriding the built-in one "
            "of its name; remove the key to use only the built-in ones)",
        )
    ]


def _output_folder_findings(loaded: Loaded) -> list[Finding]:
    """A folder broadcaster writes to must be creatable and writable, or the run would fail
    after other channels had already been told: refuse before anything is sent."""
    channels = loaded.config.channels
    folders: list[tuple[tuple[str | int, ...], Path]] = []
    if channels.banner is not None:
        folders.append((("channels", "banner", "output_dir"), channels.banner.output_dir))
    if channels.email is not None and channels.email.transport == "maildir":
        folders.append((("channels", "email", "maildir"), channels.email.maildir))
    findings = []
    for path, folder in folders:
        problem = unwritable_folder(folder)
        if problem:
            findings.append(finding(loaded, "error", path, f"{folder}: {problem}"))
    return findings


def unwritable_folder(folder: Path) -> str | None:
    """Why ``folder`` cannot be created or written to, or None when it can."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder: move it or choose another folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"this user ({_user()}) may not write to {existing}: change its permissions"
    return None


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
