"""Dates, weekdays, times and lists in each language's own form, from CLDR (Babel).

Nothing here is written by hand per language: the month and weekday abbreviations, their
order, the 12- or 24-hour clock and the word that joins a list all come from the Unicode CLDR
data Babel ships, for the site's languages in the site's region (``site.region``: ``SG`` makes
``en`` mean Singapore English and ``zh`` Simplified Chinese as written in Singapore).

The one form of our own is the clinic's short day, ``26 Mar (Tue)``: CLDR's abbreviated
month-and-day (skeleton ``MMMd``) and, in brackets, its abbreviated weekday (``EEE``); full-width
brackets and no space in Chinese and Japanese, where that is how a weekday is bracketed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale

#: English with no region is CLDR's world English ("26 Mar", "A, B and C"), not US English
WORLD_ENGLISH = "en_001"
#: languages that bracket a weekday in full-width brackets, with no space: 3月26日（周二）
_WIDE_BRACKETS = frozenset({"zh", "ja"})


class UnknownLanguage(ValueError):
    """A language (or language and region) CLDR has no data for."""


@lru_cache(maxsize=64)
def locale_of(language: str, region: str | None = None) -> Locale:
    """The CLDR locale for a BCP 47 language (``zh``, ``ta``, ``en-GB``) in ``region``."""
    from babel import Locale, UnknownLocaleError

    tag = language.replace("-", "_")
    if region and "_" not in tag:
        tag = f"{tag}_{region}"
    elif tag == "en":
        tag = WORLD_ENGLISH
    try:
        return Locale.parse(tag)
    except (UnknownLocaleError, ValueError):
        if region:  # a language CLDR knows, in a region it has no data for: the language alone
            return locale_of(language)
        raise UnknownLanguage(f"{language!r} is not a language CLDR knows") from None


def known_language(language: str) -> bool:
    try:
        locale_of(language)
    except UnknownLanguage:
        return False
    return True


def language_name(language: str) -> str:
    """The language's name in itself (``中文``, ``Bahasa Melayu``, ``தமிழ்``): for switches."""
    from babel import Locale

    locale = Locale.parse(locale_of(language).language)
    name = locale.get_display_name(locale) or language
    return name[:1].upper() + name[1:]


def day(value: date | datetime, locale: Locale) -> str:
    """``26 Mar (Tue)``, ``3月26日（周二）``, ``26 Mac (Sel)``, ``மார். 26 (செவ்.)``."""
    from babel.dates import format_date, format_skeleton

    _a_date("day", value)
    month_day = format_skeleton("MMMd", value, locale=locale)
    weekday = format_date(value, "EEE", locale=locale)
    if locale.language in _WIDE_BRACKETS:
        return f"{month_day}（{weekday}）"
    return f"{month_day} ({weekday})"


def long_day(value: date | datetime, locale: Locale) -> str:
    """``Tuesday, 26 March 2024``, ``2024年3月26日星期二``: CLDR's full date."""
    from babel.dates import format_date

    _a_date("long_day", value)
    return format_date(value, "full", locale=locale)


def clock(value: str | time, locale: Locale) -> str:
    """A time of day (``"09:00"`` from the config) as the language writes it: ``9:00 am``,
    ``上午9:00``, ``9:00 PG``."""
    from babel.dates import format_time

    if isinstance(value, str):
        value = time.fromisoformat(value)
    return format_time(value, "short", locale=locale)


def join_and(items: Sequence[str], locale: Locale) -> str:
    """``A, B and C``, ``A、B和C``, ``A, B dan C``, ``A, B மற்றும் C``."""
    from babel.lists import format_list

    items = [str(item) for item in items]
    return format_list(items, locale=locale) if items else ""


def _a_date(name: str, value: object) -> None:
    """A template that gives a date filter something else gets a message saying so."""
    if not isinstance(value, date):
        raise TypeError(f"{name} needs a date, not {type(value).__name__} {value!r}")
