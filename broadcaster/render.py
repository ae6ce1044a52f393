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

The templates at the top are English. A language has a folder of its own (``zh/``, ``ms/``,
``ta/``) with the same names inside: a message in Chinese looks up every name above in ``zh/``
first, then at the top (so a template not yet translated falls back to English, and
``broadcast validate`` says so). Dates, times and lists are filled in by filters that write the
message's language (``day``, ``long_day``, ``clock``, ``join_and``: :mod:`broadcaster.i18n`).
A post in several languages at once (``layout: combined``) is each language's message, one
after the other.
Undefined variables are errors (StrictUndefined), so a typo in a template fails
``broadcast validate`` instead of sending a message with a hole in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import jinja2

from broadcaster import i18n
from broadcaster.channels.base import Message as Message  # what a render is, re-exported
from broadcaster.config_sections import Site
from broadcaster.notices import Notice
from broadcaster.notices.base import in_language, languages_of
from broadcaster.plaintext import clause
from broadcaster.template_cache import template_cache

if TYPE_CHECKING:
    pass

PART_EXTENSIONS = {"text": "txt", "html": "html", "subject": "subject.txt"}
#: how the languages of one post in several (``layout: combined``) are put together, by part
COMBINED = {"subject": " / "}
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
        self.template_dir = template_dir  # the admin's overrides, if any
        self.default = site.all_languages[0]
        self._envs: dict[str, jinja2.Environment] = {}
        #: each message's template, once found: a renderer lives for one pass (or one
        #: ``validate``), in which a message is looked up again and again -- by the proof,
        #: the fallback check, the pass -- and each look-up tried up to eight names on disk
        self._found: dict[tuple[str, str, str, str, str | None], jinja2.Template] = {}

    @property
    def env(self) -> jinja2.Environment:
        """The default language's environment (every language reads the same files)."""
        return self.env_for(self.default)

    def env_for(self, language: str) -> jinja2.Environment:
        """One environment per language: its filters write that language."""
        if language not in self._envs:
            self._envs[language] = language_environment(
                template_loader(self.template_dir),
                i18n.locale_of(language, self.site.region),
            )
        return self._envs[language]

    def render(
        self,
        notice: Notice,
        occasion: str,
        channel: str,
        parts: Sequence[str],
        extra: dict[str, Any] | None = None,
    ) -> Message:
        """Every part of one message, in the notice's language or languages; raises
        TemplateMissing or a jinja2 error."""
        return joined(self.render_each(notice, occasion, channel, parts, extra), parts)

    def render_each(
        self,
        notice: Notice,
        occasion: str,
        channel: str,
        parts: Sequence[str],
        extra: dict[str, Any] | None = None,
    ) -> list[Message]:
        """The message in each of the notice's languages (one, unless it is a combined post)."""
        return [
            self.render_in(language, in_language(notice, language), occasion, channel, parts, extra)
            for language in languages_of(notice, self.default)
        ]

    def render_in(
        self,
        language: str,
        notice: Notice,
        occasion: str,
        channel: str,
        parts: Sequence[str],
        extra: dict[str, Any] | None = None,
    ) -> Message:
        context = {**self.context(notice, occasion, channel, language), **(extra or {})}
        return {
            part: self.template(notice.kind, occasion, channel, part, language)
            .render(context)
            .strip()
            for part in parts
        }

    def context(
        self, notice: Notice, occasion: str, channel: str, language: str | None = None
    ) -> dict[str, Any]:
        return {
            **notice.context(),
            "notice": notice.context(),
            "occasion": base_occasion(occasion),
            "channel": channel,
            "lang": language or self.default,
            "site": {
                "name": self.site.name,
                "url": self.site.url,
                "outlets": self.site.outlets,
                "languages": list(self.site.all_languages),
            },
        }

    def template_name(
        self, kind: str, occasion: str, channel: str, part: str, language: str | None = None
    ) -> str:
        """The name of the most specific template for this message."""
        found = self.template(kind, occasion, channel, part, language)
        return found.name or f"{channel}/{kind}.{PART_EXTENSIONS[part]}"

    def template(
        self, kind: str, occasion: str, channel: str, part: str, language: str | None = None
    ) -> jinja2.Template:
        """The most specific template for this message, in its language's folder first,
        loaded by that language's environment (the one that renders it)."""
        key = (kind, base_occasion(occasion), channel, part, language)
        if key not in self._found:
            self._found[key] = self._select(*key)
        return self._found[key]

    def _select(
        self, kind: str, occasion: str, channel: str, part: str, language: str | None
    ) -> jinja2.Template:
        ext = PART_EXTENSIONS[part]
        candidates = [
            f"{folder}/{stem}.{ext}"
            for stem in (f"{kind}-{base_occasion(occasion)}", kind)
            for folder in (channel, "_default")
        ]
        if language:
            candidates = [f"{language}/{name}" for name in candidates] + candidates
        try:
            return self.env_for(language or self.default).select_template(candidates)
        except jinja2.TemplatesNotFound:
            raise TemplateMissing(
                f"no template for {channel} {kind} {occasion} {part}: tried {', '.join(candidates)}"
            ) from None

    def translated(self, kind: str, occasion: str, channel: str, part: str, language: str) -> bool:
        """Whether this message has a template of its language's own (else English is used).
        The templates at the top are English: English in any region (``en-GB``) has its own."""
        if language.replace("_", "-").split("-")[0].lower() == "en":
            return True
        return self.template_name(kind, occasion, channel, part, language).startswith(
            f"{language}/"
        )


def joined(each: Sequence[Message], parts: Sequence[str]) -> Message:
    """One post made of each language's message in turn (``layout: combined``)."""
    if len(each) == 1:
        return dict(each[0])
    return {part: COMBINED.get(part, "\n\n").join(m[part] for m in each) for part in parts}


def language_environment(loader: jinja2.BaseLoader, locale: Any) -> jinja2.Environment:
    """A Jinja environment whose date, time and list filters write ``locale``'s language."""
    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        bytecode_cache=template_cache(),  # compiled once, not at every run
    )
    env.filters.update(
        day=partial(i18n.day, locale=locale),
        long_day=partial(i18n.long_day, locale=locale),
        clock=partial(i18n.clock, locale=locale),
        join_and=partial(i18n.join_and, locale=locale),
        clause=clause,
    )
    return env


def template_loader(overrides: Path | None) -> jinja2.BaseLoader:
    """The admin's folder first (if any), then the built-in templates."""
    builtin = jinja2.FileSystemLoader(BUILTIN_TEMPLATES)
    if overrides is None:
        return builtin
    return jinja2.ChoiceLoader([jinja2.FileSystemLoader(overrides), builtin])


def template_sources(overrides: Path | None) -> dict[str, Path]:
    """Every template name -> the file it is read from (an override hides the built-in)."""
    return dict(
        sorted({**_builtin_sources(BUILTIN_TEMPLATES), **override_sources(overrides)}.items())
    )


def override_sources(overrides: Path | None) -> dict[str, Path]:
    """The admin's own templates: name -> file."""
    return {} if overrides is None else _templates_in(overrides)


@cache
def _builtin_sources(folder: Path) -> dict[str, Path]:
    """The built-in templates, listed once per process: they ship with the code."""
    return _templates_in(folder)


def _templates_in(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {
        file.relative_to(root).as_posix(): file
        for file in sorted(root.rglob("*"))
        if file.is_file() and file.name.endswith(TEMPLATE_SUFFIXES)
    }


@dataclass(frozen=True)
class TemplateFault:
    """What is wrong in a template, where the admin can find it: ``file:line: message``."""

    file: str
    line: int | None
    message: str
    context: str = ""  # which message showed it, e.g. "rendering closure-2024-03-26 remind ..."

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.described}"

    @property
    def described(self) -> str:
        return f"{self.message} ({self.context})" if self.context else self.message


def template_fault(exc: BaseException, overrides: Path | None) -> TemplateFault | None:
    """The template at fault for ``exc`` raised while rendering, or None when no template is
    (a bug in the code, to be raised as it is).

    Jinja rewrites a rendering error's traceback so that each template frame carries the
    template's file and line: the innermost such frame is where the error surfaced, and the
    outermost (when it is another file) is where the admin's own template led there.
    """
    if isinstance(exc, TemplateMissing):
        return TemplateFault(str(overrides or "broadcaster built-in templates"), None, str(exc))
    if isinstance(exc, jinja2.TemplateSyntaxError):
        name = exc.filename or exc.name or "?"
        return TemplateFault(shown_name(name), exc.lineno, f"syntax error: {exc.message}")
    frames = _template_frames(exc.__traceback__)
    if not frames:
        return None
    (file, line), (outer_file, outer_line) = frames[-1], frames[0]
    message = _one_line(exc)
    if outer_file != file:
        message += f" (from {shown_name(outer_file)}:{outer_line})"
    return TemplateFault(shown_name(file), line, message)


def shown_name(file: str) -> str:
    """A template file as the admin knows it: the path of their own file as the config names
    it, or ``broadcaster built-in <name>`` for one that ships with broadcaster."""
    path = Path(file)
    if path.is_absolute() and path.is_relative_to(BUILTIN_TEMPLATES):
        return f"broadcaster built-in {path.relative_to(BUILTIN_TEMPLATES).as_posix()}"
    return path.as_posix()


def _template_frames(tb: TracebackType | None) -> list[tuple[str, int]]:
    """(file, line) of each template frame, outermost first (see jinja2.debug)."""
    frames = []
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"no template {exc.name!r} (see `broadcast templates list`)"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {text}"


def base_occasion(occasion: str) -> str:
    """``update@3f2a...`` (one correction per version in the ledger) renders as ``update``."""
    return occasion.partition("@")[0]


def day(value: date | datetime, language: str = "en", region: str | None = None) -> str:
    """``26 Mar (Tue)`` (in English by default): the short day of :mod:`broadcaster.i18n`."""
    return i18n.day(value, i18n.locale_of(language, region))
