"""Opening a ledger the machine cannot give us: one SetupError line that says where the URL
came from and what is wrong, never the URL's password, never a traceback."""

from __future__ import annotations

import os
import socket
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcaster import config
from broadcaster.config import Secrets
from broadcaster.errors import SetupError
from broadcaster.ledger import Ledger
from broadcaster.runtime import open_ledger
from tests.conftest import POSTGRES_URL

EXAMPLES = "(for example sqlite:///var/broadcaster.db or postgresql://user@host/dbname)"


def _problem(url: str) -> str:
    with pytest.raises(SetupError) as raised:
        Ledger(url)
    return str(raised.value)


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unwritable_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder no file can be created in. Root ignores file modes, so as root it is /sys,
    where the kernel lets nobody create a file; anyone else gets a folder without write
    permission."""
    if os.geteuid() == 0:
        yield Path("/sys")
        return
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o555)
    yield folder
    folder.chmod(0o755)


def test_a_url_without_a_scheme() -> None:
    assert _problem("var/broadcaster.db") == (
        f"database: is not a database URL (it has no scheme such as sqlite:///) {EXAMPLES}"
    )


def test_a_database_broadcaster_does_not_work_with_and_its_password_is_not_shown() -> None:
    assert _problem("mysql://root:hunter2@db.example/clinic") == (
        f"database: 'mysql://' is not a database broadcaster works with {EXAMPLES}"
    )


def test_a_url_that_does_not_parse_and_its_password_is_not_shown() -> None:
    assert _problem("postgresql://clinic:hunter2@db.example:fivefourthreetwo/clinic") == (
        f"database: is not a valid database URL {EXAMPLES}"
    )


def test_postgresql_without_psycopg_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what `import psycopg` does when absent
    assert _problem("postgresql://postgres@127.0.0.1:5432/clinic") == (
        "database: a PostgreSQL ledger needs the psycopg package, which is not installed "
        "(pip install 'broadcaster[postgres]')"
    )


def test_a_postgresql_server_that_refuses_the_connection(free_port: int) -> None:
    problem = _problem(f"postgresql://broadcaster:hunter2@127.0.0.1:{free_port}/clinic")
    assert problem == (
        f"database: cannot connect to PostgreSQL broadcaster@127.0.0.1:{free_port}/clinic: "
        "Connection refused (is the server running, and does it accept TCP connections there?)"
    )


@pytest.mark.skipif(not POSTGRES_URL, reason="BROADCAST_TEST_POSTGRES_URL is not set (CI sets it)")
def test_a_postgresql_database_that_does_not_exist() -> None:
    assert POSTGRES_URL
    url = POSTGRES_URL.rsplit("/", 1)[0] + "/no_such_ledger"
    assert _problem(url).endswith(
        '/no_such_ledger: database "no_such_ledger" does not exist '
        "(check the user, password and database name)"
    )


def test_a_sqlite_path_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a folder\n")
    assert _problem(f"sqlite:///{tmp_path}/notes.txt/var/broadcaster.db") == (
        f"database: the ledger's folder {tmp_path}/notes.txt/var cannot be made: "
        f"{tmp_path}/notes.txt is a file, not a folder "
        "(choose another database path, or move the file away)"
    )


def test_a_sqlite_folder_that_cannot_be_written(unwritable_folder: Path) -> None:
    assert _problem(f"sqlite:///{unwritable_folder}/broadcaster.db") == (
        f"database: the ledger {unwritable_folder}/broadcaster.db cannot be opened: "
        f"Permission denied (nothing can be created in {unwritable_folder})"
    )
    assert not (unwritable_folder / "broadcaster.db").exists()


def test_a_sqlite_path_that_is_a_folder(tmp_path: Path) -> None:
    assert _problem(f"sqlite:///{tmp_path}") == (
        f"database: {tmp_path} is a folder, not a ledger file (name a file inside it instead)"
    )


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    notes = tmp_path / "broadcaster.db"
    notes.write_text("Closed 26-27 March for our team day.\n" * 100)
    assert _problem(f"sqlite:///{notes}") == (
        f"database: {notes} is not a SQLite database "
        "(point database at the ledger file, or move this file away)"
    )
    assert notes.read_text().startswith("Closed 26-27 March")


def test_a_sqlite_ledger_another_process_keeps_locked(tmp_path: Path) -> None:
    """A new ledger must be created under the write lock, which another writer holds for
    longer than the busy timeout (shortened here with ``?timeout=``)."""
    path = tmp_path / "broadcaster.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert _problem(f"sqlite:///{path}?timeout=0.2") == (
            f"database: the ledger {path} stayed locked by another process for 0.2 s "
            "(another broadcast (or a tool holding the file open) is writing: try again)"
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_the_config_line_is_named_when_the_url_came_from_the_config(project: Path) -> None:
    path = project / "config/broadcaster.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"sqlite:///var/broadcaster.db"', '"var/broadcaster.db"'))
    loaded = config.load()
    line = loaded.line_of("database")
    assert line is not None and 'database: "var/' in path.read_text().splitlines()[line - 1]
    with pytest.raises(SetupError) as raised:
        open_ledger(loaded, Secrets())
    assert str(raised.value).startswith(f"{loaded.path}:{line}: database: is not a database URL")


def test_the_variable_is_named_when_the_url_came_from_the_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch, free_port: int
) -> None:
    monkeypatch.setenv(
        "BROADCAST_DATABASE_URL", f"postgresql://broadcaster:hunter2@127.0.0.1:{free_port}/clinic"
    )
    with pytest.raises(SetupError) as raised:
        open_ledger(config.load(), Secrets())
    assert str(raised.value).startswith("BROADCAST_DATABASE_URL: cannot connect to PostgreSQL")
    assert "hunter2" not in str(raised.value)
