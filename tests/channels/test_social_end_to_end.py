"""Telegram, Mastodon and Bluesky configured against their fakes, driven through `broadcast`.

The README's promise for the social channels: the closure and the article go out once on
each; a second run posts nothing; an outage of one platform delays only that platform.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from broadcaster.ledger import Ledger
from broadcaster.ledger.schema import deliveries
from tests.commands import broadcast, history
from tests.fakes.base import FakeService
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.conftest import running
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.support import Fakes, configure
from tests.fakes.telegram import FakeTelegram

DEMO_NOW = "2024-03-20T09:00:00+08:00"
LATER = "2024-03-20T09:10:00+08:00"  # after the first next-attempt time (1 minute)
CLOSURE_START = "Our outlets will be closed from 26 Mar (Tue) to 27 Mar (Wed)"


@pytest.fixture
def fakes(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fakes]:
    with (
        running(FakeTelegram()) as tg,
        running(FakeMastodon()) as masto,
        running(FakeBluesky()) as bsky,
    ):
        found = Fakes(tg, masto, bsky)
        configure(project, found)
        for name, value in found.secrets().items():
            monkeypatch.setenv(name, value)
        yield found


def test_a_run_posts_the_closure_and_the_article_once_on_each(fakes: Fakes) -> None:
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    assert fakes.counts() == (2, 2, 2)
    tg_closure, tg_article = fakes.tg.fake.sent
    assert tg_closure["method"] == "sendMessage" and tg_closure["parse_mode"] == "HTML"
    assert tg_closure["text"].startswith(
        CLOSURE_START.replace("26 Mar (Tue)", "<b>26 Mar (Tue)</b>")[:42]
    )
    assert tg_article["method"] == "sendPhoto"  # the feed's article has an image
    assert tg_article["caption"].startswith("<b>New on our blog: Can Botox Treat Depression?")
    statuses = [s["params"]["status"] for s in fakes.masto.fake.statuses]
    assert statuses[0].startswith(CLOSURE_START) and statuses[1].startswith("New on our blog")
    article = fakes.bsky.fake.posts[1]["record"]
    assert article["langs"] == ["en"] and article["embed"]["external"]["uri"].startswith("https://")
    assert len(article["facets"]) == 1 and fakes.bsky.fake.facet_mismatches == []

    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    assert fakes.counts() == (2, 2, 2)
    assert fakes.bsky.fake.login_count == 1  # the second run reused the stored session
    sent = [(r["channel"], r["state"]) for r in history() if r["channel"] != "email"]
    assert sorted(sent) == sorted(
        [(ch, "sent") for ch in ("telegram", "mastodon", "bluesky") for _ in range(2)]
        + [("banner", "sent")] * 2  # the state it shows, and the closure's first appearance
    )


def test_an_outage_delays_only_that_platform_until_the_next_run(fakes: Fakes) -> None:
    fakes.tg.fake.fail_with_5xx(502, times=None)
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 1  # something is left to retry
    assert fakes.counts() == (0, 2, 2)
    assert "HTTP 502 Bad Gateway" in output
    waiting = [r for r in history() if r["channel"] == "telegram"]
    assert {r["state"] for r in waiting} == {"retry"}
    assert all(r["next_attempt_at"] and "Bad Gateway" in str(r["error"]) for r in waiting)

    fakes.tg.fake.clear_faults()
    code, output = broadcast("run", "--now", LATER)
    assert code == 0, output
    assert fakes.counts() == (2, 2, 2)
    assert {r["state"] for r in history() if r["channel"] == "telegram"} == {"sent"}


def test_a_lost_mastodon_reply_does_not_post_twice(fakes: Fakes) -> None:
    fakes.masto.fake.fail_after_create(then="drop")
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output  # retried within the run with the same Idempotency-Key
    assert len(fakes.masto.fake.statuses) == 2
    keys = [s["idempotency_key"] for s in fakes.masto.fake.statuses]
    assert len(set(keys)) == 2


def test_a_rate_limited_platform_is_retried_within_the_run(fakes: Fakes) -> None:
    fakes.tg.fake.fail_with_429(retry_after=3, times=1)
    fakes.bsky.fake.fail_with_429(retry_after=3, times=1, on="createRecord")
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    assert fakes.counts() == (2, 2, 2)


def test_channels_check_verifies_every_credential_without_posting(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = broadcast("channels", "check")
    assert code == 0, output
    assert "bot @broadcaster_bot can see channel 'Glow Aesthetics'" in output
    assert "token of @glowaesthetics" in output and "logged in as glowaesthetics" in output
    assert fakes.counts() == (0, 0, 0)
    monkeypatch.setenv("BROADCAST_MASTODON_TOKEN", "expired")
    code, output = broadcast("channels", "check")
    assert code == 1 and "The access token is invalid" in output


def test_plan_shows_each_message_against_its_platforms_limit(fakes: Fakes) -> None:
    code, output = broadcast("plan", "--now", DEMO_NOW)
    assert code == 0, output
    assert "/4096" in output and "/500" in output and "/300" in output
    assert fakes.counts() == (0, 0, 0)


def test_without_secrets_the_social_channels_are_skipped(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in fakes.secrets():
        monkeypatch.delenv(name)
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    assert "BROADCAST_TELEGRAM_TOKEN is not set" in output
    assert fakes.counts() == (0, 0, 0)


def test_a_moved_closure_is_corrected_by_editing_where_the_platform_can(
    fakes: Fakes, project: Path
) -> None:
    config = project / "config/broadcaster.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("database:", "lifecycle:\n  corrections: edit\ndatabase:", 1))
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("end: 2024-03-27", "end: 2024-03-28", 1))
    code, output = broadcast("run", "--now", "2024-03-21T09:00:00+08:00")
    assert code == 0, output
    assert [s["method"] for s in fakes.tg.fake.sent][-1] == "editMessageText"
    assert "28 Mar" in fakes.tg.fake.messages[(-1001234567890, 1)]["text"]
    assert len(fakes.masto.fake.statuses) == 2 and fakes.masto.fake.statuses[0].get("edits")
    assert len(fakes.bsky.fake.posts) == 3  # Bluesky cannot edit: a correction is a new post
    assert fakes.bsky.fake.posts[-1]["record"]["text"].startswith("Update:")


def test_validate_warns_about_a_message_too_long_for_a_platform(
    fakes: Fakes, project: Path
) -> None:
    config = project / "config/broadcaster.yaml"
    text = config.read_text(encoding="utf-8")
    long = "How relaxing the frown muscles may lift mood. " * 7  # ~320 characters
    config.write_text(text.replace("How relaxing the frown muscles may lift mood.", long, 1))
    code, output = broadcast("validate", "--now", DEMO_NOW)
    assert code == 0, output
    assert "article-botox-depression publish on bluesky:" in output
    assert "> limit 300, will be shortened" in output
    assert "on mastodon" not in output and "on telegram" not in output  # 500 and 4096 fit
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    posted = fakes.bsky.fake.posts[-1]["record"]["text"]
    assert posted.endswith("…\n\nhttps://www.glow-aesthetics.example/blog/botox-depression/")


# -- a run killed while a post was in flight ------------------------------------------------


#: what the example config's run leaves in the ledger, per channel, when all went out
EVERYTHING_SENT = {"banner": 2, "email": 12, "telegram": 2, "mastodon": 2, "bluesky": 2}


def run_killed_while_posting(project: Path, channel: str, fake: FakeService) -> None:
    """Start `broadcast run`, let the platform create the closure's post on ``channel`` but hold
    its reply, wait until every other channel is done, and SIGKILL the process then: that one
    delivery's outcome is unknown to the ledger."""
    fake.fail_after_create(then="delay", seconds=60)  # type: ignore[attr-defined]
    command = [sys.executable, "-c", "from broadcaster.cli import main; main()"]
    process = subprocess.Popen(
        [*command, "run", "--now", DEMO_NOW], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    others = {c: {"sent": n} for c, n in EVERYTHING_SENT.items() if c != channel}
    try:
        deadline = time.monotonic() + 60
        while not _only_held(project, channel, others):
            assert process.poll() is None, "the run ended before its post was in flight"
            assert time.monotonic() < deadline, "the run never got there"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    fake.clear_faults()


def _only_held(project: Path, channel: str, others: dict[str, dict[str, int]]) -> bool:
    ledger = Ledger(f"sqlite:///{project / 'var/broadcaster.db'}")
    try:
        counts = ledger.counts()
    finally:
        ledger.close()
    held = counts.pop(channel, {})
    return counts == others and held == {"sending": 1}


def delivery(channel: str, occasion: str = "announce") -> dict[str, Any]:
    (row,) = [r for r in history() if r["channel"] == channel and r["occasion"] == occasion]
    return row


def test_mastodon_settles_an_unknown_post_itself_with_the_same_idempotency_key(
    fakes: Fakes, project: Path
) -> None:
    run_killed_while_posting(project, "mastodon", fakes.masto.fake)
    (created,) = fakes.masto.fake.statuses

    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    statuses = fakes.masto.fake.statuses
    assert len(statuses) == 2  # the closure once (replayed by its key), then the article
    closure = delivery("mastodon")
    assert closure["state"] == "sent" and closure["attempts"] == 2
    assert closure["receipt"]["id"] == created["id"]
    assert closure["receipt"]["settled_unknown"] == "repeated safely on mastodon"
    keys = [r["headers"].get("idempotency-key") for r in fakes.masto.fake.requests]
    assert keys.count(created["idempotency_key"]) == 2  # the killed attempt, and the repeat


def test_mastodon_leaves_an_unknown_post_older_than_an_hour_to_a_person(
    fakes: Fakes, project: Path
) -> None:
    run_killed_while_posting(project, "mastodon", fakes.masto.fake)
    ledger = Ledger(f"sqlite:///{project / 'var/broadcaster.db'}")
    try:
        ledger.reap()  # what the next pass would do first; then an hour goes by
        with ledger.engine.begin() as conn:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.channel == "mastodon")
                .values(attempted_at=datetime.now(UTC) - timedelta(minutes=61))
            )
    finally:
        ledger.close()

    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 1, output  # something is in doubt
    assert len(fakes.masto.fake.statuses) == 2  # the killed attempt's post, and the article
    assert delivery("mastodon")["state"] == "unknown"  # the key may have expired: not resent
    code, output = broadcast("status")
    assert code == 3 and "unknown" in output


def test_bluesky_settles_an_unknown_post_by_looking_for_its_record_key_first(
    fakes: Fakes, project: Path
) -> None:
    run_killed_while_posting(project, "bluesky", fakes.bsky.fake)
    (created,) = fakes.bsky.fake.posts
    fakes.bsky.fake.requests.clear()

    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    assert len(fakes.bsky.fake.posts) == 2  # the closure once, then the article
    closure = delivery("bluesky")
    assert closure["state"] == "sent" and closure["receipt"]["found"] is True
    assert closure["receipt"]["uri"] == created["uri"]
    paths = [r["path"].rpartition(".")[2] for r in fakes.bsky.fake.requests]
    assert paths.index("getRecord") < paths.index("createRecord")  # looked before posting
