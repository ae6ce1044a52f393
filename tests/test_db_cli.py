"""``broadcast db``: which schema revision a ledger is at, and upgrading it by hand."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from broadcaster.ledger.migrations import HEAD
from tests.commands import broadcast

LEGACY = Path(__file__).parent / "ledger/data/ledger-0.1.0.sqlite"


def test_a_ledger_from_0_1_0_is_upgraded_by_hand_once(project: Path) -> None:
    (project / "var").mkdir()
    shutil.copy(LEGACY, project / "var/broadcaster.db")
    assert broadcast("db", "current") == (
        0,
        f"none (a new ledger, or one from before migrations); the newest is {HEAD}: "
        "run `broadcast db upgrade`\n",
    )
    assert broadcast("db", "upgrade") == (0, f"upgraded from none to {HEAD}\n")
    assert broadcast("db", "current") == (0, f"{HEAD} (the newest)\n")
    assert broadcast("db", "upgrade") == (0, f"already at {HEAD} (the newest)\n")
    code, output = broadcast("history", "--json", "--limit", "100")
    assert code == 0 and len(output.splitlines()) == 13


def test_a_database_that_cannot_be_used_is_one_line_and_exit_2(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROADCAST_DATABASE_URL", "mysql://root:hunter2@db.example/clinic")
    code, output = broadcast("db", "upgrade")
    assert code == 2
    assert output == (
        "error BROADCAST_DATABASE_URL: 'mysql://' is not a database broadcaster works with "
        "(for example sqlite:///var/broadcaster.db or postgresql://user@host/dbname)\n"
    )
