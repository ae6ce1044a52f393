"""What happens to a closure after it was announced: it moves, it is cancelled.

The ledger remembers each announced closure as a *snapshot* (the notice as it was told to
people). Comparing the config with the snapshots tells three things apart:

* **unchanged** -- nothing to do;
* **moved** -- the admin edited the dates (or outlets, or reason) of an announced closure. If
  the dates changed, the generated id changed with them, so a new closure that overlaps an
  announced one that has vanished from the config *adopts* its id: it is the same event, and
  each channel gets one correction instead of a second, contradictory announcement. (Give a
  closure an explicit ``id:`` to make this independent of the heuristic.)
* **removed** -- an announced closure is gone from the config before it started: each channel
  that announced it gets a cancellation.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from broadcaster.channels.base import Store
from broadcaster.notices import ClosureNotice, Notice
from broadcaster.schedule import midnight

LATEST = "closure-latest:"  # + notice id -> fingerprint of the version last told
VERSION = "closure-version:"  # + fingerprint -> the notice as JSON


def remember(store: Store, notice: ClosureNotice) -> None:
    """Record ``notice`` as the version people have been told."""
    store.set_value(VERSION + notice.fingerprint(), dumps(notice))
    store.set_value(LATEST + notice.id, notice.fingerprint())


def version(store: Store, fingerprint: str) -> ClosureNotice | None:
    text = store.get_value(VERSION + fingerprint)
    return loads(text) if text else None


def announced(values: dict[str, str], store: Store) -> dict[str, ClosureNotice]:
    """Every closure ever announced, in its last announced version, by id."""
    result = {}
    for key, fingerprint in values.items():
        notice = version(store, fingerprint)
        if notice is not None:
            result[key.removeprefix(LATEST)] = notice
    return result


def reconcile(
    current: list[Notice], told: dict[str, ClosureNotice], now: datetime, tz: ZoneInfo
) -> tuple[list[Notice], list[ClosureNotice]]:
    """Current notices with moved closures under their announced ids, and the removed ones.

    Removed closures are only those that have not started yet: a closure that already
    happened and was then tidied out of the config needs no cancellation.
    """
    present = {n.id for n in current}
    vanished = [n for n in told.values() if n.id not in present]
    adopted: dict[str, str] = {}
    for notice in sorted(
        (n for n in current if isinstance(n, ClosureNotice)), key=lambda n: n.start
    ):
        if notice.id in told or not notice.id.startswith("closure-"):
            continue
        match = _nearest(notice, [v for v in vanished if v.id not in adopted.values()])
        if match is not None:
            adopted[notice.id] = match.id
    renamed = [replace(n, id=adopted[n.id]) if n.id in adopted else n for n in current]
    still_vanished = [v for v in vanished if v.id not in adopted.values()]
    removed = [v for v in still_vanished if now < midnight(v.start, tz)]
    return renamed, removed


def _nearest(notice: ClosureNotice, candidates: list[ClosureNotice]) -> ClosureNotice | None:
    """The vanished closure sharing an outlet with ``notice`` whose start is nearest to it."""
    sharing = [c for c in candidates if set(c.outlets) & set(notice.outlets)]
    return min(sharing, key=lambda c: abs((c.start - notice.start).days), default=None)


def dumps(notice: ClosureNotice) -> str:
    data = asdict(notice)
    data.pop("kind")
    return json.dumps(data, default=_iso)


def loads(text: str) -> ClosureNotice:
    data: dict[str, Any] = json.loads(text)
    for key in ("start", "end", "resume"):
        data[key] = date.fromisoformat(data[key])
    data["outlets"] = tuple(data["outlets"])
    known = {f.name for f in fields(ClosureNotice) if f.init}
    return ClosureNotice(**{k: v for k, v in data.items() if k in known})


def _iso(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__}")
