"""Proves the templates before anything is sent.

A template is read only when a message needs it, so a mistake in the wording of a reminder
would otherwise surface on the morning the reminder is due, after the banner went out. This
module finds every such mistake at once, each as ``file:line: what`` with the file as the admin
knows it (their own file's path, or ``broadcaster built-in <name>``):

* every template of the admin's own compiles (a Jinja syntax error); the built-in ones are
  proven by broadcaster's own tests (tests/test_template_check.py), once, not at every run;
* every notice renders for every configured channel on every occasion ``lifecycle:`` can send
  it there (an undefined variable, a template that is missing), without sending or storing
  anything; a config without closures or articles is proven with a sample of each kind, so
  the first one added later cannot fail;
* every file in the overrides folder is read by some message: a misspelt name
  (``email/closure-remnd.txt``) would silently leave the built-in wording in use (a warning);
* every message in one of the site's languages has a template of that language's own: one
  that falls back to the English template goes out in English words (a warning, once per
  language and template).

``broadcast validate`` shows all of it, feed articles included; ``run``, ``send`` and each pass
of ``worker`` refuse to start on an error (:func:`template_errors`, from the config alone: a
feed's text that trips a template fails that one delivery instead, see the dispatcher).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from itertools import product
from pathlib import Path

import jinja2
from jinja2 import meta

from broadcaster.channels import TYPES
from broadcaster.channels.base import Channel
from broadcaster.checks import Finding
from broadcaster.config import Config, Lifecycle
from broadcaster.errors import ConfigProblem
from broadcaster.notices import KINDS, Notice, build, config_articles, kind_of
from broadcaster.notices.base import LIFE, languages_of, variant
from broadcaster.render import (
    PART_EXTENSIONS,
    TEMPLATE_SUFFIXES,
    Renderer,
    TemplateFault,
    TemplateMissing,
    override_sources,
    shown_name,
    template_fault,
    template_sources,
)
from broadcaster.schedule import routed

#: the occasions each kind of notice has, as template names spell them (``edit`` replaces
#: ``update`` where corrections edit a post)
OCCASIONS = {
    kind.name: (
        *(o for o in LIFE if o in kind.occasions),
        *(("edit",) if "update" in kind.occasions else ()),
    )
    for kind in KINDS
}


def template_errors(config: Config) -> list[ConfigProblem]:
    """What stops ``run``, ``send`` or a worker pass before anything is sent: the templates'
    errors against the config's own notices (no feed is read, nothing is written)."""
    found = template_findings(config, warnings=False)
    return [f.as_config_problem() for f in found if f.severity == "error"]


def template_findings(
    config: Config,
    gathered: Sequence[Notice] | None = None,
    *,
    warnings: bool = True,
    renderer: Renderer | None = None,
) -> list[Finding]:
    """Every problem with the templates, errors first: compiling, rendering every notice
    (``gathered`` from the config and its feeds, else the config's own), and (``warnings``)
    messages told in English for want of a translation and override files nothing reads.

    ``renderer``: the one that renders the messages afterwards (``validate``'s dry run), so
    each template is read and loaded once in the process, not once per renderer."""
    overrides = config.templates
    renderer = renderer or Renderer(config.site, overrides)
    notices = _notices(config, gathered)
    faults = {_key(fault): fault for fault in _compile_faults(renderer)}
    for fault in _render_faults(config, renderer, notices, compiled=not faults):
        faults.setdefault(_key(fault), fault)  # the first notice and channel that showed it
    findings = [Finding("error", f.file, f.line, "", f.described) for f in faults.values()]
    if not warnings:
        return findings
    return (
        findings
        + _english_fallbacks(config, renderer, notices)
        + _unused_overrides(renderer, overrides)
    )


def occasions(channel: type[Channel], kind: str, rules: Lifecycle) -> list[str]:
    """The occasions ``lifecycle:`` sends a ``kind`` notice on to this type of channel, as the
    templates are looked up for them (a correction that edits the post renders as ``edit``)."""
    found = [o for o in OCCASIONS[kind] if o != "edit" and routed(channel, o, rules)]
    if rules.corrections == "edit" and channel.supports_edit:
        found = ["edit" if o == "update" else o for o in found]
    return found


# -- compiling ---------------------------------------------------------------------------------


def _compile_faults(renderer: Renderer) -> list[TemplateFault]:
    """A syntax error in any of the admin's templates, whether or not a message reads it.

    The built-in templates ship with the code, each compiled by the tests: compiling all 200
    of them again at every run cost a tenth of a second for nothing. (The ones a message
    uses are compiled anyway, by rendering it.)"""
    faults = []
    for name, file in override_sources(renderer.template_dir).items():
        try:
            renderer.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            fault = template_fault(exc, renderer.template_dir)
            faults.append(fault or TemplateFault(shown_name(str(file)), exc.lineno, str(exc)))
        except UnicodeDecodeError:
            faults.append(TemplateFault(shown_name(str(file)), None, "not UTF-8: save it as UTF-8"))
        except OSError as exc:
            faults.append(
                TemplateFault(shown_name(str(file)), None, f"cannot read: {exc.strerror}")
            )
    return faults


# -- rendering ---------------------------------------------------------------------------------


#: one message: the channel, how the notice is named, the occasion, the notice as told
Told = tuple[str, str, str, Notice]


def _messages(config: Config, notices: list[tuple[Notice, str]]) -> Iterator[Told]:
    """Every message the config sends: each notice on each configured channel, on every
    occasion ``lifecycle:`` sends it there, in each of the channel's languages."""
    rules = config.lifecycle
    languages = config.site.all_languages
    for name, section in config.channels.configured().items():
        told_in = section.told_in(languages)
        for notice, label in notices:
            for occasion, told in product(
                occasions(TYPES[name], notice.kind, rules),
                [variant(notice, each, languages[0]) for each in told_in],
            ):
                yield name, label, occasion, told


def _render_faults(
    config: Config, renderer: Renderer, notices: list[tuple[Notice, str]], *, compiled: bool
) -> Iterator[TemplateFault]:
    """Render every message once, yielding each fault with the notice, occasion and channel
    that showed it."""
    for name, label, occasion, told in _messages(config, notices):
        try:
            renderer.render(told, occasion, name, TYPES[name].parts, _extra(told, occasion))
        except Exception as exc:
            fault = template_fault(exc, renderer.template_dir)
            if fault is None and compiled:
                raise  # not a template's doing: a bug, shown as one
            if fault is not None:
                in_language = f" in {told.language}" if told.language else ""
                context = f"rendering {label} {occasion}{in_language} for {name}"
                yield replace(fault, context=context)


# -- messages told in English for want of a translation ----------------------------------------


def _english_fallbacks(
    config: Config, renderer: Renderer, notices: list[tuple[Notice, str]]
) -> list[Finding]:
    """A warning, once per language and English template, for a message in one of the site's
    languages that has no template in that language's folder: it goes out in English words
    (with that language's dates)."""
    languages = config.site.all_languages
    sources = template_sources(renderer.template_dir)
    found: dict[tuple[str, str], Finding] = {}
    for name, _label, occasion, told in _messages(config, notices):
        for language, part in product(languages_of(told, languages[0]), TYPES[name].parts):
            if language not in languages:
                continue  # a channel's language the site does not list: not this check's
            english = _english_instead(renderer, (told.kind, occasion, name, part), language)
            if english is None or (language, english) in found:
                continue
            message = (
                f"{language}: no template of its own for {name} {told.kind} {occasion}; the "
                f"English one is used (translate a copy saved as {language}/{english})"
            )
            file = shown_name(str(sources[english]))
            found[language, english] = Finding("warning", file, None, "", message)
    return list(found.values())


def _english_instead(
    renderer: Renderer, message: tuple[str, str, str, str], language: str
) -> str | None:
    """The English template a message in ``language`` is read from for want of its own
    (``kind, occasion, channel, part``), or None when it has its own."""
    try:
        if renderer.translated(*message, language):
            return None
        return renderer.template_name(*message)
    except (TemplateMissing, jinja2.TemplateError, UnicodeDecodeError, OSError):
        return None  # a template that cannot be read: an error the other checks report


def _notices(config: Config, gathered: Sequence[Notice] | None) -> list[tuple[Notice, str]]:
    """The notices to render (``gathered`` by a pass, else the config's own), each with how a
    message names it; a sample closure or article where there is none of that kind."""
    if gathered is None:
        gathered = build(config, config_articles(config)).items
    labelled: list[tuple[Notice, str]] = [(n, n.id) for n in gathered]
    for kind in KINDS:
        if not any(n.kind == kind.name for n in gathered):
            labelled.append((kind.sample(config), f"a sample {kind.name} (the config has none)"))
    return labelled


def _extra(notice: Notice, occasion: str) -> dict[str, object]:
    """A correction also shows the version announced before: here, a day earlier."""
    earlier = kind_of(notice).earlier
    if occasion not in ("update", "edit") or earlier is None:
        return {}
    return {"previous": earlier(notice).context()}


# -- override files nothing reads --------------------------------------------------------------


def _unused_overrides(renderer: Renderer, overrides: Path | None) -> list[Finding]:
    """An override file no message looks up and no template imports or extends."""
    if overrides is None or not overrides.is_dir():
        return []
    files = [
        file
        for file in sorted(overrides.rglob("*"))
        if file.is_file() and file.name.endswith(TEMPLATE_SUFFIXES)
    ]
    if not files:  # nothing to check: no template read, no channel loaded to know the names
        return []
    lookups = set(_lookup_names(renderer.site.all_languages))
    names = {file: file.relative_to(overrides).as_posix() for file in files}
    if all(name in lookups for name in names.values()):
        return []  # each is a message's own: no need to read what every template imports
    read = lookups | _referenced(renderer)
    return [
        _warning(file, _never_read(name, lookups))
        for file, name in names.items()
        if name not in read
    ]


def _lookup_names(languages: Sequence[str]) -> Iterator[str]:
    """Every name a message may be looked up by, per channel and the parts it renders, at the
    top and in each of the site's language folders."""
    folders = [(name, channel.parts) for name, channel in TYPES.items()]
    folders.append(("_default", tuple(PART_EXTENSIONS)))
    for prefix in ("", *(f"{language}/" for language in languages)):
        for folder, parts in folders:
            for kind, kind_occasions in OCCASIONS.items():
                for stem in (kind, *(f"{kind}-{o}" for o in kind_occasions)):
                    for part in parts:
                        yield f"{prefix}{folder}/{stem}.{PART_EXTENSIONS[part]}"


def _referenced(renderer: Renderer) -> set[str]:
    """The names templates import, include or extend (a layout, a file of macros)."""
    names: set[str] = set()
    for name in template_sources(renderer.template_dir):
        try:
            source = renderer.env.loader.get_source(renderer.env, name)[0]  # type: ignore[union-attr]
            names.update(n for n in meta.find_referenced_templates(renderer.env.parse(source)) if n)
        except (jinja2.TemplateSyntaxError, UnicodeDecodeError, OSError):
            continue  # reported by the compile check
    return names


def _never_read(name: str, lookups: set[str]) -> str:
    folder = name.split("/", 1)[0]
    if "/" not in name or folder not in {*TYPES, "_default"}:
        where = f"{folder!r} is not a channel" if "/" in name else "it is not in a channel folder"
        hint = f"(channels: {', '.join(TYPES)}, or _default for all)"
    else:
        close = difflib.get_close_matches(name, lookups, n=1, cutoff=0.8)
        where = f"no message is looked up as {name}"
        hint = f"(did you mean {close[0]}?)" if close else "(see `broadcast templates list`)"
    return f"never used: {where} {hint}; the built-in wording is used instead"


# -- findings ----------------------------------------------------------------------------------


def _key(fault: TemplateFault) -> tuple[str, int | None, str]:
    """The same mistake, whichever notice or channel showed it (one broken default template
    fails every channel that falls back to it: it is reported once)."""
    return fault.file, fault.line, fault.message


def _warning(file: Path, message: str) -> Finding:
    return Finding("warning", file.as_posix(), None, "", message)
