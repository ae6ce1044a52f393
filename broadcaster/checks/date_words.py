"""The words a language writes dates with, from CLDR (Babel): what the weekday check reads.

Month and weekday names are CLDR's, for the site's locale (``locale_of(language, region)``),
the language without a region (``en``: world English, ``Sept``) and the language's own data
(``en`` alone is US English, whose ``Sep`` an admin in Singapore types as well): wide and
abbreviated, in the format and stand-alone contexts. Besides those, what people really type:

- a wide weekday name cut short anywhere after its abbreviation, at a character a reader
  sees as one (``Tues``, ``Thurs``; ``செவ்வா``), and any abbreviation without its dot
  (``மார்`` for ``மார்.``);
- narrow forms (``二``, ``செ``) only inside brackets after a date, and only in a language
  whose seven narrow weekdays are seven different words: an English ``T`` or a Malay ``S``
  could be two days, so it is no weekday at all;
- the few spellings CLDR does not list, written below as variations of CLDR's own words:
  Chinese ``礼拜二`` (for ``星期二``), ``星期天``/``周天`` (for ``星期日``), ``3月26号`` (for
  ``3月26日``), and Tamil's ``செவ்வாய்க்கிழமை`` (the weekday and ``கிழமை``, "day", joined as
  the language joins them).

A word that could mean two months or two weekdays is left out. A language whose months are
numbers (CLDR's ``3月``: Chinese, Japanese) is written ``3月26日``, and its day and year
suffixes come from CLDR's patterns too (``y年M月d日``). Numeric dates (``26/3``) are read in
the order CLDR writes them for the site's locale, per separator: in Singapore, ``zh`` writes
``26/03/24`` (day first) and ``3-26`` (month first).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from broadcaster.i18n import locale_of

if TYPE_CHECKING:
    from babel import Locale

#: spellings people type that CLDR does not list, as (CLDR's part, what is typed instead)
_SPOKEN_WEEKDAYS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "zh": (("星期", "礼拜"), ("日", "天")),  # 礼拜二; 星期天, 礼拜天, 周天
}
#: other day suffixes than CLDR's (``日``): ``3月26号``
_SPOKEN_DAY_SUFFIXES: Mapping[str, tuple[str, ...]] = {"zh": ("号",)}
#: a noun ("day") that may follow a weekday, joined to it: ``செவ்வாய்க்கிழமை``, ``திங்கட்கிழமை``
_WEEKDAY_NOUNS: Mapping[str, str] = {"ta": "கிழமை"}
#: what may separate a numeric day and month (``26/3``, ``3-26``, ``26.3``)
_NUMERIC_SEPARATORS = "/.-"


@dataclass(frozen=True)
class DateWords:
    """A language's date words, each folded (``key``) and mapped to its number."""

    language: str
    #: weekday words (``Tue``, ``Tuesday``, ``周二``) -> 0 (Monday) to 6 (Sunday)
    weekdays: Mapping[str, int]
    #: the weekday words a bracket may hold after a date: also the narrow ones (``二``)
    bracketed: Mapping[str, int]
    #: month words (``Mar``, ``March``, ``三月``) -> 1 to 12
    months: Mapping[str, int]
    #: the suffix of a month written as a number (``3月``: ``月``), or "" where months are words
    month_suffix: str
    #: what follows a day's number (``26日``, ``26号``) and a year's (``2024年``); "" for none
    day_suffixes: tuple[str, ...]
    year_suffix: str
    #: numeric dates: separator -> whether the day comes first (``/``: ``26/3``)
    day_first: Mapping[str, bool]
    #: the noun a weekday may carry (``கிழமை``), or ""
    weekday_noun: str
    #: each weekday's wide name, Monday first: how findings name the right one
    names: tuple[str, ...]

    @property
    def english(self) -> bool:
        return self.language == "en"


def key(word: str) -> str:
    """A word as the tables hold it: case folded, without an abbreviation's dot."""
    return word.casefold().rstrip(".")


def alternation(words: Iterable[str]) -> str:
    """A regex alternative of ``words``, the longest first (``Tuesday`` before ``Tue``)."""
    import regex  # imported by the first text with a date in it

    return "|".join(regex.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


@lru_cache(maxsize=32)
def date_words(language: str, region: str | None) -> DateWords:
    """The date words of ``language`` as written in ``region`` (and in the language's own
    CLDR data)."""
    from babel import Locale
    from babel.dates import get_day_names, get_month_names

    site = locale_of(language, region)
    locales = tuple(dict.fromkeys((site, locale_of(language), Locale.parse(site.language))))
    lang = site.language
    weekdays = _with_cut_names(_names("days", locales, "wide", "abbreviated"), locales)
    weekdays = _spoken(weekdays, _SPOKEN_WEEKDAYS.get(lang, ()))
    narrow = _names("days", locales, "narrow")
    months = _names("months", locales, "wide", "abbreviated")
    month_suffix = _number_suffix(get_month_names("abbreviated", "format", site))
    if month_suffix:  # "3月" is read as a number: only the months in words stay words
        months = {word: found for word, found in months.items() if not word[:1].isdigit()}
    skeletons = site.datetime_skeletons
    day_suffix = _suffix_after("d", str(skeletons["MMMd"].pattern)) if month_suffix else ""
    return DateWords(
        language=lang,
        weekdays=_unambiguous(weekdays),
        bracketed=_unambiguous(_merged(weekdays, _seven_or_none(narrow))),
        months=_unambiguous(months),
        month_suffix=month_suffix,
        day_suffixes=(day_suffix, *_SPOKEN_DAY_SUFFIXES.get(lang, ())),
        year_suffix=_suffix_after("y", str(skeletons["yMMMd"].pattern)) if month_suffix else "",
        day_first=_numeric_orders(site),
        weekday_noun=_WEEKDAY_NOUNS.get(lang, ""),
        names=tuple(get_day_names("wide", "format", site)[day] for day in range(7)),
    )


Names = dict[str, set[int]]
Width = Literal["wide", "abbreviated", "narrow"]


def _names(kind: Literal["days", "months"], locales: tuple[Locale, ...], *widths: Width) -> Names:
    """Every name of ``widths`` in both contexts of each locale -> the numbers it names."""
    from babel.dates import get_day_names, get_month_names

    getter = get_day_names if kind == "days" else get_month_names
    found: Names = defaultdict(set)
    for locale in locales:
        for context in ("format", "stand-alone"):
            for width in widths:
                for number, name in getter(width, context, locale).items():
                    found[key(name)].add(number)
    return found


def _with_cut_names(names: Names, locales: tuple[Locale, ...]) -> Names:
    """Add each wide weekday name cut after its abbreviation (``Tues``, ``Thurs``)."""
    import regex  # imported by the first text with a date in it
    from babel.dates import get_day_names

    found = _merged(names, {})
    for locale in locales:
        wide = get_day_names("wide", "format", locale)
        for day, short in get_day_names("abbreviated", "format", locale).items():
            graphemes = regex.findall(r"\X", key(wide[day]))
            for end in range(1, len(graphemes)):
                cut = "".join(graphemes[:end])
                if cut.startswith(key(short)) and len(cut) > len(key(short)) and cut not in names:
                    found[cut].add(day)
    return found


def _spoken(names: Names, variations: tuple[tuple[str, str], ...]) -> Names:
    """Add the spellings people type in place of a part of CLDR's words."""
    found = _merged(names, {})
    for cldr, typed in variations:
        for word, days in list(found.items()):
            spoken = word.replace(cldr, typed)
            if spoken not in names:
                found[spoken] |= days
    return found


def _unambiguous(names: Names) -> dict[str, int]:
    """The words that name one thing only."""
    return {word: next(iter(days)) for word, days in names.items() if len(days) == 1 and word}


def _seven_or_none(narrow: Names) -> Names:
    """Narrow weekdays, if each names one day and no two the same (``二``; not ``S``)."""
    return narrow if len(narrow) == 7 and all(len(d) == 1 for d in narrow.values()) else {}


def _merged(names: Names, more: Names) -> Names:
    """``names`` and ``more`` in a new table (a word in both names what it names in each)."""
    found: Names = defaultdict(set, {word: set(days) for word, days in names.items()})
    for word, days in more.items():
        found[word] |= days
    return found


def _number_suffix(months: Mapping[int, str]) -> str:
    """``月`` where each month is its number and one suffix (``1月`` .. ``12月``), else ""."""
    suffixes = {name.removeprefix(str(month)) for month, name in months.items()}
    numbered = all(name.startswith(str(month)) for month, name in months.items())
    return suffixes.pop() if numbered and len(suffixes) == 1 else ""


def _suffix_after(field: str, pattern: str) -> str:
    """The literal text right after ``field`` in a CLDR pattern: ``日`` in ``M月d日``."""
    import regex  # imported by the first text with a date in it

    found = regex.search(rf"{field}+([^A-Za-z']*)", pattern)
    return found[1].strip() if found else ""


def _numeric_orders(locale: Locale) -> dict[str, bool]:
    """Separator -> day first, from the locale's numeric dates (short, ``Md``, ``yMd``)."""
    import regex  # imported by the first text with a date in it

    patterns = [str(locale.date_formats["short"].pattern)]
    skeletons = locale.datetime_skeletons
    patterns += [str(skeletons[s].pattern) for s in ("Md", "yMd") if s in skeletons]
    orders: dict[str, bool] = {}
    for pattern in patterns:
        pair = regex.search(
            r"(?<!M)(d{1,2}|M{1,2})(?!M)\s*([^\w\s'])\s*(d{1,2}|M{1,2})(?!M)", pattern
        )
        if pair and pair[2] in _NUMERIC_SEPARATORS and pair[1][0] != pair[3][0]:
            orders.setdefault(pair[2], pair[1].startswith("d"))
    return orders
