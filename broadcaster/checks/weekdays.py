"""Weekdays written next to dates ("26 Mar (Tue)"): each must be its date's weekday, or the
notice would tell every customer the wrong day."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from broadcaster.checks.finding import Finding, day_entries, finding, format_day
from broadcaster.config_fields import each_text

if TYPE_CHECKING:
    from broadcaster.config_model import Loaded
    from broadcaster.config_sections import Closure


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WD = r"(?P<wd>mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\.?"
_MON = r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
_RANGE_TO = r"\s*(?:-|–|—|to|until|till|and|&)\s*"
#: "26 Mar (Tue)", "26 March 2024 (Tuesday)", "26 Mar, Tue" / "Tuesday 26 March", "Tue, 26th of
#: Mar 2024" / "Tuesday, March 26" / the "Tue 26" of "Tue 26 to Wed 27 Mar" (month from the end)
_DATE_WITH_WEEKDAY = [
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"\b{_DAY}\s+{_MON}{_YEAR}\s*(?:\(\s*{_WD}\s*\)|,\s*{_WD}\b)".replace(
            "(?P<wd>", "(?P<wd2>", 1
        ),
        rf"\b{_WD},?\s+(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MON}\b{_YEAR}",
        rf"\b{_WD},?\s+{_MON}\s+{_DAY}\b{_YEAR}",
        rf"\b{_WD},?\s+{_DAY}(?={_RANGE_TO}(?:{_WD.replace('(?P<wd>', '(?:')},?\s+)?"
        rf"(?P<day2>[0-3]?\d)(?:st|nd|rd|th)?\s+{_MON}\b{_YEAR})",
    )
]


def weekday_findings(loaded: Loaded, section: str, index: int) -> list[Finding]:
    """A weekday next to a date must be that date's weekday (year inferred from the closure)."""
    closure = day_entries(loaded, section)[index]
    found = []
    for field in ("message", "reason"):
        for language, text in each_text(getattr(closure, field)):
            at = (section, index, field, *([language] if language else []))
            for written, problem in _wrong_weekdays(text, closure):
                found.append(finding(loaded, "error", at, f'"{written}": {problem}'))
    return found


def _wrong_weekdays(text: str, closure: Closure) -> list[tuple[str, str]]:
    """(the text as written, what is wrong with it) for each date whose weekday is wrong."""
    wrong: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []
    for pattern in _DATE_WITH_WEEKDAY:
        for match in pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            if match.groupdict().get("day2") and int(match["day"]) > int(match["day2"]):
                continue  # "Sat 30 to Mon 1 Apr": the first day is in another month
            taken.append(match.span())
            weekday = _WEEKDAYS.index((match["wd"] or match["wd2"])[:3].lower())
            month = _MONTHS.index(match["mon"][:3].lower()) + 1
            day = _date_near(int(match["day"]), month, match["year"], closure.start)
            label = f"{int(match['day'])} {match['mon'][:3].title()}" + (
                f" {match['year']}" if match["year"] else ""
            )
            if day is None:
                wrong.append((match.start(), match[0], f"{label} is not a date"))
            elif day.weekday() != weekday:
                wrong.append((match.start(), match[0], f"{format_day(day)} is a {day:%A}"))
    return [(written, problem) for _at, written, problem in sorted(wrong)]


def _date_near(day: int, month: int, year: str | None, anchor: date) -> date | None:
    """The date as written; without a year, the one nearest the closure (Dec/Jan works)."""
    years = [int(year)] if year else [anchor.year - 1, anchor.year, anchor.year + 1]
    candidates = []
    for candidate in years:
        try:
            candidates.append(date(candidate, month, day))
        except ValueError:
            continue
    return min(candidates, key=lambda d: abs(d - anchor), default=None)
