"""What the command modules share: loading the config (and opening its ledger), the
``--config``, ``--now`` and ``--log-format`` options, the colour of each state, and a table
row shown as plain text. Every command module imports this, never ``cli`` itself.

Only typer and rich here: every command module imports this, and ``broadcast --help`` pays
for what it imports (tests/test_startup.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from broadcaster import console, logs
from broadcaster.console import plain

if TYPE_CHECKING:
    from broadcaster.config import Loaded, Secrets
    from broadcaster.ledger import Ledger


def load_config(path: str | None) -> tuple[Loaded, Secrets]:
    """Load config and secrets; a problem in either raises (the guard prints it, exit 2)."""
    from broadcaster import config as config_module

    secrets = config_module.read_secrets()
    console.hide(secrets.all_values())
    logs.setup(secrets.all_values())
    return config_module.load(path), secrets


def open_ledger(loaded: Loaded, secrets: Secrets) -> Ledger:
    from broadcaster.runtime import open_ledger as open_

    return open_(loaded, secrets)


def parse_now(value: str | None, loaded: Loaded) -> datetime:
    from broadcaster.runtime import parse_now as parse

    return parse(value, loaded)


ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        "-c",
        metavar="FILE",
        help="The YAML config (default: $BROADCAST_CONFIG, else config/broadcaster.yaml).",
    ),
]
NowOpt = Annotated[
    str | None,
    typer.Option(
        "--now",
        metavar="TIME",
        help="Pretend it is this ISO-8601 time, e.g. 2024-03-20T09:00 (the site's time zone "
        "unless an offset is given).",
    ),
]
LogOpt = Annotated[
    str, typer.Option("--log-format", metavar="text|json", help="How log lines are written.")
]
STYLE = {
    "sent": "green",
    "already sent": "dim",
    "failed": "bold red",
    "retry": "yellow",
    "unknown": "bold magenta",
    "skipped": "cyan",
    "stale": "dim",
    "upcoming": "dim",
    "due": "bold",
    "superseded": "dim",
    "in progress": "yellow",
    "deferred": "yellow",
}


def add_row(table: Table, *cells: str | Text) -> None:
    """Cells from the ledger, the config or a platform are shown as typed, never as markup."""
    table.add_row(*(cell if isinstance(cell, Text) else plain(cell) for cell in cells))
