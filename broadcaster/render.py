"""Wording lives in Jinja2 templates; this module only finds and fills them.

The built-in templates ship inside the package (``broadcaster/templates``); a config's
``templates:`` folder overrides them file by file (a Jinja ``ChoiceLoader``: the admin's folder
first, the built-in ones after), so an admin who changes one email's wording copies one file
(``broadcast templates copy email/closure.txt``), not the tree.

Templates are looked up most specific first, so an admin can override one message for one
channel without touching the rest::

    <channel>/<kind>-<occasion>.<ext>   e.g. telegram/closure-remind.html
    _default/<kind>-<occasion>.<ext>    e.g. _default/closure-cancel.txt
    <channel>/<kind>.<ext>              e.g. telegram/closure.html
    _default/<kind>.<ext>

(An occasion's own wording beats a channel's generic one: a cancellation must never go out
in the words of the announcement.)

``<ext>`` is the part: ``txt`` (plain text), ``html`` (autoescaped), ``subject.txt``.
Undefined variables are errors (StrictUndefined), so a typo in a template fails
``broadcast validate`` instead of sending a message with a hole in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2

from broadcaster.config import Site
from broadcaster.notices import Notice
from broadcaster.plaintext import clause

#: A rendered message: part name ("text", "html", "subject") -> the final text.
Message = dict[str, str]

PART_EXTENSIONS = {"text": "txt", "html": "html", "subject": "subject.txt"}
#: The templates that ship with broadcaster (package data).
BUILTIN_TEMPLATES = Path(__file__).resolve().parent / "templates"
#: File names that are templates (a folder may also hold a README or an editor's backup).
TEMPLATE_SUFFIXES = (".txt", ".html")


class TemplateMissing(LookupError):
    """No template exists for a part a channel needs."""


class Renderer:
    """Fills templates for one site; pure apart from reading template files."""

    def __init__(self, site: Site, template_dir: Path | None) -> None:
        self.site = site
        self.env = jinja2.Environment(
            loader=template_loader(template_dir),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters.update(day=day, long_day=long_day, join_and=join_and, clause=clause)

    def render(
        self,
        notice: Notice,
        occasion: str,
        channel: str,
        parts: Sequence[str],
        extra: dict[str, Any] | None = None,
    ) -> Message:
        """Every part of one message; raises TemplateMissing or a jinja2 error."""
        context = {**self.context(notice, occasion, channel), **(extra or {})}
        return {part: self._part(notice.kind, occasion, channel, part, context) for part in parts}

    def context(self, notice: Notice, occasion: str, channel: str) -> dict[str, Any]:
        return {
            **notice.context(),
            "notice": notice.context(),
            "occasion": base_occasion(occasion),
            "channel": channel,
            "site": {"name": self.site.name, "url": self.site.url, "outlets": self.site.outlets},
        }

    def template_name(self, kind: str, occasion: str, channel: str, part: str) -> str:
        ext = PART_EXTENSIONS[part]
        candidates = [
            f"{folder}/{stem}.{ext}"
            for stem in (f"{kind}-{base_occasion(occasion)}", kind)
            for folder in (channel, "_default")
        ]
        try:
            return self.env.select_template(candidates).name or candidates[0]
        except jinja2.TemplatesNotFound:
            raise TemplateMissing(
                f"no template for {channel} {kind} {occasion} {part}: tried {', '.join(candidates)}"
            ) from None

    def _part(
        self, kind: str, occasion: str, channel: str, part: str, context: dict[str, Any]
    ) -> str:
        template = self.env.get_template(self.template_name(kind, occasion, channel, part))
        return template.render(context).strip()


def template_loader(overrides: Path | None) -> jinja2.BaseLoader:
    """The admin's folder first (if any), then the built-in templates."""
    builtin = jinja2.FileSystemLoader(BUILTIN_TEMPLATES)
    if overrides is None:
        return builtin
    return jinja2.ChoiceLoader([jinja2.FileSystemLoader(overrides), builtin])


def template_sources(overrides: Path | None) -> dict[str, Path]:
    """Every template name -> the file it is read from (an override hides the built-in)."""
    found: dict[str, Path] = {}
    for root in (BUILTIN_TEMPLATES, overrides):
        if root is None or not root.is_dir():
            continue
        for file in sorted(root.rglob("*")):
            if file.is_file() and file.name.endswith(TEMPLATE_SUFFIXES):
                found[file.relative_to(root).as_posix()] = file
    return dict(sorted(found.items()))


def base_occasion(occasion: str) -> str:
    """``update@3f2a...`` (one correction per version in the ledger) renders as ``update``."""
    return occasion.partition("@")[0]


def day(value: date | datetime) -> str:
    """``26 Mar (Tue)``: the form the clinic's own notices use."""
    return f"{value.day} {value:%b} ({value:%a})"


def long_day(value: date | datetime) -> str:
    """``Tuesday 26 March 2024``, for email and calendar text."""
    return f"{value:%A} {value.day} {value:%B %Y}"


def join_and(items: Sequence[str]) -> str:
    """``['A', 'B', 'C']`` -> ``A, B and C``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
