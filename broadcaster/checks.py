"""Rules a config must obey beyond its shape: dates that make sense, outlets that exist, a
subscriber list that can be read, channel names under ``lifecycle:`` that exist.

``load`` refuses the config on any ``error``; ``broadcast validate`` also shows ``warning``s
(things that are allowed but probably not meant, such as the same closure entered twice).

Errors are what would send something false to every customer (a weekday that does not match
its date, a closure that ends before it starts); warnings are what is allowed but probably
not meant (a closure entered twice, two closures covering the same outlet on the same day,
an announcement date already past). Checks that depend on the time (``--now``) run only
when ``broadcast validate`` passes ``now``: a config that was valid yesterday stays loadable.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from broadcaster.errors import ConfigProblem

if TYPE_CHECKING:
    from broadcaster.config_model import Loaded
    from broadcaster.config_sections import Closure


@dataclass(frozen=True)
class Finding:
    severity: Literal["error", "warning"]
    file: str
    line: int | None
    key: str
    message: str

    def as_config_problem(self) -> ConfigProblem:
        return ConfigProblem(self.file, self.line, self.key, self.message)

    def __str__(self) -> str:
        return str(self.as_config_problem())


#: the config's sections about days at the outlets, and what one entry of each is called
DAY_SECTIONS = ("closures", "hours")
NOUN = {"closures": "closure", "hours": "hours change"}


def _entries(loaded: Loaded, section: str) -> Sequence[Closure]:
    """The entries of a section about days (an hours change is a closure with hours)."""
    entries: Sequence[Closure] = getattr(loaded.config, section)
    return entries


def config_problems(loaded: Loaded, now: datetime | None = None) -> list[Finding]:
    """Every semantic finding about the closures and hours changes, errors first; ``now``
    adds the timing ones."""
    findings: list[Finding] = []
    for section in DAY_SECTIONS:
        for index, _entry in enumerate(_entries(loaded, section)):
            findings.extend(_closure_findings(loaded, section, index))
            findings.extend(_weekday_findings(loaded, section, index))
            findings.extend(_reason_findings(loaded, section, index))
            if now is not None:
                findings.extend(_timing_findings(loaded, section, index, now))
        findings.extend(_duplicate_closures(loaded, section))
        findings.extend(_overlapping_closures(loaded, section))
    findings.extend(_subscriber_file_findings(loaded))
    findings.extend(_template_folder_findings(loaded))
    findings.extend(_output_folder_findings(loaded))
    findings.extend(_lifecycle_findings(loaded))
    return sorted(findings, key=lambda f: f.severity != "error")


def _subscriber_file_findings(loaded: Loaded) -> list[Finding]:
    """A list that cannot be read would quietly mail nobody: refuse the config instead.
    (Bad rows are only warnings: they are reported and skipped.)"""
    from broadcaster import subscribers

    email = loaded.config.channels.email
    if email is None:
        return []
    try:
        with closing(subscribers.read(email.subscribers)) as rows:
            next(rows, None)  # the file opens and has an email column
    except subscribers.SubscribersError as exc:
        return [_finding(loaded, "error", ("channels", "email", "subscribers"), str(exc))]
    return []


def _template_folder_findings(loaded: Loaded) -> list[Finding]:
    """A misspelt overrides folder would silently send the built-in wording instead."""
    folder = loaded.config.templates
    if folder is None or folder.is_dir():
        return []
    what = "is a file, not a folder" if folder.exists() else "no such folder"
    return [
        _finding(
            loaded,
            "error",
            ("templates",),
            f"{folder}: {what} (it holds your own templates, each overriding the built-in one "
            "of its name; remove the key to use only the built-in ones)",
        )
    ]


def _output_folder_findings(loaded: Loaded) -> list[Finding]:
    """A folder broadcaster writes to must be creatable and writable, or the run would fail
    after other channels had already been told: refuse before anything is sent."""
    channels = loaded.config.channels
    folders: list[tuple[tuple[str | int, ...], Path]] = []
    if channels.banner is not None:
        folders.append((("channels", "banner", "output_dir"), channels.banner.output_dir))
    if channels.email is not None and channels.email.transport == "maildir":
        folders.append((("channels", "email", "maildir"), channels.email.maildir))
    findings = []
    for path, folder in folders:
        problem = unwritable_folder(folder)
        if problem:
            findings.append(_finding(loaded, "error", path, f"{folder}: {problem}"))
    return findings


def unwritable_folder(folder: Path) -> str | None:
    """Why ``folder`` cannot be created or written to, or None when it can."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder: move it or choose another folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"this user ({_user()}) may not write to {existing}: change its permissions"
    return None


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _lifecycle_findings(loaded: Loaded) -> list[Finding]:
    """``lifecycle:`` names channels: a misspelt one would silently send nothing there."""
    rules = loaded.config.lifecycle
    found = []
    for key, names in (("remind", rules.remind or []), ("reopen", rules.reopen)):
        for index, name in enumerate(names):
            found.extend(_lifecycle_channel(loaded, key, index, name))
    found.extend(_corrections_findings(loaded))
    return found


def _lifecycle_channel(loaded: Loaded, key: str, index: int, name: str) -> list[Finding]:
    """One name under ``lifecycle.remind`` or ``lifecycle.reopen``: a known channel, one that
    is configured, and one that posts messages (the banner shows state, it never reminds)."""
    from broadcaster.channels import TYPES, configured_channels

    at = ("lifecycle", key, index)
    if name not in TYPES:
        close = difflib.get_close_matches(name, list(TYPES), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else f"channels: {', '.join(TYPES)}"
        return [_finding(loaded, "error", at, f"unknown channel {name!r} ({hint})")]
    if "announce" not in TYPES[name].accepts:
        message = f"{name} does not announce notices, so it gets no {key} message"
        return [_finding(loaded, "warning", at, message)]
    if name not in configured_channels(loaded.config):
        message = f"{name} is not configured (no channels.{name}): nothing is sent there"
        return [_finding(loaded, "warning", at, message)]
    return []


def _corrections_findings(loaded: Loaded) -> list[Finding]:
    """``corrections: edit`` edits the post only where the platform can; elsewhere the
    correction goes out as a new post, which the admin should know."""
    from broadcaster.channels import TYPES, configured_channels

    if loaded.config.lifecycle.corrections != "edit":
        return []
    posting = [
        name for name in configured_channels(loaded.config) if "announce" in TYPES[name].accepts
    ]
    cannot = [name for name in posting if not TYPES[name].supports_edit]
    if not cannot:
        return []
    editing = [name for name, channel in TYPES.items() if channel.supports_edit]
    message = (
        f"{', '.join(cannot)} cannot edit a post: a correction goes out there as a new post "
        f"(only {' and '.join(editing)} edit)"
    )
    return [_finding(loaded, "warning", ("lifecycle", "corrections"), message)]


def _finding(
    loaded: Loaded, severity: Literal["error", "warning"], path: tuple[str | int, ...], message: str
) -> Finding:
    from broadcaster.config_yaml import dotted

    return Finding(severity, str(loaded.path), loaded.line_of(*path), dotted(path), message)


def _closure_findings(loaded: Loaded, section: str, index: int) -> list[Finding]:
    closure = _entries(loaded, section)[index]
    site_outlets = loaded.config.site.outlets
    at = (section, index)
    found = []
    if closure.end is not None and closure.end < closure.start:
        found.append(_finding(loaded, "error", (*at, "end"), "must not be before start"))
    if closure.resume is not None and closure.resume <= closure.last_day:
        found.append(
            _finding(loaded, "error", (*at, "resume"), "must be after the last closed day (end)")
        )
    for outlet in closure.outlets or []:
        if outlet not in site_outlets:
            known = ", ".join(site_outlets) or "none listed under site.outlets"
            found.append(
                _finding(
                    loaded, "error", (*at, "outlets"), f"unknown outlet {outlet!r} (known: {known})"
                )
            )
    if closure.outlets == []:
        found.append(
            _finding(
                loaded,
                "error",
                (*at, "outlets"),
                "must name at least one outlet, or be left out for all",
            )
        )
    if 0 < closure.announce_days_before <= closure.remind_days_before:
        found.append(
            _finding(
                loaded,
                "warning",
                (*at, "remind_days_before"),
                "the reminder would come before or with the announcement; it will not be sent",
            )
        )
    return found


def _reason_findings(loaded: Loaded, section: str, index: int) -> list[Finding]:
    """The reason goes inside a sentence (``for {reason}.``): say what its own end becomes."""
    from broadcaster.plaintext import clause

    reason = _entries(loaded, section)[index].reason.strip()
    at = (section, index, "reason")
    if not clause(reason):
        return [_finding(loaded, "error", at, "must say why in words, not only punctuation")]
    if clause(reason) == reason:
        return []
    dropped = reason[len(clause(reason)) :].strip()
    message = f'ends in "{dropped}", which the sentence supplies: it reads "for {clause(reason)}."'
    return [_finding(loaded, "warning", at, message)]


def _duplicate_closures(loaded: Loaded, section: str) -> list[Finding]:
    """Warn where one closure is entered twice: it is still announced only once."""
    seen: dict[tuple[object, ...], int] = {}
    found = []
    all_outlets = tuple(loaded.config.site.outlets)
    for index, closure in enumerate(_entries(loaded, section)):
        key = (closure.start, closure.last_day, tuple(sorted(closure.outlets or all_outlets)))
        if key in seen:
            found.append(
                _finding(
                    loaded,
                    "warning",
                    (section, index),
                    f"same {NOUN[section]} as {section}[{seen[key]}]; it is announced once",
                )
            )
        else:
            seen[key] = index
    return found


# -- weekdays written next to dates ("26 Mar (Tue)") ------------------------------------------

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


def _weekday_findings(loaded: Loaded, section: str, index: int) -> list[Finding]:
    """A weekday next to a date must be that date's weekday (year inferred from the closure)."""
    closure = _entries(loaded, section)[index]
    found = []
    for field in ("message", "reason"):
        text = getattr(closure, field) or ""
        for written, problem in _wrong_weekdays(text, closure):
            found.append(
                _finding(loaded, "error", (section, index, field), f'"{written}": {problem}')
            )
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
                wrong.append((match.start(), match[0], f"{_day(day)} is a {day:%A}"))
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


def _day(value: date) -> str:
    return f"{value.day} {value:%b} {value.year}"


def _days(count: int) -> str:
    return f"{count} day{'s' if count != 1 else ''}"


def _notice(left: timedelta) -> str:
    return "1 day's" if left.days == 1 else f"{left.days} days'"


# -- timing relative to --now ------------------------------------------------------------------


def _timing_findings(loaded: Loaded, section: str, index: int, now: datetime) -> list[Finding]:
    """Warn about a closure whose announcement date (or start, or end) is already past."""
    closure = _entries(loaded, section)[index]
    today = now.astimezone(loaded.config.site.tz).date()
    resume = closure.resume or closure.last_day + timedelta(days=1)
    announce = closure.start - timedelta(days=closure.announce_days_before)
    at: tuple[str | int, ...] = (section, index, "start")
    if today > resume:
        message = (
            f"over: it reopened on {_day(resume)} (today is {_day(today)}); nothing more is "
            "sent for it, so it can be removed"
        )
    elif today == resume:
        return []  # the day it reopens: nothing to warn about
    elif today >= closure.start:
        message = (
            f"already started on {_day(closure.start)} (today is {_day(today)}): if it was not "
            f"announced yet, it never will be; the banner shows it until it reopens on "
            f"{_day(resume)}"
        )
    elif today > announce:
        message = (
            f"announced from {_day(announce)} ({_days(closure.announce_days_before)} before), "
            f"which is past (today is {_day(today)}): if it was not announced yet, it goes "
            f"out on the next run, with {_notice(closure.start - today)} notice"
        )
    else:
        return []
    return [_finding(loaded, "warning", at, message)]


# -- closures that cover the same outlet on the same day ---------------------------------------


def _overlapping_closures(loaded: Loaded, section: str) -> list[Finding]:
    """Two closures sharing an outlet and a day, or one reopening on a day the other closes.

    Warnings, not errors: a company-wide closure and an outlet's own closure may overlap on
    purpose, each notice is still true about its own days, and an error would hold back every
    other notice (and the articles) until someone edits the file.
    """
    closures = _entries(loaded, section)
    found = []
    for j, later in enumerate(closures):
        for i, earlier in enumerate(closures[:j]):
            shared = _shared_outlets(loaded, earlier, later)
            if shared is None or _same_closure(loaded, earlier, later):
                continue
            first, last = max(earlier.start, later.start), min(earlier.last_day, later.last_day)
            if first <= last:
                days = _day(first) if first == last else f"{_day(first)} to {_day(last)}"
                found.append(
                    _finding(
                        loaded,
                        "warning",
                        (section, j),
                        f"overlaps {section}[{i}]{_for(shared)} on {days}: customers get two "
                        "notices for the same days (merge them, or fix the dates)",
                    )
                )
        for i, other in enumerate(closures):
            shared = _shared_outlets(loaded, later, other) if i != j else None
            resume = later.resume or later.last_day + timedelta(days=1)
            if shared is not None and other.start <= resume <= other.last_day:
                found.append(
                    _finding(
                        loaded,
                        "warning",
                        (section, j, "resume"),
                        f"the reopening on {_day(resume)} falls inside {section}[{i}]"
                        + (f" ({_names(shared)} closed that day)" if shared else ""),
                    )
                )
    return found


def _shared_outlets(loaded: Loaded, a: Closure, b: Closure) -> list[str] | None:
    """The outlets both close, in site order; [] for a site without outlets; None: none."""
    site = loaded.config.site.outlets
    mine, theirs = set(a.outlets or site), set(b.outlets or site)
    if not site:
        return []
    shared = [o for o in site if o in mine and o in theirs]
    return shared or None


def _same_closure(loaded: Loaded, a: Closure, b: Closure) -> bool:
    site = loaded.config.site.outlets
    return (a.start, a.last_day, sorted(a.outlets or site)) == (
        b.start,
        b.last_day,
        sorted(b.outlets or site),
    )


def _for(outlets: list[str]) -> str:
    return f" for {_names(outlets)}" if outlets else ""


def _names(outlets: list[str]) -> str:
    return outlets[0] if len(outlets) == 1 else ", ".join(outlets[:-1]) + " and " + outlets[-1]
