"""Weekdays written next to dates (``26 Mar (Tue)``, ``3月26日（周二）``): each must be its
date's weekday, or the notice would tell every customer the wrong day.

A text is read with its own language's words and with English's, since bilingual texts mix;
a plain text (not per language) is in the site's default language. The words are CLDR's and
what people type (:mod:`broadcaster.checks.date_words`); the shapes they are read in are ours:

- English, as it always was: ``26 Mar (Tue)``, ``26 March 2024, Tuesday``, ``Tue, 26th of
  Mar``, ``Tuesday, March 26``, and ``Tue 26 to Wed 27 Mar`` (the month from the end);
- any other language: ``26 Mac (Sel)``, ``26 மார்ச் (செவ்வாய்)`` (day, month, a year if
  any, then the weekday in brackets or after a comma); ``மார். 26 (செவ்.)``, ``மார்ச் 26,
  செவ்வாய்`` (month first); ``Selasa, 26 Mac``, ``செவ்வாய், 26 மார்ச், 2024`` (weekday first);
- a language whose months are numbers: ``3月26日（周二）``, ``3月26日(星期二)``, ``3月26日
  周二``, ``2024年3月26日星期二``, ``3月26号礼拜二``;
- numeric dates, in every language but English, with a weekday after them: ``26/3（二）``,
  ``26/03/24 (Sel)``. Common in Singapore's Chinese notices (and CLDR's own short date
  there, ``26/03/24``), but ambiguous: the order is CLDR's for the site's locale and
  separator (``zh`` in ``SG``: ``26/3``, ``3-26``), except where the number in the month's
  place is no month (``3/26``: the 26th of March, as written in China). English leaves
  ``26/3 (Tue)`` unchecked, as it always has.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from broadcaster.checks.date_words import DateWords, alternation, date_words, key
from broadcaster.checks.finding import Finding, day_entries, finding, format_day
from broadcaster.config_fields import each_text
from broadcaster.i18n import known_language

if TYPE_CHECKING:
    import regex

    from broadcaster.config_model import Loaded

    #: a language's words, and the shapes of date and weekday they are read in
    Reader = tuple[DateWords, tuple[regex.Pattern[str], ...]]

# English, exactly as before CLDR's words came in
_EN_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_EN_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
_EN_TO = r"\s*(?:-|–|—|to|until|till|and|&)\s*"
_ENGLISH = (
    r"\b{day}\s+{mon}{year}\s*(?:\(\s*{wd}\s*\)|,\s*{wd}\b)",
    r"\b{wd},?\s+(?:the\s+)?{day}\s+(?:of\s+)?{mon}\b{year}",
    r"\b{wd},?\s+{mon}\s+{day}\b{year}",
    r"\b{wd},?\s+{day}(?={to}(?:{any_wd},?\s+)?(?P<day2>[0-3]?\d)(?:st|nd|rd|th)?\s+{mon}\b{year})",
)
# every other language
_DAY = r"(?<!\w)(?<!\d[/.-])(?P<day>\d\d?)(?!\d)"
_YEAR = r"(?:\s*,?\s*(?P<year>\d{4})(?!\d))?"
_OPEN, _CLOSE = r"\s*[(（]\s*", r"\s*[)）]"
_WORDS = (
    r"{day}\s*{mon}{year}{tail}",
    r"(?<!\w){mon}\s*{day}{year}{tail}",
    r"(?<!\w){wd}\s*[,，]?\s*{day}\s*{mon}{year}",
    r"(?<!\w){wd}\s*[,，]?\s*{mon}\s*{day}{year}",
)
_NUMBERED_MONTHS = r"(?<!\d)(?:(?P<year>\d{{4}})\s*{year}\s*)?{mon}\s*(?P<day>\d\d?)\s*{day}{tail}"
_NUMERIC = (
    r"(?<![\d/.-])(?P<numeric>){first}{sep}{second}(?:{sep}(?P<year>\d{{4}}|\d\d))?(?![\d/.-])"
    r"{tail}"
)


def weekday_findings(loaded: Loaded, section: str, index: int) -> list[Finding]:
    """A weekday next to a date must be that date's weekday (year inferred from the closure)."""
    closure = day_entries(loaded, section)[index]
    site = loaded.config.site
    found = []
    for field in ("message", "reason"):
        for language, text in each_text(getattr(closure, field)):
            at = (section, index, field, *([language] if language else []))
            told_in = language or site.all_languages[0]
            for written, problem in wrong_weekdays(text, told_in, site.region, closure.start):
                found.append(finding(loaded, "error", at, f'"{written}": {problem}'))
    return found


def wrong_weekdays(
    text: str, language: str, region: str | None, anchor: date
) -> list[tuple[str, str]]:
    """(the text as written, what is wrong with it) for each date in ``text`` whose weekday is
    wrong, in the order written; a date without a year is the one nearest ``anchor``."""
    if not any(character.isdigit() for character in text):
        return []  # no date: the words and shapes are not even built
    wrong: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []
    for words, patterns in _readers(language, region):
        for pattern in patterns:
            for match in pattern.finditer(text):
                if any(match.start() < end and start < match.end() for start, end in taken):
                    continue
                if match.groupdict().get("day2") and int(match["day"]) > int(match["day2"]):
                    continue  # "Sat 30 to Mon 1 Apr": the first day is in another month
                taken.append(match.span())
                problem = _problem(match, words, anchor)
                if problem:
                    wrong.append((match.start(), match[0], problem))
    return [(written, problem) for _at, written, problem in sorted(wrong)]


@lru_cache(maxsize=32)
def _readers(language: str, region: str | None) -> tuple[Reader, ...]:
    """The words and shapes a text in ``language`` is read with: its own, then English's."""
    own = [date_words(language, region)] if known_language(language) else []
    if not any(words.english for words in own):
        own.append(date_words("en", region))
    return tuple((words, _patterns(words)) for words in own)


def _patterns(words: DateWords) -> tuple[regex.Pattern[str], ...]:
    """The shapes ``words`` are read in (see the module's docstring). (``regex``, for its
    Unicode word boundaries, is imported by the first text with a date in it.)"""
    import regex

    flags = regex.IGNORECASE | regex.VERSION0
    if words.english:
        wd, mon = _group("wd", words.weekdays), _group("mon", words.months)
        english = {"day": _EN_DAY, "year": _EN_YEAR, "to": _EN_TO, "mon": rf"{mon}\.?"}
        any_wd = rf"(?:{alternation(words.weekdays)})\.?"
        shapes = [s.format(wd=rf"{wd}\.?", any_wd=any_wd, **english) for s in _ENGLISH]
        return tuple(regex.compile(shape, flags) for shape in shapes)
    numbered = bool(words.month_suffix)
    wd, tail = _weekday(words, numbered)
    shapes = _numeric(words, tail)
    if numbered:
        number = rf"(?P<mon>\d\d?)\s*{regex.escape(words.month_suffix)}"
        mon = f"(?:{number}|{_group('mon', words.months)})"
        day = f"(?:{alternation(words.day_suffixes)})"
        year = regex.escape(words.year_suffix)
        shapes.append(_NUMBERED_MONTHS.format(year=year, mon=mon, day=day, tail=tail))
    else:
        mon = rf"{_group('mon', words.months)}\.?(?!\w)"
        shapes += [s.format(day=_DAY, mon=mon, year=_YEAR, wd=wd, tail=tail) for s in _WORDS]
    return tuple(regex.compile(shape, flags) for shape in shapes)


def _weekday(words: DateWords, numbered: bool) -> tuple[str, str]:
    """A weekday standing free, and what may follow a date: a weekday in brackets (narrow
    forms too) or after a comma; where months are numbers, also straight after (``日周二``)."""
    import regex

    noun = f"(?:\\w*?{regex.escape(words.weekday_noun)})?" if words.weekday_noun else ""
    end = "" if numbered else r"\.?(?!\w)"
    free = f"{_group('wd', words.weekdays)}{noun}{end}"
    bracketed = f"{_group('wd', words.bracketed)}{noun}{end}"
    after = r"[\s,，、]*" if numbered else r"\s*[,，]\s*"
    return free, f"(?:{_OPEN}{bracketed}{_CLOSE}|{after}{free})"


def _numeric(words: DateWords, tail: str) -> list[str]:
    """``26/3`` then a weekday, in CLDR's order for each separator of the site's locale."""
    import regex

    shapes = []
    for separator, day_first in words.day_first.items():
        day, mon = r"(?P<day>\d\d?)", r"(?P<mon>\d\d?)"
        first, second = (day, mon) if day_first else (mon, day)
        sep = regex.escape(separator)
        shapes.append(_NUMERIC.format(first=first, second=second, sep=sep, tail=tail))
    return shapes


def _group(name: str, words: Iterable[str]) -> str:
    """``(?P<name>...)`` matching any of ``words`` (none: never matches)."""
    return f"(?P<{name}>{alternation(words) or '(?!)'})"


def _problem(match: regex.Match[str], words: DateWords, anchor: date) -> str | None:
    """What is wrong with one date and weekday as written, or None."""
    day, month = int(match["day"]), _month(match["mon"], words)
    if match.groupdict().get("numeric") is not None and month > 12 >= day:
        day, month = month, day  # 3/26 where CLDR writes 26/3: 26 is no month
    if not 1 <= month <= 12:
        return None  # not a date: a number that happens to have a weekday after it
    year = _year(match["year"])
    found = _date_near(day, month, year, anchor)
    if found is None:
        label = f"{day} {date(2000, month, 1):%b}" + (f" {year}" if year else "")
        return f"{label} is not a date"
    weekday = words.bracketed[key(match["wd"])]
    if found.weekday() == weekday:
        return None
    named = "" if words.english else f" ({words.names[found.weekday()]})"
    return f"{format_day(found)} is a {found:%A}{named}"


def _month(written: str, words: DateWords) -> int:
    """The month as written: a number (``3`` of ``3月``, ``26/3``) or a word."""
    return int(written) if written.isdigit() else words.months[key(written)]


def _year(written: str | None) -> int | None:
    """A year as written: ``2024``, or ``24`` in a numeric date (``26/03/24``)."""
    if written is None:
        return None
    return int(written) + (2000 if len(written) == 2 else 0)


def _date_near(day: int, month: int, year: int | None, anchor: date) -> date | None:
    """The date as written; without a year, the one nearest the closure (Dec/Jan works)."""
    years = [year] if year else [anchor.year - 1, anchor.year, anchor.year + 1]
    candidates = []
    for candidate in years:
        try:
            candidates.append(date(candidate, month, day))
        except ValueError:
            continue
    return min(candidates, key=lambda d: abs(d - anchor), default=None)
