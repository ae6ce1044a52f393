"""When each notice is due: a pure function of the notice and ``now``, nothing else.

Every occasion of a notice is a window ``[opens, closes)`` of instants, computed from dates in
the site's time zone (so "7 days before 26 Mar" means 19 Mar 00:00 in Singapore, DST and all).
Before the window a moment is ``upcoming``; inside it, ``due``; after it, ``stale`` -- and
stale moments are reported, never sent. Each kind of notice says its own moments
(:meth:`Notice.moments <broadcaster.notices.base.Notice.moments>`).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from broadcaster.notices import Moment, Notice, Occasion, Timing
from broadcaster.notices.base import midnight

__all__ = ["Moment", "Occasion", "Timing", "due", "midnight", "moments"]


def moments(notice: Notice, tz: ZoneInfo, max_age_days: int) -> list[Moment]:
    """Every occasion the notice has, whether or not it is due now."""
    return notice.moments(tz, max_age_days)


def due(notice: Notice, now: datetime, tz: ZoneInfo, max_age_days: int) -> list[Moment]:
    return [m for m in moments(notice, tz, max_age_days) if m.timing(now) == "due"]
