"""``broadcast subscribers``: the subscribers kept in the ledger database.

Those who signed up through ``broadcast serve`` (double opt-in) and those imported from a
CSV. The CSV of ``channels.email.subscribers`` stays a list source of its own; importing it
is only needed to manage everyone in one place.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.table import Table

from broadcaster.cli_common import ConfigOpt
from broadcaster.console import GuardedGroup, out, plain, warning
from broadcaster.errors import SetupError

if TYPE_CHECKING:  # loaded by the command that runs, not by --help
    from broadcaster.config import Loaded
    from broadcaster.language_match import LanguageMatch
    from broadcaster.ledger import Ledger
    from broadcaster.ledger.subscribers import Subscriber, SubscriberBook

subscribers_app = typer.Typer(
    cls=GuardedGroup,
    no_args_is_help=True,
    help="Email subscribers kept in the ledger database (sign-ups and imports).",
)
LANGUAGE_LENGTH = 16  # the book's language column
EXPORT_COLUMNS = (
    "email",
    "name",
    "language",
    "status",
    "topics",
    "source",
    "created_at",
    "confirmed_at",
)


def _ledger(config: str | None) -> Ledger:
    return _open(config)[1]


def _open(config: str | None) -> tuple[Loaded, Ledger]:
    from broadcaster.cli_common import load_config
    from broadcaster.runtime import open_ledger

    loaded, secrets = load_config(config)
    return loaded, open_ledger(loaded, secrets)


@subscribers_app.command("list")
def list_subscribers(
    config: ConfigOpt = None,
    status: Annotated[
        str | None, typer.Option(metavar="STATUS", help="Only pending or confirmed")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines, one subscriber each")
    ] = False,
) -> None:
    """Who is subscribed in the database, and how they joined."""
    from broadcaster.ledger.subscribers import SubscriberBook

    if status not in (None, "pending", "confirmed"):
        raise SetupError("--status", f"{status!r}: say pending or confirmed")
    ledger = _ledger(config)
    try:
        rows = list(SubscriberBook(ledger.engine).rows(status))  # type: ignore[arg-type]
    finally:
        ledger.close()
    if as_json:
        for row in rows:
            out.print_json(json.dumps(_record(row)), indent=None)
        return
    table = Table("email", "name", "language", "status", "topics", "source", "since")
    for row in rows:
        since = (row.confirmed_at or row.created_at).isoformat(timespec="seconds")
        cells = (row.address, row.name, row.language or "", row.status, row.topics, row.source)
        table.add_row(*(plain(cell) for cell in (*cells, since)))
    out.print(table)
    out.print(plain(f"{len(rows)} subscribers"))


@subscribers_app.command("import")
def import_subscribers(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="A CSV with email, name and language columns"),
    ],
    config: ConfigOpt = None,
) -> None:
    """Add a CSV's subscribers as confirmed (you vouch for their consent).

    Invalid rows are skipped and listed; existing subscribers are left as they are."""
    from broadcaster import subscribers as csv_list
    from broadcaster.language_match import LanguageMatch
    from broadcaster.ledger.subscribers import SubscriberBook

    try:
        rows = list(csv_list.read(file))
    except csv_list.SubscribersError as exc:
        raise SetupError(str(file), str(exc).removeprefix(f"{file}: ")) from None
    invalid = [r for r in rows if isinstance(r, csv_list.Invalid)]
    for problem in invalid[:20]:
        warning(f"{file}: {problem}, skipped")
    loaded, ledger = _open(config)
    readers = LanguageMatch(loaded.config.site.all_languages)
    valid = [
        (r.key, r.name, _language(readers, r.language))
        for r in rows
        if isinstance(r, csv_list.Subscriber)
    ]
    try:
        book = SubscriberBook(ledger.engine)
        added, kept = book.import_rows(valid, f"import:{file.name}", datetime.now(UTC))
    finally:
        ledger.close()
    out.print(
        plain(f"imported {file}: {added} added, {kept} already there, {len(invalid)} invalid"),
        soft_wrap=True,
    )


@subscribers_app.command("export")
def export_subscribers(
    file: Annotated[
        Path | None, typer.Argument(metavar="[FILE]", help="Write here (default: the terminal)")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Every subscriber in the database as CSV (email, name, language, status, ...)."""
    from broadcaster.ledger.subscribers import SubscriberBook

    ledger = _ledger(config)
    try:
        book = SubscriberBook(ledger.engine)
        if file is None:
            _write_csv(book, sys.stdout)
            return
        with file.open("w", newline="", encoding="utf-8") as handle:
            count = _write_csv(book, handle)
    finally:
        ledger.close()
    out.print(plain(f"wrote {count} subscribers to {file}"))


@subscribers_app.command("remove")
def remove_subscriber(
    address: Annotated[str, typer.Argument(metavar="ADDRESS", help="The subscriber to remove")],
    config: ConfigOpt = None,
) -> None:
    """Take an address off the database list (they may sign up again).

    To make sure an address never gets email again, use `broadcast unsubscribe`."""
    from broadcaster import subscribers as csv_list
    from broadcaster.ledger.subscribers import SubscriberBook

    try:
        key = csv_list.normalise(address)
    except ValueError as exc:
        raise SetupError("ADDRESS", str(exc)) from None
    ledger = _ledger(config)
    try:
        removed = SubscriberBook(ledger.engine).remove(key)
    finally:
        ledger.close()
    if not removed:
        raise SetupError("ADDRESS", f"{key} is not in the database list")
    out.print(plain(f"removed {key}"))


def _language(readers: LanguageMatch, written: str) -> str | None:
    """A list's language as kept in the book: the site language it names (``Chinese`` ->
    ``zh``), else as written if it fits (a language the site may add later), else none."""
    if not written:
        return None
    return readers.match(written) or (written if len(written) <= LANGUAGE_LENGTH else None)


def _write_csv(book: SubscriberBook, handle: TextIO) -> int:
    writer = csv.writer(handle)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in book.rows():
        record = _record(row)
        writer.writerow([record[column] or "" for column in EXPORT_COLUMNS])
        count += 1
    return count


def _record(row: Subscriber) -> dict[str, str | None]:
    return {
        "email": row.address,
        "name": row.name,
        "language": row.language,
        "status": row.status,
        "topics": row.topics,
        "source": row.source,
        "created_at": row.created_at.isoformat(timespec="seconds"),
        "confirmed_at": row.confirmed_at.isoformat(timespec="seconds")
        if row.confirmed_at
        else None,
    }
