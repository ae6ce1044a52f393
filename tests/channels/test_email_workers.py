"""Several workers, one PostgreSQL ledger: every subscriber gets each notice exactly once,
and the fan-out is shared between the processes rather than done once by each."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcaster.ledger import Ledger
from tests.channels.conftest import SmtpSink
from tests.channels.test_email import (
    NOW,
    SECRET,
    subscribers,
    write_project,
)
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL, reason="needs BROADCAST_TEST_POSTGRES_URL (CI sets it)"
)
SUBSCRIBERS = 5000


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def paced_sink(sink: SmtpSink) -> Iterator[SmtpSink]:
    sink.handler.latency = 0.001  # a little server think-time, so the processes overlap
    yield sink


@pytest.mark.parametrize("ledger_url", ["postgresql"], indirect=True)  # the shared-ledger case
def test_three_processes_share_one_pass_and_nobody_gets_two(
    paced_sink: SmtpSink, root: Path, ledger_url: str
) -> None:
    config = write_project(root, subscribers(SUBSCRIBERS), port=paced_sink.port)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace(f"sqlite:///{root / 'ledger.db'}", ledger_url), encoding="utf-8")
    assert ledger_url in config.read_text(encoding="utf-8")
    Ledger(ledger_url).close()  # the schema exists before the race, as in a deployment
    env = {**os.environ, "BROADCAST_EMAIL_UNSUBSCRIBE_SECRET": SECRET}
    command = [sys.executable, "-m", "broadcaster", "run", "--config", str(config), "--now", NOW]
    workers = [
        subprocess.Popen(
            command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(3)
    ]
    outputs = [w.communicate(timeout=600)[0].decode() for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], "\n".join(outputs)

    received = paced_sink.handler.per_address()
    notices = 1  # the closure (the project's article is not due yet at NOW)
    assert len(received) == SUBSCRIBERS
    assert set(received.values()) == {notices}  # every address: each notice exactly once
    ledger = Ledger(ledger_url)
    try:
        senders = {
            d.claimed_by.split(":")[1] for d in ledger.iter_history(channel="email") if d.claimed_by
        }
        states = {d.state for d in ledger.iter_history(channel="email")}
    finally:
        ledger.close()
    assert states == {"sent"}
    assert len(senders) > 1, "one process did all the work"
