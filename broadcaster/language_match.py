"""Which of the site's languages a person reads, from what their list, their choice or their
browser says.

A subscriber list's ``language`` column holds whatever the tool that exported it writes: a
BCP 47 tag in any case and with either separator (``zh-SG``, ``zh_Hans``, ``ZH``), a
three-letter ISO 639 code (``zho``, ``msa``, ``tam``), or the language's name, in English or
in itself (``Chinese``, ``中文``, ``Bahasa Melayu``, ``தமிழ்``). A browser says it in
``Accept-Language``. Each is matched to a site language by its primary subtag
(``zh-Hant-TW`` reads the site's ``zh``; a tag the site has exactly, ``zh-Hant``, wins), with
the codes' aliases and the languages' names taken from CLDR (Babel), never from lists of our
own. Nothing written, or a language the site does not have, is the site's default language:
so each person reads exactly one of the site's languages.

Names are tried whole, then word by word (``Chinese (Simplified)``, ``Bahasa Melayu``), in
the site's languages and English. A list has few distinct values, so each is matched once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

#: a BCP 47 tag as far as matching needs: a 2-3 letter language, then any subtags
_TAG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
_WORD = re.compile(r"\w+")
#: distinct values remembered per matcher (a list holds a handful; a bound all the same)
_REMEMBER = 1000
#: ``Accept-Language`` entries looked at: browsers send a few, anything more is noise
_MAX_RANGES = 20


class LanguageMatch:
    """Matches what people write to one of ``languages`` (the first being the default)."""

    def __init__(self, languages: Sequence[str]) -> None:
        self.languages = tuple(languages)
        self.default = self.languages[0]
        self._exact = {_normal(language): language for language in self.languages}
        self._primary: dict[str, str] = {}
        for language in self.languages:
            self._primary.setdefault(_primary(_normal(language)), language)
        self._names: dict[str, str] | None = None
        self._seen: dict[str, str] = {}

    def of(self, written: str | None) -> str:
        """The site language for a list's ``language`` cell or a stored choice; the default
        when nothing is written or nothing matches."""
        if not written:
            return self.default
        found = self._seen.get(written)
        if found is None:
            found = self.match(written) or self.default
            if len(self._seen) < _REMEMBER:
                self._seen[written] = found
        return found

    def match(self, written: str) -> str | None:
        """The site language ``written`` names (a tag, a code or a name), or None."""
        text = " ".join(written.split())
        return self.tag(text) or self._named(text)

    def tag(self, text: str) -> str | None:
        """The site language of a BCP 47 tag or ISO 639 code, or None."""
        normal = _normal(text)
        if not _TAG.fullmatch(normal):
            return None
        return self._exact.get(normal) or self._primary.get(_primary(normal))

    def best_for(self, accept_language: str) -> str:
        """The site language a browser prefers most (its ``Accept-Language`` header, q-values
        honoured), or the default."""
        ranked = []
        for position, item in enumerate(accept_language.split(",")[:_MAX_RANGES]):
            tag, _, params = item.partition(";")
            quality = _quality(params)
            if quality > 0:
                ranked.append((-quality, position, tag.strip()))
        for _, _, tag in sorted(ranked):
            found = self.tag(tag)
            if found:
                return found
        return self.default

    def _named(self, text: str) -> str | None:
        names = self._names
        if names is None:
            names = self._names = _names_of(self.languages)
        whole = names.get(text.casefold())
        if whole:
            return whole
        return next((names[w] for w in _WORD.findall(text.casefold()) if w in names), None)


def _normal(tag: str) -> str:
    return tag.strip().replace("_", "-").casefold()


def _primary(normal: str) -> str:
    """The primary subtag, with CLDR's aliases applied (``zho``, ``chi``, ``cmn`` -> ``zh``)."""
    primary = normal.partition("-")[0]
    return _aliases().get(primary, primary)


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    from babel.core import get_global

    return {
        code.casefold(): str(target).replace("_", "-").casefold().partition("-")[0]
        for code, target in get_global("language_aliases").items()
        if "_" not in code and "-" not in code
    }


def _names_of(languages: tuple[str, ...]) -> dict[str, str]:
    """Every CLDR name of each site language and its variants (``Simplified Chinese``,
    ``繁体中文``), in each site language and English, casefolded -> the site language."""
    from babel import Locale

    from broadcaster.i18n import locale_of

    wanted = {_primary(_normal(language)): language for language in reversed(languages)}
    names: dict[str, str] = {}
    for naming in dict.fromkeys(["en", *languages]):
        for code, name in Locale.parse(locale_of(naming).language).languages.items():
            language = wanted.get(_primary(_normal(code)))
            if language is not None:
                names.setdefault(name.casefold(), language)
    return names


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().casefold() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0
