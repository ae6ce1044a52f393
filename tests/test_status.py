"""The operator's view: `broadcast status` and settling unknown deliveries by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from broadcaster.ledger import Group, Ledger
from tests.commands import broadcast

NOW = datetime(2024, 3, 20, 1, tzinfo=UTC)


def seeded(project: Path) -> Ledger:
    """A ledger with one sent, one retrying, one failed and one unknown delivery."""
    ledger = Ledger(f"sqlite:///{project / 'var/broadcaster.db'}")
    group = Group("closure-2024-03-26", "announce", "telegram")
    ids = {t: c.id for t, c in ledger.claim(group, ["ok", "later", "bad"], None, NOW).items()}
    ledger.mark_sent([(ids["ok"], {"message_id": 1})], NOW)
    ledger.mark_failed([(ids["later"], "HTTP 502", NOW + timedelta(minutes=5))], NOW)
    ledger.mark_failed([(ids["bad"], "chat not found", None)], NOW + timedelta(minutes=1))
    dead = Ledger(ledger.url, worker="elsewhere:1:x", lease=timedelta(seconds=-1))
    claim = dead.claim(Group("closure-2024-03-26", "announce", "mastodon"), ["acct"], None, NOW)
    dead.record(NOW, starting=[claim["acct"].id])  # its attempt began, then the process died
    dead.close()
    ledger.reap()
    return ledger


def test_status_counts_each_state_per_channel(project: Path) -> None:
    seeded(project).close()
    code, output = broadcast("status", "--json")
    data = json.loads(output)
    assert code == 3 and data["exit"] == 3
    telegram = next(c for c in data["channels"] if c["channel"] == "telegram")
    assert (telegram["sent"], telegram["retry"], telegram["failed"], telegram["unknown"]) == (
        1,
        1,
        1,
        0,
    )
    assert telegram["next_attempt_at"] == "2024-03-20T01:05:00+00:00"
    assert telegram["last_error"] == "chat not found"  # the latest of the two
    mastodon = next(c for c in data["channels"] if c["channel"] == "mastodon")
    assert mastodon["unknown"] == 1


def test_status_of_a_healthy_ledger_exits_0(project: Path) -> None:
    code, output = broadcast("run", "--now", "2024-03-20T09:00:00+08:00")
    assert code == 0, output
    code, output = broadcast("status")
    assert code == 0 and "ok" in output


def test_resolving_an_unknown_delivery_as_sent_records_who(project: Path) -> None:
    ledger = seeded(project)
    (unknown,) = ledger.history(state="unknown")
    ledger.close()
    code, output = broadcast("resolve", str(unknown.id), "--sent")
    assert code == 0, output
    code, output = broadcast("history", "--json", "--channel", "mastodon")
    (row,) = [json.loads(line) for line in output.splitlines()]
    assert row["state"] == "sent" and "@" in row["resolved_by"]


def test_resolving_for_a_resend_makes_it_due_now(project: Path) -> None:
    ledger = seeded(project)
    (unknown,) = ledger.history(state="unknown")
    ledger.close()
    code, _ = broadcast("resolve", str(unknown.id), "--resend")  # today, not the pass's clock
    assert code == 0
    ledger = Ledger(f"sqlite:///{project / 'var/broadcaster.db'}")
    group = Group("closure-2024-03-26", "announce", "mastodon")
    assert ledger.claim(group, ["acct"], None, NOW).keys() == {"acct"}  # the next pass takes it
    ledger.close()


def test_resolve_refuses_what_is_not_uncertain(project: Path) -> None:
    ledger = seeded(project)
    (sent,) = ledger.history(state="sent")
    ledger.close()
    code, output = broadcast("resolve", str(sent.id), "--resend")
    assert code == 2 and "only unknown or failed deliveries can be resolved" in output
    code, output = broadcast("resolve", "99999", "--sent")
    assert code == 2 and "no delivery 99999" in output
    code, output = broadcast("resolve", str(sent.id))
    assert code == 2 and "either --sent or --resend" in output
