"""The website banner: static files the site embeds, showing each current notice once.

Unlike a post, a banner is a *state* ("what should the site show now?"), so this channel
publishes the whole current set on every pass: ``banner.json`` (data), ``banner.html`` (a
fragment for server-side includes) and ``banner.js`` (one script tag shows the banner, hides
it outside its window by the browser's clock even if no pass runs, and lets a visitor
dismiss it). Each file is written to a temporary name and renamed, so a web server never
serves half a file. The ledger still records one ``banner`` delivery per notice, so
``history`` shows when each notice first appeared.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from broadcaster.channels.base import Channel, Outgoing, Receipt, Target
from broadcaster.errors import RetryableError

PLACEHOLDER = "/*BANNER_DATA*/null"


class BannerChannel(Channel):
    name = "banner"
    accepts = frozenset({"closure:banner"})
    parts = ("text", "html")

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir

    def targets(self) -> list[Target]:
        return [Target("site")]

    def build(self, outgoing: Outgoing) -> dict[str, Any]:
        raise NotImplementedError("the banner publishes its whole state; see publish()")

    async def send(self, payload: Any) -> Receipt:
        raise NotImplementedError("the banner publishes its whole state; see publish()")

    async def publish(self, entries: Sequence[dict[str, Any]], now: datetime) -> Receipt:
        """Write the three files for ``entries`` (each: id, kind, start, end, text, html)."""
        unique = list({e["id"]: e for e in entries}.values())
        data = {"generated_at": now.isoformat(), "notices": unique}
        current = [
            e
            for e in unique
            if datetime.fromisoformat(e["start"]) <= now < datetime.fromisoformat(e["end"])
        ]
        files = {
            "banner.json": json.dumps(data, ensure_ascii=False, indent=2) + "\n",
            "banner.html": banner_fragment(current),
            "banner.js": banner_script(data),
        }
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            changed = [
                name
                for name, text in files.items()
                if _write_atomically(self.output_dir / name, text)
            ]
        except OSError as exc:
            raise RetryableError(
                f"cannot write banner files in {self.output_dir}: {exc.strerror}"
            ) from None
        return {
            "dir": str(self.output_dir),
            "notices": [e["id"] for e in unique],
            "changed": changed,
        }


def banner_fragment(entries: Sequence[dict[str, Any]]) -> str:
    """Server-side include: the notices showing now (their ``html`` is already escaped)."""
    if not entries:
        return ""
    notices = "".join(
        f'<div class="broadcast-notice" data-notice-id="{html.escape(e["id"])}">{e["html"]}</div>'
        for e in entries
    )
    return f'<div class="broadcast-banner" role="region" aria-label="Notices">{notices}</div>\n'


def banner_script(data: dict[str, Any]) -> str:
    """The runtime script with the data embedded so it cannot break out of a <script>."""
    template = (
        resources.files("broadcaster").joinpath("assets/banner.js").read_text(encoding="utf-8")
    )
    encoded = (
        json.dumps(data, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return template.replace(PLACEHOLDER, encoded, 1)


def _write_atomically(path: Path, text: str) -> bool:
    """Write via a temporary file and rename; skip when the content is unchanged."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
