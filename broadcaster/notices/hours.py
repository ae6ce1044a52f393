"""Changed opening hours: the outlets named open from ``opens`` to ``closes`` on some days.

A closure is the case of no hours at all, so this kind is a closure with hours: announced and
reminded like one, on the banner until its last day is over, corrected or cancelled wherever
it was announced, and published as special opening hours (schema.org, Google) with the real
times. There is no "we are open again" message: the next day simply has the usual hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from broadcaster.config_model import Config
from broadcaster.config_sections import HoursChange, Site
from broadcaster.notices.base import Moment, Occasion
from broadcaster.notices.closure import ClosureNotice, day_fields, day_notices

#: every occasion an hours change can have
OCCASIONS: frozenset[Occasion] = frozenset({"announce", "remind", "banner", "update", "cancel"})


@dataclass(frozen=True)
class HoursNotice(ClosureNotice):
    """Open ``opens``–``closes`` (site time) from ``start`` to ``end``; usual hours on ``resume``."""

    opens: str = "00:00"
    closes: str = "00:00"
    kind: str = field(default="hours", init=False)

    primary: ClassVar[Occasion] = "announce"

    def fingerprint(self) -> str:
        return f"{super().fingerprint()}-{self.opens}-{self.closes}".replace(":", "")

    def moments(self, tz: ZoneInfo, max_age_days: int) -> list[Moment]:
        return [m for m in super().moments(tz, max_age_days) if m.occasion in OCCASIONS]

    def facts(self) -> dict[str, Any]:
        return {**super().facts(), "hours": {"opens": self.opens, "closes": self.closes}}

    def context(self) -> dict[str, Any]:
        return {**super().context(), "opens": self.opens, "closes": self.closes}


def hours_notices(config: Config) -> tuple[list[HoursNotice], list[str]]:
    """One notice per distinct (days, outlets) under ``hours:``."""
    return day_notices(config.hours, config, "hours", _hours_notice)


def _hours_notice(
    change: HoursChange, outlets: tuple[str, ...], site: Site, used: set[str]
) -> HoursNotice:
    fields = day_fields("hours", change, outlets, site, used)
    return HoursNotice(**fields, opens=change.opens, closes=change.closes)


def sample_hours(config: Config) -> HoursNotice:
    """Short hours at every outlet, for proving the templates of a config that has none."""
    return HoursNotice(
        "sample-hours",
        date(2024, 12, 24),
        date(2024, 12, 24),
        date(2024, 12, 25),
        "a sample reason",
        tuple(config.site.outlets),
        True,
        7,
        1,
        opens="09:00",
        closes="14:00",
    )
