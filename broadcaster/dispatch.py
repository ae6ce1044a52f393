"""One pass: every notice that is due goes out once on every channel that takes it.

The flow, in order: gather notices -> find the moments due now -> render each message once
(stored in the ledger) -> claim deliveries -> send -> record. Channels run concurrently and
a failing channel only ever affects its own rows in the report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Literal

import httpx

from broadcaster.channels import Deps, build_channels, known_channels
from broadcaster.channels.banner import BannerChannel
from broadcaster.channels.base import Channel, Outgoing, Receipt, Skipped, Target
from broadcaster.config import Loaded, Secrets
from broadcaster.errors import AlreadyDelivered, DeliveryError, RetryableError
from broadcaster.ledger import Claim, Group, Ledger
from broadcaster.length import fit
from broadcaster.notices import ArticleNotice, Notice, Notices
from broadcaster.render import Message, Renderer
from broadcaster.retry import RetryPolicy
from broadcaster.schedule import PRIMARY, Moment, Timing, moments
from broadcaster.sources import FeedProblem, gather_notices

Status = Literal[
    "sent",
    "already sent",
    "due",
    "retry",
    "failed",
    "unknown",
    "in progress",
    "stale",
    "upcoming",
    "skipped",
    "superseded",
]


@dataclass
class Row:
    """One line of a plan or a run summary: a notice on an occasion on a channel."""

    notice_id: str
    occasion: str
    channel: str
    status: Status
    count: int = 1
    detail: str = ""
    length: int | None = None
    limit: int | None = None


@dataclass
class Report:
    now: datetime
    rows: list[Row] = field(default_factory=list)
    feed_problems: list[FeedProblem] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.status in ("failed", "retry") for r in self.rows)

    def exit_code(self) -> int:
        return 1 if self.failed else 0


@dataclass(frozen=True)
class Selection:
    """Limits a pass to some notices/channels; ``push`` ignores the schedule (``send``)."""

    notice_ids: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    push: bool = False
    force: bool = False


class Dispatcher:
    """Runs passes for one loaded config against one ledger."""

    def __init__(
        self,
        loaded: Loaded,
        secrets: Secrets,
        ledger: Ledger,
        http: httpx.AsyncClient,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = loaded.config
        self.secrets = secrets
        self.ledger = ledger
        self.http = http
        self.retry = retry or RetryPolicy.from_env()
        self.renderer = Renderer(self.config.site, self.config.templates)
        self.channels = build_channels(Deps(self.config, secrets, http, ledger))

    async def run(
        self, now: datetime, selection: Selection = Selection(), *, dry_run: bool = False
    ) -> Report:
        """One pass at ``now``; with ``dry_run`` nothing is claimed, sent or written (``plan``)."""
        if not dry_run:
            self.ledger.reap()
        notices, problems = await gather_notices(self.config, self.http)
        report = Report(now, feed_problems=problems, duplicates=notices.duplicates)
        chosen = self._moments(notices, now, selection)
        lanes = [
            self._lane(channel, chosen, now, selection, dry_run)
            for channel in self._channels(selection)
        ]
        for rows in await asyncio.gather(*lanes):
            report.rows.extend(rows)
        report.rows.extend(self._unconfigured(selection))
        if not dry_run:
            await asyncio.gather(*(c.aclose() for c in self.channels if isinstance(c, Channel)))
        return report

    def preview(
        self, notice: Notice, names: Sequence[str] | None = None
    ) -> list[tuple[str, str, Message]]:
        """Each message the notice would produce, per channel and occasion, as it will be sent."""
        result: list[tuple[str, str, Message]] = []
        for channel in self.channels:
            if not isinstance(channel, Channel) or (names and channel.name not in names):
                continue
            for moment in moments(notice, self.config.site.tz, self.config.articles.max_age_days):
                if channel.takes(notice.kind, moment.occasion):
                    group = Group(notice.id, moment.occasion, channel.name)
                    result.append(
                        (
                            channel.name,
                            moment.occasion,
                            self._message(channel, notice, moment.occasion, group, store=False),
                        )
                    )
        return result

    def _unconfigured(self, selection: Selection) -> list[Row]:
        """Channels broadcaster supports but this config does not use: shown, not failed."""
        configured = {c.name for c in self.channels}
        return [
            Row("*", "*", name, "skipped", detail=f"not configured (add channels.{name})")
            for name in known_channels()
            if name not in configured and (selection.channels is None or name in selection.channels)
        ]

    def _channels(self, selection: Selection) -> list[Channel | Skipped]:
        return [
            c for c in self.channels if selection.channels is None or c.name in selection.channels
        ]

    def _moments(
        self, notices: Notices, now: datetime, selection: Selection
    ) -> list[tuple[Moment, Timing]]:
        """Every moment of the selected notices with its timing now (push makes primary due)."""
        result = []
        for notice in notices.items:
            if selection.notice_ids is not None and notice.id not in selection.notice_ids:
                continue
            for moment in moments(notice, self.config.site.tz, self.config.articles.max_age_days):
                timing = moment.timing(now)
                if selection.push and moment.occasion in (PRIMARY[notice.kind], "banner"):
                    timing = "due"
                result.append((moment, timing))
        return result

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
        mine = [(m, t) for m, t in chosen if channel.takes(m.notice.kind, m.occasion)]
        if isinstance(channel, BannerChannel):
            return await self._publish(channel, mine, now, dry_run)
        rows = []
        for moment, timing in mine:
            rows.append(await self._moment(channel, moment, timing, now, selection, dry_run))
        return rows

    async def _moment(
        self,
        channel: Channel,
        moment: Moment,
        timing: Timing,
        now: datetime,
        selection: Selection,
        dry_run: bool,
    ) -> Row:
        notice, occasion = moment.notice, moment.occasion
        seq = self.ledger.max_seq(notice.id, occasion, channel.name) + 1 if selection.force else 0
        group = Group(notice.id, occasion, channel.name, seq)
        row = Row(notice.id, occasion, channel.name, "due")
        states = {} if selection.force else self.ledger.states(group)
        if timing != "due":
            return _settled(row, states) or _with(row, timing, _when(moment, timing))
        if occasion == "remind" and not self._announced_before(notice, channel, moment):
            return _with(row, "superseded", "announced within the reminder window")
        message = self._message(channel, notice, occasion, group, store=not dry_run)
        row.length, row.limit = _measure(channel, message)
        if dry_run:
            return _settled(row, states) or row
        return await self._deliver(channel, moment, group, message, row, now)

    def _announced_before(self, notice: Notice, channel: Channel, moment: Moment) -> bool:
        if not channel.takes(notice.kind, "announce"):
            return True
        first = self.ledger.first_sent_at(notice.id, "announce", channel.name)
        return first is not None and first < moment.opens

    def _message(
        self, channel: Channel, notice: Notice, occasion: str, group: Group, *, store: bool
    ) -> Message:
        """Render once: reuse the stored message if there is one, else render and store it."""
        render_group = Group(group.notice_id, group.occasion, group.channel)
        stored = self.ledger.stored_render(render_group, notice.fingerprint(), None)
        if stored:
            return stored[1]
        message = self.renderer.render(notice, occasion, channel.name, channel.parts)
        limits = channel.limits
        if limits.part in message:
            message[limits.part] = fit(message[limits.part], limits)
        if not store:
            return message
        result = self.ledger.stored_render(render_group, notice.fingerprint(), message)
        assert result is not None
        return result[1]

    async def _deliver(
        self,
        channel: Channel,
        moment: Moment,
        group: Group,
        message: Message,
        row: Row,
        now: datetime,
    ) -> Row:
        render = self.ledger.stored_render(
            Group(group.notice_id, group.occasion, group.channel), moment.notice.fingerprint(), None
        )
        render_id = render[0] if render else None
        tally: dict[str, int] = {}
        errors: list[str] = []
        targets = iter(channel.targets())
        while chunk := list(islice(targets, channel.claim_batch)):
            by_key = {t.key: t for t in chunk}
            claims = self.ledger.claim(group, list(by_key), render_id, now)
            skipped = len(by_key) - len(claims)
            if skipped:
                tally["already"] = tally.get("already", 0) + skipped
            batch = [
                self._outgoing(moment, group, message, by_key[key], claim)
                for key, claim in claims.items()
            ]
            attempts = {claim.id: claim.attempts for claim in claims.values()}
            await self._send_batch(channel, batch, attempts, now, tally, errors)
        return _summarise(row, tally, errors, self.ledger.states(group))

    def _outgoing(
        self, moment: Moment, group: Group, message: Message, target: Target, claim: Claim
    ) -> Outgoing:
        notice = moment.notice
        article = notice if isinstance(notice, ArticleNotice) else None
        return Outgoing(
            delivery_id=claim.id,
            key=f"{group.notice_id}/{group.occasion}/{group.channel}/{target.key}/{group.seq}",
            notice_id=notice.id,
            kind=notice.kind,
            occasion=moment.occasion,
            message=message,
            target=target,
            link=article.url if article else None,
            image=article.image if article else None,
        )

    async def _send_batch(
        self,
        channel: Channel,
        batch: Sequence[Outgoing],
        attempts: dict[int, int],
        now: datetime,
        tally: dict[str, int],
        errors: list[str],
    ) -> None:
        """Deliver with in-pass retries; outcomes reach the ledger in small batches as they come."""
        pending, attempt = list(batch), 1
        while pending:
            by_id = {o.delivery_id: o for o in pending}
            again: list[Outgoing] = []
            waits: list[float] = []
            recorder = _Recorder(self.ledger, now, tally, errors)
            async for delivery_id, outcome in channel.deliver(pending):
                if isinstance(outcome, RetryableError) and not isinstance(
                    outcome, AlreadyDelivered
                ):
                    wait = self.retry.wait_in_pass(attempt, outcome.retry_after)
                    if wait is not None:
                        again.append(by_id[delivery_id])
                        waits.append(wait)
                        continue
                    retry_at = self.retry.next_attempt(
                        now, attempts[delivery_id], outcome.retry_after
                    )
                    recorder.failed(delivery_id, outcome.message, retry_at)
                else:
                    recorder.record(delivery_id, outcome)
            recorder.flush()
            pending, attempt = again, attempt + 1
            if pending:
                await asyncio.sleep(max(waits))

    async def _publish(
        self,
        channel: BannerChannel,
        mine: list[tuple[Moment, Timing]],
        now: datetime,
        dry_run: bool,
    ) -> list[Row]:
        """The banner shows every notice whose banner window is open; record first appearances."""
        rows, entries, claims = [], [], []
        for moment, timing in mine:
            group = Group(moment.notice.id, moment.occasion, channel.name)
            row = Row(moment.notice.id, moment.occasion, channel.name, "due")
            if timing != "due":
                rows.append(
                    _with(row, "stale" if timing == "stale" else "upcoming", _when(moment, timing))
                )
                continue
            message = self._message(
                channel, moment.notice, moment.occasion, group, store=not dry_run
            )
            entries.append(
                {
                    "id": moment.notice.id,
                    "kind": moment.notice.kind,
                    "start": moment.opens.isoformat(),
                    "end": moment.closes.isoformat(),
                    "text": message["text"],
                    "html": message["html"],
                }
            )
            if dry_run:
                rows.append(_settled(row, self.ledger.states(group)) or row)
                continue
            claim = self.ledger.claim(group, ["site"], None, now).get("site")
            rows.append(_with(row, "sent") if claim else _with(row, "already sent", "showing"))
            if claim:
                claims.append((row, claim))
        if dry_run:
            return rows
        try:
            receipt = await channel.publish(entries, now)
        except DeliveryError as exc:
            retry_at = self.retry.next_attempt(now, 1, None)
            self.ledger.mark_failed([(c.id, exc.message, retry_at) for _r, c in claims], now)
            for row, _claim in claims:
                _with(row, "retry", exc.message)
            return rows
        self.ledger.mark_sent([(c.id, receipt) for _r, c in claims], now)
        return rows


class _Recorder:
    """Buffers outcomes and writes them every FLUSH_EVERY results: few transactions, and a
    killed process loses at most the outcomes of the messages in flight."""

    FLUSH_EVERY = 64

    def __init__(
        self, ledger: Ledger, now: datetime, tally: dict[str, int], errors: list[str]
    ) -> None:
        self.ledger, self.now, self.tally, self.errors = ledger, now, tally, errors
        self.sent: list[tuple[int, dict[str, Any]]] = []
        self.failures: list[tuple[int, str, datetime | None]] = []

    def record(self, delivery_id: int, outcome: Receipt | DeliveryError) -> None:
        if isinstance(outcome, AlreadyDelivered):
            self.sent.append((delivery_id, {"already_delivered": outcome.message}))
        elif isinstance(outcome, DeliveryError):
            self.failed(delivery_id, outcome.message, None)
        else:
            self.sent.append((delivery_id, outcome))
        self._maybe_flush()

    def failed(self, delivery_id: int, message: str, retry_at: datetime | None) -> None:
        self.failures.append((delivery_id, message, retry_at))
        self.tally["retry" if retry_at else "failed"] = (
            self.tally.get("retry" if retry_at else "failed", 0) + 1
        )
        self.errors.append(message)
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self.sent) + len(self.failures) >= self.FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        self.ledger.mark_sent(self.sent, self.now)
        self.ledger.mark_failed(self.failures, self.now)
        self.tally["sent"] = self.tally.get("sent", 0) + len(self.sent)
        self.sent, self.failures = [], []


def _with(row: Row, status: Status, detail: str = "") -> Row:
    row.status, row.detail = status, detail
    return row


def _settled(row: Row, states: dict[str, int]) -> Row | None:
    """A row for work already in the ledger (sent, failed, unknown...), else None."""
    for state, status, detail in (
        ("unknown", "unknown", "claimed by a process that died: settle it by hand"),
        ("sending", "in progress", "claimed by a running process"),
        ("failed", "failed", ""),
        ("retry", "retry", ""),
        ("sent", "already sent", ""),
    ):
        if states.get(state):
            row.count = states[state]
            return _with(row, status, detail)  # type: ignore[arg-type]
    return None


def _when(moment: Moment, timing: Timing) -> str:
    if timing == "upcoming":
        return f"from {moment.opens.isoformat()}"
    return f"window closed {moment.closes.isoformat()}"


def _measure(channel: Channel, message: Message) -> tuple[int | None, int | None]:
    text = message.get(channel.limits.part)
    if text is None:
        return None, channel.limits.max_length
    return channel.limits.measure(text), channel.limits.max_length


def _summarise(row: Row, tally: dict[str, int], errors: list[str], states: dict[str, int]) -> Row:
    detail = "; ".join(dict.fromkeys(errors))[:300]
    if tally.get("failed"):
        row.count = tally["failed"]
        return _with(row, "failed", detail)
    if tally.get("retry"):
        row.count = tally["retry"]
        return _with(row, "retry", detail)
    if tally.get("sent"):
        row.count = tally["sent"]
        return _with(row, "sent")
    return _settled(row, states) or _with(row, "already sent")


def takes_any(channels: Iterable[Channel | Skipped], kind: str, occasion: str) -> bool:
    return any(isinstance(c, Channel) and c.takes(kind, occasion) for c in channels)
