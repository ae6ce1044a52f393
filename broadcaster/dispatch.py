"""One pass: every notice that is due goes out once on every channel that takes it.

The flow, in order: gather notices -> reconcile them with what was announced before (moved or
removed closures) -> the jobs due now, per channel -> render each message once (stored in the
ledger) -> claim, send, record (:mod:`broadcaster.send`). Channels run concurrently, and a
failing channel only ever affects its own rows in the report.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import httpx

from broadcaster import lifecycle, passes
from broadcaster.breaker import STORM_LIMIT, Breaker
from broadcaster.channels import Deps, build_channels, known_channels
from broadcaster.channels.base import Channel, Publisher, Skipped
from broadcaster.config import Lifecycle, Loaded, Secrets
from broadcaster.errors import DeliveryError
from broadcaster.ledger import Group, Ledger
from broadcaster.length import fit
from broadcaster.lifecycle import Told, correctable
from broadcaster.notices import Notice, about_days
from broadcaster.render import Message, Renderer, TemplateFault, template_fault
from broadcaster.report import Report, Row, settled
from broadcaster.retry import RetryPolicy
from broadcaster.schedule import Moment, Timing, midnight, moments
from broadcaster.send import Parcel, Sender
from broadcaster.sources import gather_notices

__all__ = ["Dispatcher", "Job", "Report", "Row", "Selection"]


@dataclass(frozen=True)
class Selection:
    """Limits a pass to some notices/channels; ``push`` ignores the schedule (``send``)."""

    notice_ids: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    push: bool = False
    force: bool = False


@dataclass(frozen=True)
class Job:
    """One message a channel may owe: a moment, plus how the ledger and templates name it."""

    moment: Moment
    timing: Timing
    occasion: str  # in the ledger: "announce", "update@<version>", "edit@<version>", "cancel"
    extra: dict[str, Any] = field(default_factory=dict)  # more template context
    edit_of: str | None = None  # edit the post sent for this occasion instead of posting


class Dispatcher:
    """Runs passes for one loaded config against one ledger."""

    def __init__(
        self,
        loaded: Loaded,
        secrets: Secrets,
        ledger: Ledger,
        http: httpx.AsyncClient,
        retry: RetryPolicy | None = None,
        stop: asyncio.Event | None = None,
        extra_channels: Sequence[Channel] = (),
    ) -> None:
        self.config = loaded.config
        #: set by the worker on SIGTERM: the deliveries in hand finish, nothing new is claimed
        self.stop = stop or asyncio.Event()
        self.secrets = secrets
        self.ledger = ledger
        self.http = http
        self.retry = retry or RetryPolicy.from_env()
        self.renderer = Renderer(self.config.site, self.config.templates)
        #: render group -> the length a template produced before it was shortened to fit, so
        #: plan and validate report (and warn about) the template's own length
        self.unfitted: dict[Group, int] = {}
        #: set by ``broadcast plan``: publishers dry-run their change (Google's validateOnly)
        self.check_publishers = False
        #: the config's channels, then ``extra_channels`` (a channel of a test's own making)
        self.channels = [*build_channels(Deps(self.config, secrets, http, ledger)), *extra_channels]

    async def run(
        self, now: datetime, selection: Selection = Selection(), *, dry_run: bool = False
    ) -> Report:
        """One pass at ``now``; with ``dry_run`` nothing is claimed, sent or written (``plan``)."""
        if dry_run:
            return await self._pass(now, selection, dry_run=True)
        started = datetime.now(UTC)
        try:
            report = await self._pass(now, selection, dry_run=False)
        except Exception as exc:
            passes.record(self.ledger, started, "error", type(exc).__name__)
            raise
        passes.record(self.ledger, started, "failed" if report.failed else "ok")
        return report

    async def _pass(self, now: datetime, selection: Selection, *, dry_run: bool) -> Report:
        if not dry_run:
            self.ledger.reap()
        notices, problems = await gather_notices(self.config, self.http, self.ledger)
        told = lifecycle.announced(self.ledger.values(lifecycle.LATEST), self.ledger)
        current, removed = lifecycle.reconcile(notices.items, told, now, self.config.site.tz)
        report = Report(now, feed_problems=problems, duplicates=notices.duplicates)
        chosen = self._moments(current, removed, now, selection)
        # a publisher shows state: it always gets every notice, plus whatever `send` pushes
        state = self._moments(current, removed, now, selection, every_notice=True)
        lanes = [
            self._lane(
                channel,
                state if isinstance(channel, Publisher) else chosen,
                now,
                selection,
                dry_run,
            )
            for channel in self.channels
            if selection.channels is None or channel.name in selection.channels
        ]
        async with self._heartbeat(dry_run):
            for rows in await asyncio.gather(*lanes):
                report.rows.extend(rows)
        report.rows.extend(self._unconfigured(selection))
        if not dry_run:
            self._remember(current)
            await asyncio.gather(*(c.aclose() for c in self.channels if isinstance(c, Channel)))
        return report

    @asynccontextmanager
    async def _heartbeat(self, dry_run: bool) -> AsyncIterator[None]:
        """While sending, keep this process's leases fresh, so a slow but live pass is never
        mistaken for a dead one (and its deliveries never reaped to ``unknown``)."""
        if dry_run:
            yield
            return

        async def beat() -> None:
            while True:
                await asyncio.sleep(self.ledger.lease.total_seconds() / 3)
                self.ledger.extend_leases()

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    def preview(
        self, notice: Notice, names: Sequence[str] | None = None
    ) -> list[tuple[str, str, Message]]:
        """Each message the notice would produce, per channel and occasion, as it will be sent."""
        result: list[tuple[str, str, Message]] = []
        for channel in self.channels:
            if not isinstance(channel, Channel) or (names and channel.name not in names):
                continue
            for moment in moments(notice, self.config.site.tz, self.config.articles.max_age_days):
                if self._wants(channel, moment.occasion):
                    job = Job(moment, "due", moment.occasion)
                    result.append(
                        (channel.name, moment.occasion, self._message(channel, job, store=False))
                    )
        return result

    # -- which jobs ---------------------------------------------------------------------------

    def _moments(
        self,
        current: list[Notice],
        removed: list[Told],
        now: datetime,
        selection: Selection,
        *,
        every_notice: bool = False,
    ) -> list[tuple[Moment, Timing]]:
        """Every moment of the selected notices (or of all, with ``every_notice``) with its
        timing now; ``push`` makes the selected notices' primary and banner moments due."""
        tz, max_age = self.config.site.tz, self.config.articles.max_age_days
        result: list[tuple[Moment, Timing]] = []
        for notice in current:
            selected = selection.notice_ids is None or notice.id in selection.notice_ids
            if not (selected or every_notice):
                continue
            for moment in moments(notice, tz, max_age):
                timing = moment.timing(now)
                pushed = selection.push and selected
                if pushed and moment.occasion in (notice.primary, "banner"):
                    timing = "due"
                result.append((moment, timing))
            for told in correctable([notice]):
                update = Moment(told, "update", moment_floor(), midnight(told.resume, tz))
                result.append((update, update.timing(now)))
        for gone in removed:
            if every_notice or selection.notice_ids is None or gone.id in selection.notice_ids:
                cancel = Moment(gone, "cancel", moment_floor(), midnight(gone.start, tz))
                result.append((cancel, cancel.timing(now)))
        return result

    def _jobs(self, channel: Channel, chosen: list[tuple[Moment, Timing]]) -> list[Job]:
        """The moments this channel takes, with corrections and cancellations resolved."""
        jobs = []
        for moment, timing in chosen:
            if not self._wants(channel, moment.occasion):
                continue
            if moment.occasion in ("update", "cancel"):
                job = self._change_job(channel, moment, timing)
                if job is not None:
                    jobs.append(job)
            else:
                jobs.append(Job(moment, timing, moment.occasion))
        return jobs

    def _change_job(self, channel: Channel, moment: Moment, timing: Timing) -> Job | None:
        """A correction (the closure changed since this channel was told) or a cancellation."""
        notice = moment.notice
        told = self.ledger.last_version(notice.id, channel.name)
        if told is None:
            return None  # never announced here: nothing to correct or cancel
        edit = self.config.lifecycle.corrections == "edit" and channel.supports_edit
        edit_of = "announce" if edit else None
        if moment.occasion == "cancel":
            return Job(moment, timing, "cancel", edit_of=edit_of)
        if told.fingerprint == notice.fingerprint():
            return None
        previous = lifecycle.version(self.ledger, told.fingerprint)
        extra = {"previous": previous.context() if previous else None}
        occasion = f"{'edit' if edit else 'update'}@{notice.fingerprint()}"
        return Job(moment, timing, occasion, extra, edit_of)

    def _wants(self, channel: Channel | Skipped, occasion: str) -> bool:
        """Does the lifecycle config route this occasion to this channel?"""
        if isinstance(channel, Skipped):
            return False
        return routed(channel, occasion, self.config.lifecycle)

    # -- doing them ---------------------------------------------------------------------------

    async def _lane(
        self,
        channel: Channel | Skipped,
        chosen: list[tuple[Moment, Timing]],
        now: datetime,
        selection: Selection,
        dry_run: bool,
    ) -> list[Row]:
        if isinstance(channel, Skipped):
            return [Row("*", "*", channel.name, "skipped", detail=channel.reason)]
        if isinstance(channel, Publisher):
            await channel.prepare()
            mine = [(m, t) for m, t in chosen if channel.takes(m.occasion)]
            return await self._publish(channel, mine, now, selection, dry_run)
        breaker = Breaker.load(self.ledger, channel.name)
        if dry_run or not breaker.is_open(now):  # a paused channel's server is left alone
            await channel.prepare()  # e.g. read the server's limits before anything is rendered
        sender = Sender(self.ledger, self.retry, now, self.stop)
        rows: list[Row] = []
        storm = 0
        for job in self._jobs(channel, chosen):
            if self.stop.is_set() and not dry_run:
                break
            if job.timing == "due" and (breaker.is_open(now) or storm >= STORM_LIMIT):
                reason = breaker.describe() if breaker.is_open(now) else "failing in this pass"
                rows.append(
                    Row(
                        job.moment.notice.id,
                        _label(job),
                        channel.name,
                        "deferred",
                        detail=f"{reason}: left for a later pass",
                    )
                )
                continue
            row = await self._job(channel, job, sender, selection, dry_run)
            if row.attempted:
                storm = storm + 1 if row.status in FAILING and not _delivered(rows) else 0
            rows.append(row)
        if not dry_run and not breaker.is_open(now):
            failing = any(r.status in FAILING and r.attempted for r in rows)
            breaker.record_pass(delivered=_delivered(rows), failing=failing, now=now)
        return rows

    async def _job(
        self, channel: Channel, job: Job, sender: Sender, selection: Selection, dry_run: bool
    ) -> Row:
        notice, occasion = job.moment.notice, job.occasion
        seq = self.ledger.max_seq(notice.id, occasion, channel.name) + 1 if selection.force else 0
        group = Group(notice.id, occasion, channel.name, seq)
        row = Row(notice.id, _label(job), channel.name, "due")
        if job.timing != "due":
            already = self._settled(row, group, selection)
            return already or row.mark(job.timing, _when(job.moment, job.timing))
        if occasion == "remind" and not self._announced_before(notice, channel, job.moment):
            return row.mark("superseded", "announced within the reminder window")
        try:
            render_id, message = self._render(channel, job, store=not dry_run)
        except Exception as exc:
            fault = template_fault(exc, self.config.templates)
            if fault is None:
                raise  # not a template's doing: a bug
            keys = (t.key for t in channel.targets())
            return self._unrendered(channel, group, row, fault, keys, sender.now, dry_run)
        row.length, row.limit = _measure(channel, message)
        row.length = self.unfitted.get(_render_group(group), row.length)
        if dry_run:
            return self._settled(row, group, selection) or row
        parcel = Parcel(notice, group, message, render_id, job.edit_of)
        return await sender.send(channel, parcel, row)  # it reads the group's states itself

    def _unrendered(
        self,
        channel: Channel,
        group: Group,
        row: Row,
        fault: TemplateFault,
        targets: Iterable[str],
        now: datetime,
        dry_run: bool,
    ) -> Row:
        """A message its template failed to render (a feed's text can trip a template that
        the config's own notices passed): recorded for each target with the template's file
        and line, and the other messages and channels go on.

        A message is ``failed`` (a person fixes the template, then sends it again); a
        publisher's entry is left to ``retry``: it shows state, so the first pass after the
        fix shows it."""
        publisher = isinstance(channel, Publisher)
        again = "" if publisher else f" --channel {channel.name} --force"
        detail = f"{fault} (fix the template, then: broadcast send {group.notice_id}{again})"
        if dry_run:
            return row.mark("failed", detail)
        retry_at = self.retry.next_attempt(now, 1, None) if publisher else None
        recorded = 0
        keys = iter(targets)
        while chunk := list(islice(keys, channel.claim_batch)):
            claims = self.ledger.claim(group, chunk, None, now)
            self.ledger.mark_failed([(c.id, detail, retry_at) for c in claims.values()], now)
            recorded += len(claims)
        if not recorded:  # every target already holds a delivery: show what it holds
            return settled(row, self.ledger.states(group)) or row.mark("failed", detail)
        row.count = recorded
        return row.mark("retry" if publisher else "failed", detail)

    def _settled(self, row: Row, group: Group, selection: Selection) -> Row | None:
        """The row for what the ledger already holds of ``group`` (a forced resend: nothing)."""
        return settled(row, {} if selection.force else self.ledger.states(group))

    def _announced_before(self, notice: Notice, channel: Channel, moment: Moment) -> bool:
        if not channel.takes("announce"):
            return True
        first = self.ledger.first_sent_at(notice.id, "announce", channel.name)
        return first is not None and first < moment.opens

    def _message(self, channel: Channel, job: Job, *, store: bool) -> Message:
        return self._render(channel, job, store=store)[1]

    def _render(self, channel: Channel, job: Job, *, store: bool) -> tuple[int | None, Message]:
        """Render once: reuse the stored message if there is one, else render and store it.
        Returns the stored render's id (None when not stored) and the message."""
        notice = job.moment.notice
        group = _render_group(Group(notice.id, job.occasion, channel.name))
        stored = self.ledger.stored_render(group, notice.fingerprint(), None)
        if stored:
            return stored
        message = self.renderer.render(notice, job.occasion, channel.name, channel.parts, job.extra)
        limits = channel.limits
        if limits.part in message:
            fitted = fit(message[limits.part], limits)
            if fitted != message[limits.part]:
                self.unfitted[group] = limits.measure(message[limits.part])
            message[limits.part] = fitted
        if not store:
            return None, message
        result = self.ledger.stored_render(group, notice.fingerprint(), message)
        assert result is not None
        return result

    async def _publish(
        self,
        channel: Publisher,
        mine: list[tuple[Moment, Timing]],
        now: datetime,
        selection: Selection,
        dry_run: bool,
    ) -> list[Row]:
        """The publisher shows every notice whose banner window is open: the whole state goes
        to the Sender, which claims, publishes and records it (and each first appearance)."""
        rows, shown, entries = [], [], []
        for moment, timing in mine:
            row = Row(moment.notice.id, moment.occasion, channel.name, "due")
            if timing != "due":
                rows.append(row.mark(timing, _when(moment, timing)))
                continue
            try:
                message = self._message(
                    channel, Job(moment, timing, moment.occasion), store=not dry_run
                )
            except Exception as exc:
                fault = template_fault(exc, self.config.templates)
                if fault is None:
                    raise  # not a template's doing: a bug
                group = Group(moment.notice.id, moment.occasion, channel.name)
                rows.append(self._unrendered(channel, group, row, fault, ["site"], now, dry_run))
                continue  # the other notices are still shown
            entries.append(
                {
                    "id": moment.notice.id,
                    "kind": moment.notice.kind,
                    "start": moment.opens.isoformat(),
                    "end": moment.closes.isoformat(),
                    "text": message["text"],
                    "html": message["html"],
                    "facts": moment.notice.facts(),
                    # banner.json's readers from before kinds: the days of a closure
                    "closure": facts if about_days(facts := moment.notice.facts()) else None,
                }
            )
            shown.append(row)
        if dry_run:
            for row in shown:
                group = Group(row.notice_id, row.occasion, channel.name)
                rows.append(settled(row, self.ledger.states(group)) or row)
            if self.check_publishers:
                await _check_plan(channel, entries, now, rows)
            return rows
        sender = Sender(self.ledger, self.retry, now, self.stop)
        return rows + await sender.publish(channel, entries, shown, force=selection.force)

    def _remember(self, current: list[Notice]) -> None:
        """Snapshot each closure some channel has been told about, in its latest told version."""
        for notice in correctable(current):
            told = [
                v
                for c in self.channels
                if isinstance(c, Channel)
                and not isinstance(c, Publisher)
                and (v := self.ledger.last_version(notice.id, c.name)) is not None
            ]
            latest = self.ledger.get_value(lifecycle.LATEST + notice.id)
            if latest != notice.fingerprint() and any(
                v.fingerprint == notice.fingerprint() for v in told
            ):
                lifecycle.remember(self.ledger, notice)

    def _unconfigured(self, selection: Selection) -> list[Row]:
        """Channels broadcaster supports but this config does not use: shown, not failed."""
        configured = {c.name for c in self.channels}
        return [
            Row("*", "*", name, "skipped", detail=f"not configured (add channels.{name})")
            for name in known_channels()
            if name not in configured and (selection.channels is None or name in selection.channels)
        ]


async def _check_plan(
    channel: Publisher, entries: list[dict[str, Any]], now: datetime, rows: list[Row]
) -> None:
    """``broadcast plan``: the publisher's own verdict on the change a run would make."""
    failed = False
    try:
        note = await channel.check_plan(entries, now)
    except DeliveryError as exc:
        note, failed = f"would fail: {exc.message}", True
    if note and not rows:  # only a removal (a cancelled closure) would change the target
        rows.append(Row("*", "banner", channel.name, "due"))
    for row in rows:
        if note and row.status in ("due", "already sent"):
            row.mark("failed" if failed and row.status == "due" else row.status, note)


def routed(channel: Channel | type[Channel], occasion: str, rules: Lifecycle) -> bool:
    """Does ``lifecycle:`` send this occasion to this channel, whatever the kind of notice?
    A channel type will do (checking the templates builds no channel, so it needs no secrets).

    Corrections, cancellations and the reopening go only where the announcement goes; the
    reminder goes where ``lifecycle.remind`` says (default: every channel that takes one)."""
    takes = channel.accepts.__contains__
    publisher = isinstance(channel, Publisher) or (
        isinstance(channel, type) and issubclass(channel, Publisher)
    )
    if publisher:
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


def moment_floor() -> datetime:
    """Corrections and cancellations are due as soon as they are noticed."""
    return datetime.min.replace(tzinfo=UTC)


def _label(job: Job) -> str:
    """The occasion as people read it (``update``, not ``update@3f2a...``)."""
    return job.occasion.partition("@")[0]


#: what a job that went wrong in this pass shows: each counts toward the storm limit and
#: the breaker (``unknown``: a request went out and no answer came back)
FAILING = ("retry", "unknown")


def _delivered(rows: list[Row]) -> bool:
    return any(r.status == "sent" and r.attempted for r in rows)


def _render_group(group: Group) -> Group:
    """Renders are shared by every forced resend (seq) of the same message."""
    return Group(group.notice_id, group.occasion, group.channel)


def _when(moment: Moment, timing: Timing) -> str:
    if timing == "upcoming":
        return f"from {moment.opens.isoformat()}"
    return f"window closed {moment.closes.isoformat()}"


def _measure(channel: Channel, message: Message) -> tuple[int | None, int | None]:
    text = message.get(channel.limits.part)
    if text is None:
        return None, channel.limits.max_length
    return channel.limits.measure(text), channel.limits.max_length
