"""``broadcast db``: the ledger's schema, for operators who migrate by hand.

Every command migrates on open by itself (under a lock, so several starting together is
safe); these are for a deploy step that migrates before the workers start, and for checking
which revision a ledger is at. Exit status: 0 done, 2 the config or the database is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from broadcaster.cli_common import ConfigOpt
from broadcaster.console import GuardedGroup, out, plain

if TYPE_CHECKING:  # the ledger (SQLAlchemy) is loaded by the command that runs, not by --help
    from broadcaster.ledger import Ledger

db_app = typer.Typer(
    cls=GuardedGroup,
    no_args_is_help=True,
    help="The ledger's schema: which revision, and upgrading it.",
)


@db_app.command("current")
def current(config: ConfigOpt = None) -> None:
    """Which schema revision the ledger is at, and the newest this version knows."""
    from broadcaster.ledger.migrations import HEAD

    revision = _with_ledger(config, lambda ledger: ledger.schema_revision())
    if revision == HEAD:
        out.print(plain(f"{revision} (the newest)"))
    else:
        found = revision or "none (a new ledger, or one from before migrations)"
        out.print(plain(f"{found}; the newest is {HEAD}: run `broadcast db upgrade`"))


@db_app.command("upgrade")
def upgrade(config: ConfigOpt = None) -> None:
    """Bring the ledger to the newest revision (under the migration lock; idempotent)."""
    from broadcaster.ledger.migrations import HEAD

    found = _with_ledger(config, lambda ledger: ledger.migrate())
    if found == HEAD:
        out.print(plain(f"already at {HEAD} (the newest)"))
    else:
        out.print(plain(f"upgraded from {found or 'none'} to {HEAD}"))


def _with_ledger(config: str | None, work: Callable[[Ledger], str | None]) -> str | None:
    """Open the ledger without migrating it, do ``work`` (a SetupError is one line, exit 2:
    the CLI's guard)."""
    from broadcaster.cli_common import load_config
    from broadcaster.runtime import open_ledger

    loaded, secrets = load_config(config)
    ledger = open_ledger(loaded, secrets, migrate=False)
    try:
        return work(ledger)
    finally:
        ledger.close()
