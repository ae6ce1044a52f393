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

from datetime import datetime
from typing import TYPE_CHECKING

from broadcaster.checks.days import (
    closure_findings,
    duplicate_closures,
    overlapping_closures,
    reason_findings,
    timing_findings,
)
from broadcaster.checks.files import file_findings, unwritable_folder
from broadcaster.checks.finding import DAY_SECTIONS, Finding, day_entries
from broadcaster.checks.languages import language_findings
from broadcaster.checks.lifecycle import lifecycle_findings
from broadcaster.checks.weekdays import weekday_findings

if TYPE_CHECKING:
    from broadcaster.config_model import Loaded

__all__ = ["Finding", "config_problems", "unwritable_folder"]


def config_problems(loaded: Loaded, now: datetime | None = None) -> list[Finding]:
    """Every semantic finding about the config, errors first; ``now`` adds the timing ones."""
    findings: list[Finding] = []
    for section in DAY_SECTIONS:
        for index, _entry in enumerate(day_entries(loaded, section)):
            findings.extend(closure_findings(loaded, section, index))
            findings.extend(weekday_findings(loaded, section, index))
            findings.extend(reason_findings(loaded, section, index))
            if now is not None:
                findings.extend(timing_findings(loaded, section, index, now))
        findings.extend(duplicate_closures(loaded, section))
        findings.extend(overlapping_closures(loaded, section))
    findings.extend(file_findings(loaded))
    findings.extend(lifecycle_findings(loaded))
    findings.extend(language_findings(loaded))
    return sorted(findings, key=lambda f: f.severity != "error")
