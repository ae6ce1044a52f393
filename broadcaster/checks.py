"""Rules a config must obey beyond its shape: dates that make sense, outlets that exist.

``load`` refuses the config on any ``error``; ``broadcast validate`` also shows ``warning``s
(things that are allowed but probably not meant, such as the same closure entered twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from broadcaster.errors import ConfigProblem

if TYPE_CHECKING:
    from broadcaster.config import Loaded


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


def config_problems(loaded: Loaded) -> list[Finding]:
    """Every semantic finding about the closures, errors first."""
    findings: list[Finding] = []
    for index, _closure in enumerate(loaded.config.closures):
        findings.extend(_closure_findings(loaded, index))
    findings.extend(_duplicate_closures(loaded))
    return sorted(findings, key=lambda f: f.severity != "error")


def _finding(
    loaded: Loaded, severity: Literal["error", "warning"], path: tuple[str | int, ...], message: str
) -> Finding:
    from broadcaster.config import dotted

    return Finding(severity, str(loaded.path), loaded.line_of(*path), dotted(path), message)


def _closure_findings(loaded: Loaded, index: int) -> list[Finding]:
    closure = loaded.config.closures[index]
    site_outlets = loaded.config.site.outlets
    at = ("closures", index)
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


def _duplicate_closures(loaded: Loaded) -> list[Finding]:
    """Warn where one closure is entered twice: it is still announced only once."""
    seen: dict[tuple[object, ...], int] = {}
    found = []
    all_outlets = tuple(loaded.config.site.outlets)
    for index, closure in enumerate(loaded.config.closures):
        key = (closure.start, closure.last_day, tuple(sorted(closure.outlets or all_outlets)))
        if key in seen:
            found.append(
                _finding(
                    loaded,
                    "warning",
                    ("closures", index),
                    f"same closure as closures[{seen[key]}]; it is announced once",
                )
            )
        else:
            seen[key] = index
    return found
