"""Five ``broadcast run`` processes started at once on a fresh ledger: one creates the tables
(under the migration lock), the others wait for it, and every message still goes out once."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from collections import Counter
from email.utils import getaddresses
from pathlib import Path

from broadcaster.ledger import Ledger

RUN = [sys.executable, "-m", "broadcaster", "run", "--now", "2024-03-20T09:00:00+08:00"]


def _start_five(project: Path, url: str) -> list[subprocess.CompletedProcess[str]]:
    env = {**os.environ, "BROADCAST_DATABASE_URL": url, "COLUMNS": "200"}
    processes = [
        subprocess.Popen(
            RUN, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(5)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in processes]  # a safety net, not a measure
    return [
        subprocess.CompletedProcess(p.args, p.returncode, out)
        for p, out in zip(processes, outputs, strict=True)
    ]


def _recipients(maildir: Path) -> Counter[tuple[str, str]]:
    """(recipient, subject) of every message written, counted."""
    seen: Counter[tuple[str, str]] = Counter()
    for path in (maildir / "new").iterdir():
        message = email.message_from_bytes(path.read_bytes())
        for _name, address in getaddresses(message.get_all("To", [])):
            seen[(address, str(message["Subject"]))] += 1
    return seen


def test_five_runs_started_together_on_a_fresh_ledger_each_deliver_once(
    project: Path, ledger_url: str
) -> None:
    results = _start_five(project, ledger_url)
    for result in results:
        assert result.returncode == 0, result.stdout
        assert "Traceback" not in result.stdout
    sent_mail = _recipients(project / "var/outbox")
    ledger = Ledger(ledger_url)
    try:
        rows = ledger.history(limit=1000)
    finally:
        ledger.close()
    mail_rows = [d for d in rows if d.channel == "email"]
    assert {d.state for d in rows} == {"sent"}
    assert set(sent_mail.values()) == {1}  # nobody got any message twice
    assert len(sent_mail) == len(mail_rows) == 12  # 6 subscribers x 2 notices due that morning
