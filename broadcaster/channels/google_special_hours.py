"""Google's special hours and ours, merged: pure, so every rule can be tested on its own.

A location's ``specialHours`` is one list of periods, the clinic's own and the ones broadcaster
added; :func:`merge` sets our days to what the notices want and keeps every other period as
it is (see :mod:`broadcaster.channels.google_business` for how the channel uses it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from broadcaster.notices.base import about_days

Period = dict[str, Any]


@dataclass(frozen=True)
class Merge:
    """What one location's special hours become, and why."""

    periods: list[Period]  # the whole new list, for the PATCH
    added: list[date]
    removed: list[date]
    by_hand: list[date]  # closed days left to a period the clinic made by hand
    ours: set[date]  # the days whose closed period is ours afterwards

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def merge(
    current: Sequence[Period], ours: set[date], wanted: Mapping[date, Period], today: date
) -> Merge:
    """Pure: ``current`` periods with our days set to the ``wanted`` period of each (days
    before ``today`` are left alone), keeping every period that is not ours."""
    mine = {d for p in current if (d := start_day(p)) is not None and d in ours}
    by_hand_days = {d for p in current if (d := start_day(p)) is not None and d not in mine}
    wanted = {d: period for d, period in wanted.items() if d >= today}
    held = {d: p for p in current if (d := start_day(p)) in mine}
    keep = {d for d in mine if d < today or (d in wanted and held[d] == wanted[d])}
    added = sorted(d for d in set(wanted) - keep if d not in by_hand_days)
    periods = [p for p in current if start_day(p) not in mine or start_day(p) in keep]
    periods += [wanted[d] for d in added]
    return Merge(
        periods=periods,
        added=added,
        removed=sorted(mine - keep),
        by_hand=sorted(set(wanted) & by_hand_days),
        ours={d for d in keep | set(added) if d >= today},
    )


def special_days(
    entries: Iterable[Mapping[str, Any]], locations: Mapping[str, str]
) -> dict[str, dict[date, Period]]:
    """Location id -> day -> its special-hours period, from the entries' ``facts`` about
    opening days (closed all day, or open at other hours)."""
    result: dict[str, dict[date, Period]] = {location: {} for location in locations.values()}
    for entry in entries:
        facts = entry.get("facts")
        if not about_days(facts):
            continue
        start, end = date.fromisoformat(facts["start"]), date.fromisoformat(facts["end"])
        for n in range((end - start).days + 1):
            day = start + timedelta(days=n)
            for outlet, location in locations.items():
                if facts.get("all_outlets") or outlet in facts.get("outlets", ()):
                    result[location][day] = special_period(day, facts.get("hours"))
    return result


def special_period(day: date, hours: Mapping[str, str] | None) -> Period:
    """Closed all day (``closed`` makes Google ignore every other field but ``startDate``),
    or open from ``opens`` to ``closes`` that day."""
    if hours is None:
        return closed_period(day)
    return {
        "startDate": _google_date(day),
        "openTime": _google_time(hours["opens"]),
        "endDate": _google_date(day),
        "closeTime": _google_time(hours["closes"]),
    }


def closed_period(day: date) -> Period:
    return {"startDate": _google_date(day), "closed": True}


def _google_date(day: date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


def _google_time(clock: str) -> dict[str, int]:
    hours, minutes = clock.split(":")
    return {"hours": int(hours), "minutes": int(minutes)}


def start_day(period: Period) -> date | None:
    """The day a period starts (None if it has no readable ``startDate``)."""
    start = period.get("startDate") or {}
    try:
        return date(int(start["year"]), int(start["month"]), int(start["day"]))
    except (KeyError, TypeError, ValueError):
        return None
