"""`broadcast` as the tests run it: in process, its exit code and everything it printed."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from broadcaster.cli import app


def broadcast(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def history() -> list[dict[str, Any]]:
    """Every delivery in the ledger, newest first, as ``history --json`` prints them."""
    code, output = broadcast("history", "--json", "--limit", "1000")
    assert code == 0, output
    return [json.loads(line) for line in output.splitlines()]
