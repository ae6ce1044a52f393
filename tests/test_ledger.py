"""The ledger: a delivery is claimed once, recorded once, and a crash leaves it visible."""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from broadcaster.ledger import Claim, Group, Ledger

NOW = datetime(2024, 3, 20, 1, 0, tzinfo=UTC)
GROUP = Group("closure-2024-03-26", "announce", "email")


def test_a_claimed_delivery_cannot_be_claimed_again(ledger: Ledger) -> None:
    first = ledger.claim(GROUP, ["a@x.example", "b@x.example"], None, NOW)
    assert set(first) == {"a@x.example", "b@x.example"}
    assert ledger.claim(GROUP, ["a@x.example", "b@x.example", "c@x.example"], None, NOW).keys() == {
        "c@x.example"
    }


def test_sent_is_final(ledger: Ledger) -> None:
    claim = ledger.claim(GROUP, ["a@x.example"], None, NOW)["a@x.example"]
    ledger.mark_sent([(claim.id, {"message_id": "<1@x>"})], NOW)
    assert ledger.claim(GROUP, ["a@x.example"], None, NOW + timedelta(days=1)) == {}
    (row,) = ledger.history()
    assert (row.state, row.receipt, row.updated_at) == ("sent", {"message_id": "<1@x>"}, NOW)


def test_retry_is_claimable_again_only_when_due(ledger: Ledger) -> None:
    claim = ledger.claim(GROUP, ["a@x.example"], None, NOW)["a@x.example"]
    ledger.mark_failed([(claim.id, "421 try later", NOW + timedelta(minutes=5))], NOW)
    assert ledger.claim(GROUP, ["a@x.example"], None, NOW + timedelta(minutes=4)) == {}
    again = ledger.claim(GROUP, ["a@x.example"], None, NOW + timedelta(minutes=5))["a@x.example"]
    assert again.id == claim.id and again.attempts == 2


def test_permanent_failure_is_never_claimed_again(ledger: Ledger) -> None:
    claim = ledger.claim(GROUP, ["a@x.example"], None, NOW)["a@x.example"]
    ledger.mark_failed([(claim.id, "550 no such user", None)], NOW)
    assert ledger.claim(GROUP, ["a@x.example"], None, NOW + timedelta(days=9)) == {}
    assert ledger.history()[0].state == "failed"
    assert ledger.history()[0].error == "550 no such user"


def _start(ledger: Ledger, claim: Claim) -> None:
    ledger.record(NOW, starting=[claim.id])


def test_an_attempt_whose_lease_ran_out_becomes_unknown_and_is_not_resent(ledger_url: str) -> None:
    crashed = Ledger(ledger_url, worker="otherhost:1:abc", lease=timedelta(seconds=-1))
    _start(crashed, crashed.claim(GROUP, ["a@x.example"], None, NOW)["a@x.example"])
    crashed.close()
    survivor = Ledger(ledger_url)
    try:
        assert survivor.reap() == 1
        assert survivor.history()[0].state == "unknown"
        assert survivor.claim(GROUP, ["a@x.example"], None, NOW) == {}
    finally:
        survivor.close()


def test_claims_a_dead_process_never_started_are_released_and_sent_by_the_next(
    ledger_url: str,
) -> None:
    crashed = Ledger(ledger_url, worker="otherhost:1:abc", lease=timedelta(seconds=-1))
    claims = crashed.claim(GROUP, ["a@x.example", "b@x.example"], None, NOW)
    _start(crashed, claims["a@x.example"])  # b was claimed with it but never tried
    crashed.close()
    survivor = Ledger(ledger_url)
    try:
        assert survivor.reap() == 2
        states = {d.target: d.state for d in survivor.history()}
        assert states == {"a@x.example": "unknown", "b@x.example": "retry"}
        again = survivor.claim(GROUP, ["a@x.example", "b@x.example"], None, NOW)
        assert again.keys() == {"b@x.example"}
        assert again["b@x.example"].attempts == 1  # the released claim was not an attempt
    finally:
        survivor.close()


def test_a_claim_of_a_dead_process_on_this_host_is_reaped_at_once(ledger_url: str) -> None:
    import socket
    import subprocess

    child = subprocess.Popen(["true"])
    child.wait()
    ghost = Ledger(ledger_url, worker=f"{socket.gethostname()}:{child.pid}:ghost")
    _start(ghost, ghost.claim(GROUP, ["a@x.example"], None, NOW)["a@x.example"])
    ghost.close()
    live = Ledger(ledger_url)
    try:
        assert live.reap() == 1
        assert live.history()[0].state == "unknown"
    finally:
        live.close()


def test_a_live_claim_is_left_alone(ledger: Ledger, ledger_url: str) -> None:
    claims = ledger.claim(GROUP, ["a@x.example", "b@x.example"], None, NOW)
    _start(ledger, claims["a@x.example"])
    other = Ledger(ledger_url)
    try:
        assert other.reap() == 0
        assert {d.target: d.state for d in other.history()} == {
            "a@x.example": "sending",
            "b@x.example": "claimed",
        }
        assert other.claim(GROUP, ["a@x.example", "b@x.example"], None, NOW) == {}
    finally:
        other.close()


def test_an_unknown_attempt_is_taken_over_only_within_the_channels_safe_window(
    ledger: Ledger, ledger_url: str
) -> None:
    crashed = Ledger(ledger_url, worker="otherhost:1:abc", lease=timedelta(seconds=-1))
    _start(crashed, crashed.claim(GROUP, ["a@x.example"], None, NOW)["a@x.example"])
    crashed.close()
    ledger.reap()
    attempted = datetime.now(UTC)
    too_late = ledger.claim(
        GROUP, ["a@x.example"], None, NOW, unknown_since=attempted + timedelta(minutes=1)
    )
    assert too_late == {}
    assert ledger.claim(GROUP, ["a@x.example"], None, NOW) == {}  # no window: never
    within = ledger.claim(
        GROUP, ["a@x.example"], None, NOW, unknown_since=attempted - timedelta(minutes=55)
    )
    assert within["a@x.example"].uncertain and within["a@x.example"].attempts == 2
    assert ledger.history()[0].state == "claimed"


def test_a_ledger_made_before_a_column_existed_gets_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = sa.create_engine(url)
    with old.begin() as conn:
        conn.execute(sa.text("CREATE TABLE kv (key VARCHAR(200) PRIMARY KEY, value TEXT)"))
    old.dispose()
    ledger = Ledger(url)
    try:
        columns = {c["name"] for c in sa.inspect(ledger.engine).get_columns("kv")}
        assert columns == {"key", "value", "updated_at"}
        ledger.set_value("k", "v")
        assert ledger.get_value("k") == "v"
    finally:
        ledger.close()


def test_forced_resends_use_a_new_sequence_number(ledger: Ledger) -> None:
    claim = ledger.claim(GROUP, ["site"], None, NOW)["site"]
    ledger.mark_sent([(claim.id, {})], NOW)
    assert ledger.max_seq(GROUP.notice_id, GROUP.occasion, GROUP.channel) == 0
    forced = Group(GROUP.notice_id, GROUP.occasion, GROUP.channel, seq=1)
    assert ledger.claim(forced, ["site"], None, NOW).keys() == {"site"}
    assert ledger.max_seq(GROUP.notice_id, GROUP.occasion, GROUP.channel) == 1


def test_holding_finds_targets_with_any_delivery_of_the_other_messages(ledger: Ledger) -> None:
    """The email channel's guard: who already has a notice's message in another language."""
    chinese = Group("closure-2024-03-26.zh", "announce", "email")
    ledger.claim(chinese, ["wei@x.example", "mei@x.example"], None, NOW)  # claimed is enough
    failed = ledger.claim(GROUP, ["bad@x.example"], None, NOW)["bad@x.example"]
    ledger.mark_failed([(failed.id, "550 no such user", None)], NOW)
    ledger.claim(Group("closure-2024-03-26.zh", "remind", "email"), ["ann@x.example"], None, NOW)
    ledger.claim(Group("closure-2024-03-26.zh", "announce", "telegram"), ["c@x.example"], None, NOW)
    asked = ["wei@x.example", "bad@x.example", "ann@x.example", "c@x.example", "new@x.example"]

    held = ledger.holding(
        [("closure-2024-03-26.zh", "announce"), (GROUP.notice_id, "announce")], "email", asked
    )

    assert held == {"wei@x.example"}  # not another occasion or channel, nor what failed
    assert ledger.holding([], "email", asked) == set()


def test_renders_are_stored_once_and_the_first_wins(ledger: Ledger) -> None:
    first = ledger.stored_render(GROUP, "fp1", {"text": "first"})
    second = ledger.stored_render(GROUP, "fp1", {"text": "second"})
    assert first is not None and second is not None
    assert first == second and second[1] == {"text": "first"}
    assert ledger.stored_render(GROUP, "fp2", None) is None


def test_history_pages_newest_first(ledger: Ledger) -> None:
    ledger.claim(GROUP, [f"r{i}@x.example" for i in range(25)], None, NOW)
    page1 = ledger.history(limit=10)
    page2 = ledger.history(limit=10, before_id=page1[-1].id)
    assert len(page1) == len(page2) == 10
    assert page1[0].id > page1[-1].id > page2[0].id
    assert sum(1 for _ in ledger.iter_history(page=7)) == 25
    assert ledger.counts() == {"email": {"claimed": 25}}


def test_key_value_store(ledger: Ledger) -> None:
    assert ledger.get_value("bluesky.session") is None
    ledger.set_value("bluesky.session", "a")
    ledger.set_value("bluesky.session", "b")
    assert ledger.get_value("bluesky.session") == "b"


def _race(
    url: str,
    targets: list[str],
    start: multiprocessing.synchronize.Event,
    out: multiprocessing.Queue,
) -> None:  # type: ignore[type-arg]
    ledger = Ledger(url)
    start.wait()
    won: list[str] = []
    for target in targets:
        won.extend(ledger.claim(GROUP, [target], None, NOW))
    out.put((os.getpid(), won))
    ledger.close()


def test_processes_racing_for_the_same_deliveries_each_win_distinct_ones(ledger_url: str) -> None:
    processes = 3
    Ledger(ledger_url).close()  # create the schema first, as a running deployment has it
    targets = [f"r{i}@x.example" for i in range(40)]
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=_race, args=(ledger_url, targets, start, out)) for _ in range(processes)
    ]
    for w in workers:
        w.start()
    start.set()
    results = [out.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    won = [t for _pid, ts in results for t in ts]
    assert sorted(won) == sorted(targets)  # every delivery claimed exactly once overall
    assert len(set(won)) == len(won)
