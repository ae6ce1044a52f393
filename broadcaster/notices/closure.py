"""A closure: the outlets named are closed from ``start`` to ``end`` and reopen on ``resume``.

It is announced ``announce_days_before`` days ahead, reminded ``remind_days_before`` days
ahead (if it was announced earlier), shown on the banner from its announcement until it
reopens, and corrected or cancelled wherever it was announced when the admin changes it.
Its id is its first day (``closure-2024-03-26``), plus the outlets when not all are closed,
so the same closure entered twice is one notice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, timedelta
from typing import Any, ClassVar, Self, TypeVar
from zoneinfo import ZoneInfo

from broadcaster.config_fields import text_in
from broadcaster.config_model import Config
from broadcaster.config_sections import Closure, Site
from broadcaster.notices.base import (
    Moment,
    Occasion,
    PostFields,
    Translations,
    digest,
    language_part,
    midnight,
    slug,
    translated,
)


@dataclass(frozen=True)
class ClosureNotice:
    """The outlets named are closed from ``start`` to ``end`` inclusive and reopen on ``resume``."""

    id: str
    start: date
    end: date
    resume: date
    reason: str
    outlets: tuple[str, ...]
    all_outlets: bool
    announce_days_before: int
    remind_days_before: int
    message: str | None = None  # the admin's own wording, used instead of the default sentence
    translations: Translations = ()  # reason and message in the site's other languages
    language: str = ""  # "" as configured; see notices.base.variant
    kind: str = field(default="closure", init=False)

    primary: ClassVar[Occasion] = "announce"
    correctable: ClassVar[bool] = True

    def fingerprint(self) -> str:
        """What, if changed after announcing, makes the announcement wrong."""
        # a closure without a custom message keeps the digest it had before messages existed
        custom = (self.message,) if self.message else ()
        return digest(
            self.start,
            self.end,
            self.resume,
            self.reason,
            self.outlets,
            *custom,
            *language_part(self),
        )

    def moments(self, tz: ZoneInfo, max_age_days: int) -> list[Moment]:
        start = midnight(self.start, tz)
        announce = midnight(self.start - timedelta(days=self.announce_days_before), tz)
        reopen = midnight(self.resume, tz)
        result = [
            Moment(self, "announce", announce, start if announce < start else reopen),
            Moment(self, "banner", announce, reopen),
        ]
        if 0 < self.remind_days_before < self.announce_days_before:
            remind = midnight(self.start - timedelta(days=self.remind_days_before), tz)
            result.append(Moment(self, "remind", remind, start))
        after = midnight(self.resume + timedelta(days=1), tz)
        result.append(Moment(self, "reopen", reopen, after))
        return result

    def facts(self) -> dict[str, Any]:
        """The days as data: every kind about opening days (closures, hours changes) has this
        shape, and ``hours`` None means closed all day."""
        return {
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "resume": self.resume.isoformat(),
            "outlets": list(self.outlets),
            "all_outlets": self.all_outlets,
            "reason": self.reason,
            "hours": None,
            **({"language": self.language} if self.language else {}),
        }

    def context(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "resume": self.resume,
            "reason": self.reason,
            "outlets": list(self.outlets),
            "all_outlets": self.all_outlets,
            "single_day": self.start == self.end,
            "days": (self.end - self.start).days + 1,
            "message": self.message,
        }

    def post_fields(self) -> PostFields:
        return PostFields()

    def snapshot(self) -> dict[str, Any]:
        """The notice as it was told, for the ledger (see :mod:`broadcaster.lifecycle`)."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, date):
                data[key] = value.isoformat()
        return data

    def day_earlier(self) -> Self:
        """The same notice a day earlier: the version a sample correction corrects."""
        day = timedelta(days=1)
        return replace(self, start=self.start - day, end=self.end - day, resume=self.resume - day)

    @classmethod
    def restore(cls, data: dict[str, Any]) -> Self:
        known = {f.name for f in fields(cls) if f.init}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("start", "end", "resume"):
            values[key] = date.fromisoformat(values[key])
        values["outlets"] = tuple(values["outlets"])
        values["translations"] = tuple(tuple(t) for t in values.get("translations", ()))
        return cls(**values)


N = TypeVar("N", bound=ClosureNotice)


def closure_notices(config: Config) -> tuple[list[ClosureNotice], list[str]]:
    """One notice per distinct (dates, outlets); a repeated entry is merged and reported."""
    return day_notices(config.closures, config, "closures", _closure_notice)


def day_notices(
    entries: Sequence[Any],
    config: Config,
    section: str,
    make: Callable[[Any, tuple[str, ...], Site, set[str]], N],
) -> tuple[list[N], list[str]]:
    """Notices about days (closures, hours changes): one per distinct (days, outlets, kind)."""
    by_key: dict[tuple[object, ...], N] = {}
    duplicates = []
    used_ids: set[str] = set()
    for index, entry in enumerate(entries):
        outlets = tuple(entry.outlets or config.site.outlets)
        key = (entry.start, entry.last_day, tuple(sorted(outlets)))
        if key in by_key:
            duplicates.append(f"{section}[{index}] repeats {by_key[key].id}: announced once")
            continue
        notice: N = make(entry, outlets, config.site, used_ids)
        used_ids.add(notice.id)
        by_key[key] = notice
    return list(by_key.values()), duplicates


def day_notice_id(
    prefix: str, entry: Any, outlets: tuple[str, ...], site_outlets: list[str], used: set[str]
) -> tuple[str, bool]:
    """``closure-2024-03-26`` (``-orchard`` when not every outlet), unique among ``used``."""
    all_outlets = set(outlets) == set(site_outlets)
    notice_id = entry.id or f"{prefix}-{entry.start.isoformat()}"
    if not entry.id and not all_outlets:
        notice_id += "-" + "-".join(slug(o) for o in sorted(outlets))
    if notice_id in used:
        notice_id += f"-to-{entry.last_day.isoformat()}"
    return notice_id, all_outlets


def day_fields(
    prefix: str, entry: Closure, outlets: tuple[str, ...], site: Site, used: set[str]
) -> dict[str, Any]:
    """What every notice about days takes from its config entry (a closure, an hours change):
    its texts in the site's default language, with their translations beside them."""
    notice_id, all_outlets = day_notice_id(prefix, entry, outlets, site.outlets, used)
    default = site.all_languages[0]
    return {
        "id": notice_id,
        "start": entry.start,
        "end": entry.last_day,
        "resume": entry.resume or entry.last_day + timedelta(days=1),
        "reason": text_in(entry.reason, default, default).strip(),
        "outlets": outlets,
        "all_outlets": all_outlets,
        "announce_days_before": entry.announce_days_before,
        "remind_days_before": entry.remind_days_before,
        "message": text_in(entry.message, default, default).strip() if entry.message else None,
        "translations": translated({"reason": entry.reason, "message": entry.message}, default),
    }


def _closure_notice(
    closure: Closure, outlets: tuple[str, ...], site: Site, used: set[str]
) -> ClosureNotice:
    return ClosureNotice(**day_fields("closure", closure, outlets, site, used))


def sample_closure(config: Config) -> ClosureNotice:
    """A closure of every outlet, for proving the templates of a config that has none."""
    return ClosureNotice(
        "sample-closure",
        date(2024, 3, 26),
        date(2024, 3, 27),
        date(2024, 3, 28),
        "a sample reason",
        tuple(config.site.outlets),
        True,
        7,
        1,
    )
