"""One pass: every notice that is due goes out once on every channel that takes it.

Orchestration only; each stage lives in the module named after it::

    sources.gather_notices -> lifecycle.reconcile -> schedule (moments, jobs: pure)
        -> render_once.RenderOnce (each message once, stored) -> send.Sender (claim, send, record)

Channels run as concurrent lanes, and a failing channel only ever affects its own rows in
the report; the breaker pauses a channel that fails pass after pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

import httpx

from broadcaster import lifecycle, passes
from broadcaster.breaker import STORM_LIMIT, Breaker
from broadcaster.channels import Deps, build_channels, known_channels
from broadcaster.channels.base import Channel, Publisher, Skipped
from broadcaster.config import Loaded, Secrets
from broadcaster.ledger import Group, Ledger
from broadcaster.lifecycle import Told, correctable
from broadcaster.notices import Notice, Notices, about_days
from broadcaster.render import Message, Renderer, template_fault
from broadcaster.render_once import NothingToPost, RenderOnce
from broadcaster.report import Report, Row, settled
from broadcaster.retry import RetryPolicy
from broadcaster.schedule import (
    Job,
    Moment,
    Selection,
    Timing,
    announced_before,
    jobs,
    moments,
    routes,
    timed_moments,
    told_variants,
)
from broadcaster.send import Parcel, Sender, check_publisher_plan
from broadcaster.send_stream import leases_kept_fresh
from broadcaster.sources import FeedProblem, gather_notices

__all__ = ["Dispatcher", "Job", "Report", "Row", "Selection"]


class Preview(NamedTuple):
    """One message as ``broadcast preview`` shows it: the notice as told (its language)."""

    channel: str
    occasion: str
    message: Message
    told: Notice

    @property
    def label(self) -> str:
        """``telegram`` or, in another language than the default, ``telegram [zh]``."""
        return f"{self.channel} [{self.told.language}]" if self.told.language else self.channel


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
        self.render = RenderOnce(Renderer(self.config.site, self.config.templates), ledger)
        #: set by ``broadcast plan``: publishers dry-run their change (Google's validateOnly)
        self.check_publishers = False
        #: the config's channels, then ``extra_channels`` (a channel of a test's own making)
        self.channels = [*build_channels(Deps(self.config, secrets, http, ledger)), *extra_channels]
        #: which occasions go to which channel: data, from each channel and ``lifecycle:``
        self.routes = routes(
            (c for c in self.channels if isinstance(c, Channel)), self.config.lifecycle
        )

    async def notices(self) -> tuple[Notices, list[FeedProblem]]:
        """The config's notices and the feeds' articles, with the feeds that failed."""
        return await gather_notices(self.config, self.http, self.ledger)

    async def run(
        self,
        now: datetime,
        selection: Selection = Selection(),
        *,
        dry_run: bool = False,
        gathered: tuple[Notices, list[FeedProblem]] | None = None,
    ) -> Report:
        """One pass at ``now``; with ``dry_run`` nothing is claimed, sent or written (``plan``).

        ``gathered``: what :meth:`notices` returned moments ago, for a command that looked at
        the notices first (``validate`` proves its templates against them): the feeds are then
        read once, not twice."""
        if dry_run:
            return await self._pass(now, selection, dry_run=True, gathered=gathered)
        started = datetime.now(UTC)
        try:
            report = await self._pass(now, selection, dry_run=False, gathered=gathered)
        except Exception as exc:
            passes.record(self.ledger, started, "error", type(exc).__name__)
            raise
        passes.record(self.ledger, started, "failed" if report.failed else "ok")
        return report

    async def _pass(
        self,
        now: datetime,
        selection: Selection,
        *,
        dry_run: bool,
        gathered: tuple[Notices, list[FeedProblem]] | None,
    ) -> Report:
        if not dry_run:
            self.ledger.reap()
        notices, problems = gathered or await self.notices()
        told = lifecycle.announced(self.ledger.values(lifecycle.LATEST), self.ledger)
        current, removed = lifecycle.reconcile(notices.items, told, now, self.config.site.tz)
        report = Report(now, feed_problems=problems, duplicates=notices.duplicates)
        tz, max_age = self.config.site.tz, self.config.articles.max_age_days
        chosen = timed_moments(current, removed, now, selection, tz, max_age)
        # a publisher shows state: it always gets every notice, plus whatever `send` pushes
        state = timed_moments(current, removed, now, selection, tz, max_age, every_notice=True)
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
        async with leases_kept_fresh(self.ledger, dry_run=dry_run):
            for rows in await asyncio.gather(*lanes):
                report.rows.extend(rows)
        report.rows.extend(self._unconfigured(selection))
        if not dry_run:
            told_here = [
                c.name
                for c in self.channels
                if isinstance(c, Channel) and not isinstance(c, Publisher)  # posts, not state
            ]
            lifecycle.remember_told(self.ledger, self._told_variants(current), told_here)
            await asyncio.gather(*(c.aclose() for c in self.channels if isinstance(c, Channel)))
        return report

    def _told_variants(self, current: list[Notice]) -> list[Told]:
        """Each correctable notice in every language some channel tells it in: each version
        told is remembered, so a correction in Chinese is made against the Chinese told."""
        default = self.config.site.all_languages[0]
        found: dict[str, Told] = {}
        for notice in correctable(current):
            found[notice.id] = notice
            for channel in self.channels:
                if isinstance(channel, Channel):
                    for told in told_variants(channel, notice, default):
                        found.setdefault(told.id, cast(Told, told))
        return list(found.values())

    def preview(self, notice: Notice, names: Sequence[str] | None = None) -> list[Preview]:
        """Each message the notice would produce, per channel, occasion and language, as it
        will be sent."""
        result: list[Preview] = []
        default = self.config.site.all_languages[0]
        tz, max_age = self.config.site.tz, self.config.articles.max_age_days
        for channel in self.channels:
            if not isinstance(channel, Channel) or (names and channel.name not in names):
                continue
            for moment in moments(notice, tz, max_age):
                if moment.occasion not in self.routes[channel.name]:
                    continue
                for told in told_variants(channel, notice, default):
                    job = Job(replace(moment, notice=told), "due", moment.occasion)
                    _id, message = self.render.message(channel, told, job, store=False)
                    result.append(Preview(channel.name, moment.occasion, message, told))
        return result

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
        planned = jobs(
            channel,
            self.routes[channel.name],
            chosen,
            self.ledger,
            self.config.lifecycle,
            self.config.site.all_languages[0],
        )
        for job in planned:
            if self.stop.is_set() and not dry_run:
                break
            if job.timing == "due" and (breaker.is_open(now) or storm >= STORM_LIMIT):
                reason = breaker.describe() if breaker.is_open(now) else "failing in this pass"
                rows.append(
                    Row(
                        job.moment.notice.id,
                        job.label,
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
        row = Row(notice.id, job.label, channel.name, "due")
        if job.timing != "due":
            already = self._settled(row, group, selection)
            return already or row.mark(job.timing, _when(job.moment, job.timing))
        if occasion == "remind" and not announced_before(self.ledger, channel, job):
            return row.mark("superseded", "announced within the reminder window")
        try:
            render_id, message = self.render.message(channel, notice, job, store=not dry_run)
        except Exception as exc:
            problem = self._unrenderable(exc)
            keys = (t.key for t in channel.targets_for(notice.facts()))  # its readers only
            return sender.unrendered(channel, group, row, problem, keys, dry_run=dry_run)
        rendered = _render_group(group)
        row.length, row.limit = self.render.measure(channel, message, rendered)
        if rendered in self.render.dropped:
            links = ", ".join(self.render.dropped[rendered])
            row.detail = f"left out {links}: over the limit even alone"
        if dry_run:
            return self._settled(row, group, selection) or row
        note = row.detail  # a link left out: said whatever the outcome
        parcel = Parcel(notice, group, message, render_id, job.edit_of, job.elsewhere)
        done = await sender.send(channel, parcel, row)  # it reads the group's states itself
        if note and not done.detail:
            done.detail = note
        return done

    def _unrenderable(self, exc: Exception) -> str:
        """Why a message cannot be rendered, said for an admin; a bug is raised as one."""
        if isinstance(exc, NothingToPost):
            return str(exc)
        fault = template_fault(exc, self.config.templates)
        if fault is None:
            raise exc  # not a template's doing: a bug
        return f"{fault} (fix the template, then: broadcast send {{notice}}{{again}})"

    def _settled(self, row: Row, group: Group, selection: Selection) -> Row | None:
        """The row for what the ledger already holds of ``group`` (a forced resend: nothing)."""
        return settled(row, {} if selection.force else self.ledger.states(group))

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
                entries.append(self._entry(channel, moment, store=not dry_run))
            except Exception as exc:
                problem = self._unrenderable(exc)
                group = Group(moment.notice.id, moment.occasion, channel.name)
                sender = Sender(self.ledger, self.retry, now, self.stop)
                rows.append(
                    sender.unrendered(channel, group, row, problem, ["site"], dry_run=dry_run)
                )
                continue  # the other notices are still shown
            shown.append(row)
        if dry_run:
            for row in shown:
                group = Group(row.notice_id, row.occasion, channel.name)
                rows.append(settled(row, self.ledger.states(group)) or row)
            if self.check_publishers:
                await check_publisher_plan(channel, entries, now, rows)
            return rows
        sender = Sender(self.ledger, self.retry, now, self.stop)
        return rows + await sender.publish(channel, entries, shown, force=selection.force)

    def _entry(self, channel: Publisher, moment: Moment, *, store: bool) -> dict[str, Any]:
        """What a publisher shows of one notice: its window, its facts, and its message in
        each language the channel tells (``texts``), each rendered and stored like any
        message (``closure-2024-03-26.zh``). ``text`` and ``html`` are the default
        language's, as before languages, for the embeds that read only those. A language
        whose message cannot be rendered fails the whole entry: shown half-translated, the
        fault would go unseen."""
        default = self.config.site.all_languages[0]
        job = Job(moment, "due", moment.occasion)
        texts: dict[str, dict[str, str]] = {}
        for told in told_variants(channel, moment.notice, default):
            _id, message = self.render.message(channel, told, job, store=store)
            texts[told.language or default] = {part: message[part] for part in channel.parts}
        facts = moment.notice.facts()
        return {
            "id": moment.notice.id,
            "kind": moment.notice.kind,
            "start": moment.opens.isoformat(),
            "end": moment.closes.isoformat(),
            **texts.get(default, {}),
            "lang": default,
            "texts": texts,
            "facts": facts,
            # banner.json's readers from before kinds: the days of a closure
            "closure": facts if about_days(facts) else None,
        }

    def _unconfigured(self, selection: Selection) -> list[Row]:
        """Channels broadcaster supports but this config does not use: shown, not failed."""
        configured = {c.name for c in self.channels}
        return [
            Row("*", "*", name, "skipped", detail=f"not configured (add channels.{name})")
            for name in known_channels()
            if name not in configured and (selection.channels is None or name in selection.channels)
        ]


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
