"""Texts per language: each in a language of the site, the default one always given, the
missing translations named; and each channel posting only in the site's languages.

A missing translation is allowed (that language's readers get the default language's text)
but ``broadcast validate`` says which are missing, so an admin who meant to translate knows.
A text in a language the site does not list would never be sent: a mistake, like a typo.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from broadcaster.checks.finding import DAY_SECTIONS, Finding, day_entries, finding

if TYPE_CHECKING:
    from broadcaster.config_model import Loaded

#: the texts an admin may give per language, by section
TEXT_FIELDS = {"closures": ("reason", "message"), "hours": ("reason", "message")}
ARTICLE_FIELDS = ("title", "summary")


def language_findings(loaded: Loaded) -> list[Finding]:
    """Every finding about languages: texts, then channels."""
    found = [f for path, value in _texts(loaded) for f in _text_findings(loaded, path, value)]
    return found + _channel_findings(loaded)


def _texts(loaded: Loaded) -> Iterator[tuple[tuple[str | int, ...], object]]:
    """(config path, value) of every text that may be given per language."""
    for section in DAY_SECTIONS:
        for index, entry in enumerate(day_entries(loaded, section)):
            for field in TEXT_FIELDS[section]:
                yield (section, index, field), getattr(entry, field)
    for index, item in enumerate(loaded.config.articles.items):
        for field in ARTICLE_FIELDS:
            if getattr(item, field):
                yield ("articles", "items", index, field), getattr(item, field)


def _text_findings(loaded: Loaded, path: tuple[str | int, ...], value: object) -> list[Finding]:
    """A text per language: known languages only, the default given, the rest said missing."""
    languages = loaded.config.site.all_languages
    default = languages[0]
    if value is None or (len(languages) == 1 and not isinstance(value, dict)):
        return []
    given = list(value) if isinstance(value, dict) else [default]
    found = [
        finding(
            loaded,
            "error",
            (*path, language),
            f"{language!r} is not one of site.languages ({', '.join(languages)})",
        )
        for language in given
        if language not in languages
    ]
    if default not in given:
        message = f"no {default} text: give one in the default language (site.languages[0])"
        found.append(finding(loaded, "error", path, message))
    missing = [language for language in languages if language not in given]
    if missing and default in given:
        names = ", ".join(missing)
        message = f"no {names} translation: {names} readers get the {default} text"
        found.append(finding(loaded, "warning", path, message))
    return found


def _channel_findings(loaded: Loaded) -> list[Finding]:
    """``channels.<name>.languages``: languages of the site, each once."""
    site = loaded.config.site.all_languages
    found = []
    for name, section in loaded.config.channels.configured().items():
        for index, language in enumerate(getattr(section, "languages", None) or []):
            if language not in site:
                message = (
                    f"{language!r} is not one of site.languages ({', '.join(site)}): "
                    "add it there, with its translations"
                )
                found.append(
                    finding(loaded, "error", ("channels", name, "languages", index), message)
                )
    return found
