"""The website banner: static files the site embeds, showing each current notice once.

Unlike a post, a banner is a *state* ("what should the site show now?"), so this channel
publishes the whole current set on every pass: ``banner.json`` (data), ``banner.html`` (a
fragment for server-side includes) and ``banner.js`` (one script tag shows the banner, hides
it outside its window by the browser's clock even if no pass runs, and lets a visitor
dismiss it). Each file is written to a temporary name and renamed, so a web server never
serves half a file; a file already holding the right bytes is left alone. A pass that cannot
write them is a failed delivery (``retry``), even when the notices did not change: see
:meth:`broadcaster.send.Sender.publish`. The ledger also records one ``banner`` delivery per
notice, so ``history`` shows when each notice first appeared.

Each notice is carried in every site language (``texts``: language -> ``text``, ``html``),
its ``text`` and ``html`` being the default language's as before, for embeds that read only
those. ``banner.js`` shows the visitor's language (``navigator.languages``, or the one they
chose with its language switch); ``banner.html`` shows the default language and carries the
others ``hidden``, each with its ``lang``, for a site's own script to switch.

For closures it also writes ``closures.jsonld`` (schema.org special opening hours, also under
``jsonld`` in ``banner.json``) and ``closures.ics`` (a calendar to subscribe to); see
:mod:`broadcaster.channels.banner_extras`.
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
from typing import TYPE_CHECKING, Any

from broadcaster.channels import banner_extras
from broadcaster.channels.banner_extras import Business
from broadcaster.channels.base import Publisher, Receipt, Target
from broadcaster.config import Site
from broadcaster.errors import RetryableError
from broadcaster.i18n import language_name

if TYPE_CHECKING:
    from broadcaster.channels import Deps
    from broadcaster.channels.settings.banner import BannerConfig

PLACEHOLDER = "/*BANNER_DATA*/null"


class BannerChannel(Publisher):
    name = "banner"
    accepts = frozenset({"banner"})
    parts = ("text", "html")
    #: a few small local files: writing them each pass proves they are still there, and
    #: keeps ``generated_at`` current
    republish_each_pass = True

    def __init__(self, output_dir: Path, site: Site | None = None) -> None:
        self.output_dir = output_dir
        self.business = (
            Business(site.name, site.url, tuple(site.outlets)) if site is not None else Business()
        )
        #: the site's languages, the default first (none given: those the entries carry)
        self.languages: tuple[str, ...] = site.all_languages if site is not None else ()

    def targets(self) -> list[Target]:
        return [Target("site")]

    async def publish(self, entries: Sequence[dict[str, Any]], now: datetime) -> Receipt:
        """Write the files for ``entries`` (each: id, kind, start, end, text, html, ``texts``
        per language, and the notice's ``facts``; a notice about opening days also feeds the
        JSON-LD and calendar)."""
        unique = list({e["id"]: e for e in entries}.values())
        languages = self.languages or languages_in(unique)
        data: dict[str, Any] = {
            "generated_at": now.isoformat(),
            "languages": [{"lang": lang, "name": language_name(lang)} for lang in languages],
            "notices": unique,
        }
        current = [
            e
            for e in unique
            if datetime.fromisoformat(e["start"]) <= now < datetime.fromisoformat(e["end"])
        ]
        jsonld = banner_extras.opening_hours(current, self.business)
        files = {
            "banner.json": json.dumps({**data, "jsonld": jsonld}, ensure_ascii=False, indent=2)
            + "\n",
            "banner.html": banner_fragment(current, languages),
            "banner.js": banner_script(data),
            "closures.jsonld": _script_safe(json.dumps(jsonld, ensure_ascii=False, indent=2))
            + "\n",
            "closures.ics": banner_extras.calendar(current, self.business).decode("utf-8"),
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


def banner_fragment(entries: Sequence[dict[str, Any]], languages: Sequence[str] = ()) -> str:
    """Server-side include: the notices showing now (their ``html`` is already escaped), in
    the default language; each other language follows ``hidden``, with its ``lang``."""
    if not entries:
        return ""
    notices = "".join(
        f'<div class="broadcast-notice" data-notice-id="{html.escape(e["id"])}">'
        f"{''.join(_fragment_texts(e, languages))}</div>"
        for e in entries
    )
    return f'<div class="broadcast-banner" role="region" aria-label="Notices">{notices}</div>\n'


def _fragment_texts(entry: dict[str, Any], languages: Sequence[str]) -> list[str]:
    """One ``div`` per language the entry carries, the site's order, the default shown."""
    default = entry.get("lang") or (languages[0] if languages else "en")
    texts = entry.get("texts") or {default: {"html": entry["html"]}}
    order = [lang for lang in (default, *languages) if lang in texts]
    order += [lang for lang in texts if lang not in order]
    return [
        f'<div class="broadcast-text" lang="{html.escape(lang)}"'
        f"{'' if lang == default else ' hidden'}>{texts[lang]['html']}</div>"
        for lang in dict.fromkeys(order)
    ]


def languages_in(entries: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    """The languages the entries carry, each entry's default first (a channel made without
    a site, as tests make it)."""
    found: dict[str, None] = {}
    for entry in entries:
        found.update(dict.fromkeys([entry.get("lang") or "en", *(entry.get("texts") or ())]))
    return tuple(found) or ("en",)


def banner_script(data: dict[str, Any]) -> str:
    """The runtime script with the data embedded so it cannot break out of a <script>."""
    template = (
        resources.files("broadcaster").joinpath("assets/banner.js").read_text(encoding="utf-8")
    )
    return template.replace(PLACEHOLDER, _script_safe(json.dumps(data, ensure_ascii=False)), 1)


def _script_safe(encoded: str) -> str:
    """JSON that stays the same JSON but cannot end a ``<script>`` it is pasted into (the
    banner script, or JSON-LD a site inlines in ``<script type="application/ld+json">``)."""
    return (
        encoded.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _write_atomically(path: Path, text: str) -> bool:
    """Write via a temporary file and rename; skip when the content is unchanged.

    Bytes are compared and written as they are, so the CRLF line ends iCalendar requires
    survive and an unchanged calendar is not rewritten.
    """
    content = text.encode("utf-8")
    if path.exists() and path.read_bytes() == content:
        return False
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def from_config(section: BannerConfig, deps: Deps) -> BannerChannel:
    """``channels.banner`` as a channel (it needs no secret)."""
    return BannerChannel(section.output_dir, deps.config.site)
