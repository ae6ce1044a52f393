"""What happens to a closure (or any correctable notice) after it was announced: it moves,
it is cancelled.

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
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast
from zoneinfo import ZoneInfo

from broadcaster.channels.base import Store
from broadcaster.notices import Notice, restore
from broadcaster.notices.base import midnight

if TYPE_CHECKING:
    from broadcaster.ledger import Ledger


class Told(Notice, Protocol):
    """A correctable notice: it is about days at some outlets, and can be snapshotted."""

    @property
    def start(self) -> date: ...

    @property
    def resume(self) -> date: ...

    @property
    def outlets(self) -> tuple[str, ...]: ...

    def snapshot(self) -> dict[str, Any]: ...


LATEST = "closure-latest:"  # + notice id -> fingerprint of the version last told
VERSION = "closure-version:"  # + fingerprint -> the notice as JSON


def remember(store: Store, notice: Told) -> None:
    """Record ``notice`` as the version people have been told. A notice in another language
    (a variant: see :func:`broadcaster.notices.base.variant`) keeps only its version, for the
    correction that quotes it; the notice as configured is what reconciling goes by."""
    store.set_value(VERSION + notice.fingerprint(), dumps(notice))
    if not notice.language:
        store.set_value(LATEST + notice.id, notice.fingerprint())


class Readable(Protocol):
    def get_value(self, key: str) -> str | None: ...


def remember_told(ledger: Ledger, notices: list[Told], channels: list[str]) -> None:
    """After a pass: snapshot each correctable notice some channel has now been told, in the
    version it was told (so a later edit of the config is corrected against it)."""
    for notice in notices:
        told = [v for name in channels if (v := ledger.last_version(notice.id, name)) is not None]
        if notice.language:  # a variant: its version, once
            latest = (
                notice.fingerprint() if ledger.get_value(VERSION + notice.fingerprint()) else None
            )
        else:
            latest = ledger.get_value(LATEST + notice.id)
        if latest != notice.fingerprint() and any(
            v.fingerprint == notice.fingerprint() for v in told
        ):
            remember(ledger, notice)


def version(store: Readable, fingerprint: str) -> Told | None:
    text = store.get_value(VERSION + fingerprint)
    return loads(text) if text else None


def announced(values: dict[str, str], store: Store) -> dict[str, Told]:
    """Every closure ever announced, in its last announced version, by id."""
    result = {}
    for key, fingerprint in values.items():
        notice = version(store, fingerprint)
        if notice is not None:
            result[key.removeprefix(LATEST)] = notice
    return result


def reconcile(
    current: list[Notice], told: dict[str, Told], now: datetime, tz: ZoneInfo
) -> tuple[list[Notice], list[Told]]:
    """Current notices with moved closures under their announced ids, and the removed ones.

    Removed closures are only those that have not started yet: a closure that already
    happened and was then tidied out of the config needs no cancellation.
    """
    present = {n.id for n in current}
    vanished = [n for n in told.values() if n.id not in present]
    adopted: dict[str, str] = {}
    for notice in sorted(correctable(current), key=lambda n: n.start):
        if notice.id in told or not notice.id.startswith(f"{notice.kind}-"):
            continue  # an id the admin gave is never adopted away
        candidates = [v for v in vanished if v.id not in adopted.values() and v.kind == notice.kind]
        match = _nearest(notice, candidates)
        if match is not None:
            adopted[notice.id] = match.id
    renamed = [replace(cast(Any, n), id=adopted[n.id]) if n.id in adopted else n for n in current]
    still_vanished = [v for v in vanished if v.id not in adopted.values()]
    removed = [v for v in still_vanished if now < midnight(v.start, tz)]
    return renamed, removed


def correctable(notices: list[Notice]) -> list[Told]:
    """The notices that are corrected and cancelled once told."""
    return [cast(Told, n) for n in notices if n.correctable]  # a kind's promise: see Told


def _nearest(notice: Told, candidates: list[Told]) -> Told | None:
    """The vanished closure sharing an outlet with ``notice`` whose start is nearest to it."""
    sharing = [c for c in candidates if set(c.outlets) & set(notice.outlets)]
    return min(sharing, key=lambda c: abs((c.start - notice.start).days), default=None)


def dumps(notice: Told) -> str:
    return json.dumps(notice.snapshot())


def loads(text: str) -> Told:
    return cast(Told, restore(json.loads(text)))
