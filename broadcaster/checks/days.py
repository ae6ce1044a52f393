"""The closures and hours changes themselves: dates in order, outlets that exist, a reason
that reads in its sentence, no entry twice, no two covering the same outlet on the same day,
and (with ``now``) no announcement date already past."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from broadcaster.checks.finding import NOUN, Finding, day_entries, finding, format_day
from broadcaster.config_fields import each_text

if TYPE_CHECKING:
    from broadcaster.config_model import Loaded
    from broadcaster.config_sections import Closure


def closure_findings(loaded: Loaded, section: str, index: int) -> list[Finding]:
    closure = day_entries(loaded, section)[index]
    site_outlets = loaded.config.site.outlets
    at = (section, index)
    found = []
    if closure.end is not None and closure.end < closure.start:
        found.append(finding(loaded, "error", (*at, "end"), "must not be before start"))
    if closure.resume is not None and closure.resume <= closure.last_day:
        found.append(
            finding(loaded, "error", (*at, "resume"), "must be after the last closed day (end)")
        )
    for outlet in closure.outlets or []:
        if outlet not in site_outlets:
            known = ", ".join(site_outlets) or "none listed under site.outlets"
            found.append(
                finding(
                    loaded, "error", (*at, "outlets"), f"unknown outlet {outlet!r} (known: {known})"
                )
            )
    if closure.outlets == []:
        found.append(
            finding(
                loaded,
                "error",
                (*at, "outlets"),
                "must name at least one outlet, or be left out for all",
            )
        )
    if 0 < closure.announce_days_before <= closure.remind_days_before:
        found.append(
            finding(
                loaded,
                "warning",
                (*at, "remind_days_before"),
                "the reminder would come before or with the announcement; it will not be sent",
            )
        )
    return found


def reason_findings(loaded: Loaded, section: str, index: int) -> list[Finding]:
    """The reason goes inside a sentence (``for {reason}.``): say what its own end becomes."""
    from broadcaster.plaintext import clause

    found = []
    for language, text in each_text(day_entries(loaded, section)[index].reason):
        reason = text.strip()
        at: tuple[str | int, ...] = (section, index, "reason", *([language] if language else []))
        if not clause(reason):
            found.append(
                finding(loaded, "error", at, "must say why in words, not only punctuation")
            )
        elif clause(reason) != reason:
            dropped = reason[len(clause(reason)) :].strip()
            sentence = f'it reads "for {clause(reason)}."' if language in (None, "en") else ""
            message = f'ends in "{dropped}", which the sentence supplies'
            found.append(finding(loaded, "warning", at, f"{message}: {sentence}".rstrip(": ")))
    return found


def duplicate_closures(loaded: Loaded, section: str) -> list[Finding]:
    """Warn where one closure is entered twice: it is still announced only once."""
    seen: dict[tuple[object, ...], int] = {}
    found = []
    all_outlets = tuple(loaded.config.site.outlets)
    for index, closure in enumerate(day_entries(loaded, section)):
        key = (closure.start, closure.last_day, tuple(sorted(closure.outlets or all_outlets)))
        if key in seen:
            found.append(
                finding(
                    loaded,
                    "warning",
                    (section, index),
                    f"same {NOUN[section]} as {section}[{seen[key]}]; it is announced once",
                )
            )
        else:
            seen[key] = index
    return found


def _days(count: int) -> str:
    return f"{count} day{'s' if count != 1 else ''}"


def _notice(left: timedelta) -> str:
    return "1 day's" if left.days == 1 else f"{left.days} days'"


# -- timing relative to --now ------------------------------------------------------------------


def timing_findings(loaded: Loaded, section: str, index: int, now: datetime) -> list[Finding]:
    """Warn about a closure whose announcement date (or start, or end) is already past."""
    closure = day_entries(loaded, section)[index]
    today = now.astimezone(loaded.config.site.tz).date()
    resume = closure.resume or closure.last_day + timedelta(days=1)
    announce = closure.start - timedelta(days=closure.announce_days_before)
    at: tuple[str | int, ...] = (section, index, "start")
    if today > resume:
        message = (
            f"over: it reopened on {format_day(resume)} (today is {format_day(today)}); nothing more is "
            "sent for it, so it can be removed"
        )
    elif today == resume:
        return []  # the day it reopens: nothing to warn about
    elif today >= closure.start:
        message = (
            f"already started on {format_day(closure.start)} (today is {format_day(today)}): if it was not "
            f"announced yet, it never will be; the banner shows it until it reopens on "
            f"{format_day(resume)}"
        )
    elif today > announce:
        message = (
            f"announced from {format_day(announce)} ({_days(closure.announce_days_before)} before), "
            f"which is past (today is {format_day(today)}): if it was not announced yet, it goes "
            f"out on the next run, with {_notice(closure.start - today)} notice"
        )
    else:
        return []
    return [finding(loaded, "warning", at, message)]


# -- closures that cover the same outlet on the same day ---------------------------------------


def overlapping_closures(loaded: Loaded, section: str) -> list[Finding]:
    """Two closures sharing an outlet and a day, or one reopening on a day the other closes.

    Warnings, not errors: a company-wide closure and an outlet's own closure may overlap on
    purpose, each notice is still true about its own days, and an error would hold back every
    other notice (and the articles) until someone edits the file.
    """
    closures = day_entries(loaded, section)
    found = []
    for j, later in enumerate(closures):
        for i, earlier in enumerate(closures[:j]):
            shared = _shared_outlets(loaded, earlier, later)
            if shared is None or _same_closure(loaded, earlier, later):
                continue
            first, last = max(earlier.start, later.start), min(earlier.last_day, later.last_day)
            if first <= last:
                days = (
                    format_day(first)
                    if first == last
                    else f"{format_day(first)} to {format_day(last)}"
                )
                found.append(
                    finding(
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
                    finding(
                        loaded,
                        "warning",
                        (section, j, "resume"),
                        f"the reopening on {format_day(resume)} falls inside {section}[{i}]"
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
