"""When each notice is due: a pure function of the notice and ``now``, nothing else.

Every occasion of a notice is a window ``[opens, closes)`` of instants, computed from dates in
the site's time zone (so "7 days before 26 Mar" means 19 Mar 00:00 in Singapore, DST and all).
Before the window a moment is ``upcoming``; inside it, ``due``; after it, ``stale`` -- and
stale moments are reported, never sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from broadcaster.notices import ArticleNotice, ClosureNotice, Notice

Occasion = Literal["announce", "remind", "banner", "reopen", "publish", "update", "cancel"]
Timing = Literal["upcoming", "due", "stale"]

#: The occasion a notice goes out on when a person pushes it with ``broadcast send``.
PRIMARY: dict[str, Occasion] = {"closure": "announce", "article": "publish"}


@dataclass(frozen=True)
class Moment:
    """One occasion of one notice and the window in which it may be sent."""

    notice: Notice
    occasion: Occasion
    opens: datetime
    closes: datetime

    def timing(self, now: datetime) -> Timing:
        if now < self.opens:
            return "upcoming"
        return "due" if now < self.closes else "stale"


def moments(notice: Notice, tz: ZoneInfo, max_age_days: int) -> list[Moment]:
    """Every occasion the notice has, whether or not it is due now."""
    if isinstance(notice, ClosureNotice):
        return closure_moments(notice, tz)
    return [article_moment(notice, max_age_days)]


def closure_moments(notice: ClosureNotice, tz: ZoneInfo) -> list[Moment]:
    start = midnight(notice.start, tz)
    announce = midnight(notice.start - timedelta(days=notice.announce_days_before), tz)
    reopen = midnight(notice.resume, tz)
    result = [
        Moment(notice, "announce", announce, start if announce < start else reopen),
        Moment(notice, "banner", announce, reopen),
    ]
    if 0 < notice.remind_days_before < notice.announce_days_before:
        remind = midnight(notice.start - timedelta(days=notice.remind_days_before), tz)
        result.append(Moment(notice, "remind", remind, start))
    result.append(Moment(notice, "reopen", reopen, midnight(notice.resume + timedelta(days=1), tz)))
    return result


def article_moment(notice: ArticleNotice, max_age_days: int) -> Moment:
    return Moment(
        notice, "publish", notice.published, notice.published + timedelta(days=max_age_days)
    )


def due(notice: Notice, now: datetime, tz: ZoneInfo, max_age_days: int) -> list[Moment]:
    return [m for m in moments(notice, tz, max_age_days) if m.timing(now) == "due"]


def midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``tz``."""
    return datetime.combine(day, time(0), tz)
