"""When each notice is due: a pure function of the notice and ``now``, nothing else.

Every occasion of a notice is a window ``[opens, closes)`` of instants, computed from dates in
the site's time zone (so "7 days before 26 Mar" means 19 Mar 00:00 in Singapore, DST and all).
Before the window a moment is ``upcoming``; inside it, ``due``; after it, ``stale`` -- and
stale moments are reported, never sent. Each kind of notice says its own moments
(:meth:`Notice.moments <broadcaster.notices.base.Notice.moments>`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from broadcaster import lifecycle
from broadcaster.lifecycle import Told, correctable
from broadcaster.notices import Moment, Notice, Occasion, Timing
from broadcaster.notices.base import midnight, variant

if TYPE_CHECKING:
    from broadcaster.config_sections import Lifecycle
    from broadcaster.ledger import Version

__all__ = [
    "Job",
    "Moment",
    "Occasion",
    "Selection",
    "Timing",
    "ToldView",
    "due",
    "jobs",
    "midnight",
    "moments",
    "routed",
    "routes",
    "timed_moments",
    "told_variants",
]


def moments(notice: Notice, tz: ZoneInfo, max_age_days: int) -> list[Moment]:
    """Every occasion the notice has, whether or not it is due now."""
    return notice.moments(tz, max_age_days)


def due(notice: Notice, now: datetime, tz: ZoneInfo, max_age_days: int) -> list[Moment]:
    return [m for m in moments(notice, tz, max_age_days) if m.timing(now) == "due"]


# -- the plan of one pass ---------------------------------------------------------------------
#
# Pure: notices, a read-only view of what each channel was told, and ``now`` in; moments with
# their timing and each channel's jobs out. Nothing here claims, renders or sends.


@dataclass(frozen=True)
class Selection:
    """Limits a pass to some notices/channels; ``push`` ignores the schedule (``send``)."""

    notice_ids: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    push: bool = False
    force: bool = False

    def picks(self, notice_id: str) -> bool:
        return self.notice_ids is None or notice_id in self.notice_ids


@dataclass(frozen=True)
class Job:
    """One message a channel may owe: a moment, plus how the ledger and templates name it."""

    moment: Moment
    timing: Timing
    occasion: str  # in the ledger: "announce", "update@<version>", "edit@<version>", "cancel"
    extra: dict[str, Any] = field(default_factory=dict)  # more template context
    edit_of: str | None = None  # edit the post sent for this occasion instead of posting
    #: the same message in the channel's other languages, (notice id, occasion) each, when
    #: each of its targets reads one language (email): a target holding one of them is
    #: not sent this one (it changed language, or its list gives it two)
    elsewhere: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        """The occasion as people read it (``update``, not ``update@3f2a...``)."""
        return self.occasion.partition("@")[0]


class ToldView(Protocol):
    """What the planner may read of the ledger: what each channel was told, and when."""

    def last_version(self, notice_id: str, channel: str) -> Version | None: ...

    def first_sent_at(self, notice_id: str, occasion: str, channel: str) -> datetime | None: ...

    def get_value(self, key: str) -> str | None: ...


class Routable(Protocol):
    """A channel, or a channel's type, as routing sees it: its name and what it takes."""

    @property
    def name(self) -> str: ...

    @property
    def accepts(self) -> frozenset[str]: ...

    @property
    def supports_edit(self) -> bool: ...


class Teller(Routable, Protocol):
    """A built channel, as the planner sees it: it also says the languages of its messages."""

    @property
    def told_in(self) -> tuple[tuple[str, ...], ...]: ...

    @property
    def one_language_each(self) -> bool: ...


def told_variants(channel: Teller, notice: Notice, default: str) -> list[Notice]:
    """The notice as ``channel`` tells it: one notice per message, each in its language(s)
    and with its own id in the ledger (:func:`broadcaster.notices.base.variant`)."""
    return [variant(notice, languages, default) for languages in channel.told_in or ((default,),)]


def routes(channels: Iterable[Routable], rules: Lifecycle) -> dict[str, frozenset[str]]:
    """Which occasions ``lifecycle:`` sends to each channel: data, computed once per config."""
    every = ("announce", "remind", "banner", "update", "cancel", "reopen", "publish")
    return {c.name: frozenset(o for o in every if routed(c, o, rules)) for c in channels}


def routed(channel: Routable, occasion: str, rules: Lifecycle) -> bool:
    """Does ``lifecycle:`` send this occasion to this channel, whatever the kind of notice?

    A publisher (it shows state) takes what it accepts; for the rest, corrections,
    cancellations and the reopening go only where the announcement goes, and the reminder
    where ``lifecycle.remind`` says (default: every channel that takes one)."""
    takes = channel.accepts.__contains__
    if takes("banner"):  # a publisher: the banner, Google special hours
        return takes(occasion)
    announces = takes("announce")
    if occasion == "remind":
        return announces and (
            channel.name in rules.remind if rules.remind is not None else takes(occasion)
        )
    if occasion == "reopen":
        return announces and channel.name in rules.reopen
    if occasion in ("update", "cancel"):
        return announces
    return takes(occasion)


def timed_moments(
    current: Sequence[Notice],
    removed: Sequence[Told],
    now: datetime,
    selection: Selection,
    tz: ZoneInfo,
    max_age_days: int,
    *,
    every_notice: bool = False,
) -> list[tuple[Moment, Timing]]:
    """Every moment of the selected notices (or of all, with ``every_notice``) with its
    timing now; ``push`` makes the selected notices' primary and banner moments due.
    A correctable notice also has an ``update`` moment, a removed one a ``cancel``."""
    result: list[tuple[Moment, Timing]] = []
    for notice in current:
        selected = selection.picks(notice.id)
        if not (selected or every_notice):
            continue
        for moment in moments(notice, tz, max_age_days):
            timing = moment.timing(now)
            if selection.push and selected and moment.occasion in (notice.primary, "banner"):
                timing = "due"
            result.append((moment, timing))
        for told in correctable([notice]):
            update = Moment(told, "update", moment_floor(), midnight(told.resume, tz))
            result.append((update, update.timing(now)))
    for gone in removed:
        if every_notice or selection.picks(gone.id):
            cancel = Moment(gone, "cancel", moment_floor(), midnight(gone.start, tz))
            result.append((cancel, cancel.timing(now)))
    return result


def jobs(
    channel: Teller,
    wanted: frozenset[str],
    chosen: Iterable[tuple[Moment, Timing]],
    told: ToldView,
    rules: Lifecycle,
    default_language: str = "en",
) -> list[Job]:
    """The moments a channel takes (``wanted``: its routes), once per language it tells them
    in, corrections and cancellations resolved against what it was told in that language."""
    found = []
    for told_moment, timing in chosen:
        if told_moment.occasion not in wanted:
            continue
        each: list[Job] = []
        for notice in told_variants(channel, told_moment.notice, default_language):
            moment = replace(told_moment, notice=notice)
            if moment.occasion not in ("update", "cancel"):
                each.append(Job(moment, timing, moment.occasion))
            elif (change := _change(channel, moment, timing, told, rules)) is not None:
                each.append(change)
        found += _one_language_each(channel, each)
    return found


def _one_language_each(channel: Teller, each: list[Job]) -> list[Job]:
    """One moment's jobs in each language, each knowing the others (``Job.elsewhere``) where
    a target reads one language only."""
    if not channel.one_language_each or len(each) < 2:
        return each
    keys = [(job.moment.notice.id, job.occasion) for job in each]
    return [
        replace(job, elsewhere=tuple(k for k in keys if k != mine))
        for job, mine in zip(each, keys, strict=True)
    ]


def _change(
    channel: Routable, moment: Moment, timing: Timing, told: ToldView, rules: Lifecycle
) -> Job | None:
    """A correction (the notice changed since this channel was told) or a cancellation."""
    notice = moment.notice
    last = told.last_version(notice.id, channel.name)
    if last is None:
        return None  # never announced here: nothing to correct or cancel
    edit = rules.corrections == "edit" and channel.supports_edit
    edit_of = "announce" if edit else None
    if moment.occasion == "cancel":
        return Job(moment, timing, "cancel", edit_of=edit_of)
    if last.fingerprint == notice.fingerprint():
        return None
    previous = lifecycle.version(told, last.fingerprint)
    extra = {"previous": previous.context() if previous else None}
    occasion = f"{'edit' if edit else 'update'}@{notice.fingerprint()}"
    return Job(moment, timing, occasion, extra, edit_of)


def announced_before(told: ToldView, channel: Routable, job: Job) -> bool:
    """A reminder goes out only where the announcement went out before its window opened
    (one announced within the reminder window would be repeated by it)."""
    if "announce" not in channel.accepts:
        return True
    first = told.first_sent_at(job.moment.notice.id, "announce", channel.name)
    return first is not None and first < job.moment.opens


def moment_floor() -> datetime:
    """Corrections and cancellations are due as soon as they are noticed."""
    return datetime.min.replace(tzinfo=UTC)
