"""What every check shares: a finding, the config key it points at, and how it names a day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
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


def day_entries(loaded: Loaded, section: str) -> Sequence[Closure]:
    """The entries of a section about days (an hours change is a closure with hours)."""
    found: Sequence[Closure] = getattr(loaded.config, section)
    return found


def finding(
    loaded: Loaded, severity: Literal["error", "warning"], path: tuple[str | int, ...], message: str
) -> Finding:
    """A finding about the config key at ``path``, with its file and line."""
    from broadcaster.config_yaml import dotted

    return Finding(severity, str(loaded.path), loaded.line_of(*path), dotted(path), message)


def format_day(value: date) -> str:
    """``26 Mar 2024``: a day as findings write it."""
    return f"{value.day} {value:%b} {value.year}"
