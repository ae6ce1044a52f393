"""Migrations: a new ledger is made at the newest schema, an old one is taken over without
losing a row, and opening an up-to-date one costs a single query."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from broadcaster.errors import SetupError
from broadcaster.ledger import Ledger, make_engine
from broadcaster.ledger.migrations import HEAD, baseline
from broadcaster.ledger.migrations.runner import alembic_config, migration_lock, revisions
from broadcaster.ledger.schema import metadata

DATA = Path(__file__).parent / "data"
#: made by the code they are named after, before migrations existed (see the commit adding
#: them): rows per table, and what each lacks of today's schema
RELEASED = {
    # `broadcast run --now 2024-03-20T09:00:00+08:00` on the example config, then
    # `broadcast unsubscribe gone@patient.example`: today's tables, with no version stamp
    "ledger-0.1.0.sqlite": (
        {"deliveries": 13, "renders": 3, "kv": 4, "suppressions": 1},
        [],
    ),
    # commit 1f9463e's Ledger API
    "ledger-1f9463e.sqlite": (
        {"deliveries": 4, "renders": 1, "kv": 1},
        [
            "add_table suppressions",
            "add_column attempted_at",
            "add_column resolved_by",
            "add_column resolved_at",
            "add_index ix_deliveries_notice",
        ],
    ),
}


def _differences(url: str, against: sa.MetaData = metadata) -> list[str]:
    """What Alembic's autogenerate would change to make the database match ``against``
    (schema.metadata: today's tables), as "what name" (the table, column or index)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found = compare_metadata(MigrationContext.configure(conn), against)
    finally:
        engine.dispose()
    return [f"{diff[0]} {getattr(diff[-1], 'name', diff[-1])}" for diff in found]


def _rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


@pytest.fixture
def opened(ledger_url: str) -> Iterator[Ledger]:
    ledger = Ledger(ledger_url)
    yield ledger
    ledger.close()


def test_head_is_the_newest_revision_shipped() -> None:
    assert revisions()[0] == HEAD


def test_a_new_ledger_is_made_exactly_as_the_code_describes_it(
    opened: Ledger,
) -> None:
    assert opened.schema_revision() == HEAD
    assert _differences(opened.url) == []


def test_the_revisions_run_from_nothing_make_exactly_what_a_new_ledger_is_made_with(
    ledger_url: str,
) -> None:
    """A new ledger is made from schema.metadata at once; walking every revision from an
    empty database must arrive at the same tables, and the same stamp, which Alembic reads."""
    engine = make_engine(ledger_url)
    try:
        with migration_lock(engine) as conn:
            command.upgrade(alembic_config(conn), "head")
        assert _differences(ledger_url) == []
        with engine.begin() as conn:
            stamp_by_alembic = sa.inspect(conn).get_pk_constraint("alembic_version")
            metadata.drop_all(conn)
            conn.execute(sa.text("DROP TABLE alembic_version"))
        Ledger(ledger_url).close()  # a new ledger again: made, not migrated
        assert _differences(ledger_url) == []
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == HEAD
            assert sa.inspect(conn).get_pk_constraint("alembic_version") == stamp_by_alembic
    finally:
        engine.dispose()


def test_the_first_revision_is_the_schema_0_1_0_made(ledger_url: str) -> None:
    """Its tables, unique constraints and indexes are those 0.1.0 created with create_all."""
    engine = make_engine(ledger_url)
    try:
        baseline.metadata().create_all(engine)
    finally:
        engine.dispose()
    assert _differences(ledger_url, baseline.metadata()) == []


@pytest.mark.parametrize("name", sorted(RELEASED))
def test_a_ledger_made_by_a_released_version_is_taken_over_without_losing_a_row(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    shutil.copy(DATA / name, path)
    counts, lacking = RELEASED[name]
    before = {table: _rows(path, table) for table in counts}
    assert {table: len(rows) for table, rows in before.items()} == counts
    assert _differences(f"sqlite:///{path}", baseline.metadata()) == lacking
    ledger = Ledger(f"sqlite:///{path}")
    try:
        assert ledger.schema_revision() == HEAD
        assert len(ledger.history(limit=100)) == counts["deliveries"]
    finally:
        ledger.close()
    for table, rows in before.items():
        width = len(rows[0])  # columns added by the takeover come after the old ones
        assert [row[:width] for row in _rows(path, table)] == rows
    assert _differences(f"sqlite:///{path}") == []


def test_a_ledger_missing_a_column_and_an_index_gets_them_once_and_is_stamped(
    ledger_url: str,
) -> None:
    """As 0.1.x would have left it after a version that lacked them, on either database."""
    engine = make_engine(ledger_url)
    try:
        baseline.metadata().create_all(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP INDEX ix_deliveries_notice"))
            conn.execute(sa.text("ALTER TABLE deliveries DROP COLUMN resolved_at"))
            conn.execute(sa.text("INSERT INTO kv VALUES ('feed', '{}', CURRENT_TIMESTAMP)"))
    finally:
        engine.dispose()
    assert _differences(ledger_url, baseline.metadata()) == [
        "add_column resolved_at",
        "add_index ix_deliveries_notice",
    ]
    ledger = Ledger(ledger_url)
    try:
        assert ledger.schema_revision() == HEAD
        assert ledger.get_value("feed") == "{}"
    finally:
        ledger.close()
    assert _differences(ledger_url) == []


def test_opening_an_up_to_date_ledger_reads_only_the_version(ledger_url: str) -> None:
    Ledger(ledger_url).close()
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        Ledger(ledger_url).close()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    assert statements == ["SELECT version_num FROM alembic_version"]


def test_making_a_new_ledger_or_opening_an_up_to_date_one_does_not_even_import_alembic(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    script = (
        "import sys; from broadcaster.ledger import Ledger; "
        f"Ledger({url!r}).close(); Ledger({url!r}).close(); "
        "print(sorted(m for m in sys.modules if 'alembic' in m))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    assert Ledger(url).schema_revision() == HEAD


def test_opening_an_up_to_date_ledger_does_not_even_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger(url).close()
    script = (
        "import sys; from broadcaster.ledger import Ledger; "
        f"Ledger({url!r}).close(); print(sorted(m for m in sys.modules if 'alembic' in m))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_ledger_a_newer_version_migrated_is_not_touched(ledger_url: str) -> None:
    Ledger(ledger_url).close()
    engine = make_engine(ledger_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    with pytest.raises(SetupError) as raised:
        Ledger(ledger_url, where="config/broadcaster.yaml:101: database")
    assert str(raised.value) == (
        "config/broadcaster.yaml:101: database: the ledger is at schema revision 9999, which "
        "this version of broadcaster does not know: a newer version has migrated it "
        "(upgrade broadcaster here too)"
    )


def test_an_opener_waits_for_the_migration_in_progress_and_does_not_repeat_it(
    ledger_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process is migrating (we hold the lock, half way); the opener finds no version,
    asks for the lock, waits, and once it has it sees the version the other one stamped."""
    caplog.set_level(logging.INFO, logger="broadcaster.ledger")
    asked = threading.Event()

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "BEGIN IMMEDIATE" in statement or "pg_advisory_xact_lock" in statement:
            asked.set()

    engine = make_engine(ledger_url)
    try:
        with ThreadPoolExecutor(1) as pool:
            with migration_lock(engine) as conn:
                sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
                try:
                    opening = pool.submit(Ledger, ledger_url)
                    assert asked.wait(timeout=60)  # a safety net, not a measurement
                    assert not opening.done()  # it cannot have the lock: we hold it
                    command.upgrade(alembic_config(conn), "head")
                finally:
                    sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
            ledger = opening.result(timeout=60)
    finally:
        engine.dispose()
    try:
        assert ledger.schema_revision() == HEAD
    finally:
        ledger.close()
    assert [r.getMessage() for r in caplog.records if r.name == "broadcaster.ledger"] == []
