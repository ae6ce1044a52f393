"""Fault storms: a failing channel is cut short, paused, reported, and loses nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from broadcaster.breaker import STREAK_LIMIT, Breaker
from broadcaster.errors import RetryableError
from broadcaster.ledger import Group, Ledger
from tests.test_dispatch import DEMO, Recording, run, statuses


class Down(Recording):
    """Returns 503 until it is healed."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.down = True
        self.attempts = 0
        self.prepared = 0

    async def prepare(self) -> None:  # a real channel asks its server for limits here
        self.prepared += 1

    async def send(self, payload: dict) -> dict:  # type: ignore[type-arg]
        self.attempts += 1
        if self.down:
            raise RetryableError("HTTP 503 Service Unavailable")
        return await super().send(payload)


async def test_a_channel_failing_pass_after_pass_is_paused_then_recovers(project: Path) -> None:
    ledger = Ledger(f"sqlite:///{project / 'var/ledger.db'}")
    down, healthy = Down("down"), Recording("healthy")
    now = DEMO
    for _ in range(STREAK_LIMIT):
        await run(ledger, [down, healthy], now)
        now += timedelta(hours=7)  # every retry is due again, whatever the backoff
    assert len(healthy.sent) == 2  # the healthy channel was never held up
    breaker = Breaker.load(ledger, "down")
    assert breaker.is_open(now - timedelta(hours=7)) and breaker.streak == STREAK_LIMIT
    paused_at = now - timedelta(hours=7) + timedelta(minutes=1)
    attempts, prepared = down.attempts, down.prepared
    report = await run(ledger, [down, healthy], paused_at)
    assert (down.attempts, down.prepared) == (attempts, prepared)  # paused: server left alone
    skipped = [r for r in report.rows if r.channel == "down" and r.status == "deferred"]
    assert skipped and "paused until" in skipped[0].detail
    assert report.exit_code() == 1  # deliveries wait: cron sees it
    down.down = False
    report = await run(ledger, [down, healthy], now)
    assert set(statuses(report, "down").values()) >= {"sent"}
    assert {p["text"][:12] for p in down.sent} == {"Our outlets ", "New on our b"}  # nothing lost
    assert not Breaker.load(ledger, "down").is_open(now)
    ledger.close()


def more_closures(project: Path) -> None:
    config = project / "config/broadcaster.yaml"
    extra = "".join(
        f'  - start: 2024-03-{day}\n    reason: "staff training {day}"\n    outlets: ["Orchard"]\n'
        for day in (21, 22, 23, 24)
    )
    config.write_text(config.read_text().replace("\narticles:", "\n" + extra + "articles:", 1))


async def test_a_storm_inside_one_pass_stops_after_a_few_jobs(project: Path) -> None:
    more_closures(project)
    ledger = Ledger(f"sqlite:///{project / 'var/ledger.db'}")
    down = Down("down")
    report = await run(ledger, [down], DEMO)
    rows = [r for r in report.rows if r.channel == "down" and r.occasion in ("announce", "publish")]
    attempted = [r for r in rows if r.status == "retry"]
    skipped = [r for r in rows if r.status == "deferred"]
    assert len(attempted) == 3 and len(skipped) == 3  # 6 due: 3 tried, the rest wait
    assert all("failing in this pass" in r.detail for r in skipped)
    assert report.exit_code() == 1
    ledger.close()


async def test_deliveries_left_in_doubt_by_an_earlier_pass_are_not_a_storm(project: Path) -> None:
    more_closures(project)
    ledger = Ledger(f"sqlite:///{project / 'var/ledger.db'}")
    due = [
        (r.notice_id, r.occasion)
        for r in (await run(ledger, [Recording("social")], DEMO, dry_run=True)).rows
        if r.channel == "social" and r.status == "due"
    ]
    crashed = Ledger(ledger.url, worker="gone-host:1:x", lease=timedelta(seconds=-1))
    for notice_id, occasion in due[:3]:  # a process died while posting these three
        claim = crashed.claim(Group(notice_id, occasion, "social"), ["social"], None, DEMO)
        crashed.record(DEMO, starting=[claim["social"].id])
    crashed.close()
    social = Recording("social")
    report = await run(ledger, [social], DEMO)
    found = statuses(report, "social")
    assert [found[job] for job in due] == ["unknown"] * 3 + ["sent"] * (len(due) - 3)
    assert len(social.sent) == len(due) - 3  # the rest went out: nothing was deferred
    ledger.close()
