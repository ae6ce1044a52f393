"""Opening a ledger: the URL checked, the engine made, the schema brought to the newest revision.

What the machine gets wrong on the way becomes one :class:`~broadcaster.errors.SetupError`
naming ``where`` the URL came from (``config.yaml:12: database`` or
``BROADCAST_DATABASE_URL``), never the URL itself, which may hold a password:

- a URL that is not ``sqlite://`` or ``postgresql://``; PostgreSQL without psycopg;
- a PostgreSQL server that refuses the connection, the user or the database;
- a SQLite path under a file, in a folder that cannot be written, that is a folder,
  that is not a database, or that another process holds locked beyond the busy timeout.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from broadcaster.errors import SetupError
from broadcaster.ledger.migrations import UnknownRevision, ensure_current

#: seconds a SQLite writer waits for another's lock (``?timeout=`` in the URL overrides it)
SQLITE_BUSY_TIMEOUT = 30.0
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_DRIVERS = {
    "sqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}
_EXAMPLES = "for example sqlite:///var/broadcaster.db or postgresql://user@host/dbname"


def open_engine(url: str, where: str = "database", *, migrate: bool = True) -> Engine:
    """An engine on a ledger at the newest revision (unless ``migrate`` is off), or a
    SetupError saying what is wrong with the machine."""
    engine = make_engine(url, where)
    try:
        if migrate:
            with database_errors(engine, where):
                ensure_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def make_engine(url: str, where: str = "database") -> Engine:
    """An engine for ``url``, or a SetupError for a URL, driver or SQLite path that cannot
    work. SQLite gets WAL and a busy timeout so concurrent processes wait instead of failing."""
    try:
        parsed = sa.engine.make_url(_with_driver(url, where))
    except (sa.exc.ArgumentError, ValueError):  # their text quotes the URL: not shown
        raise SetupError(where, "is not a valid database URL", _EXAMPLES) from None
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_path(parsed, where)
        connect_args = {} if "timeout" in parsed.query else {"timeout": SQLITE_BUSY_TIMEOUT}
        engine = sa.create_engine(parsed, connect_args=connect_args)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(parsed)


@contextmanager
def database_errors(engine: Engine, where: str) -> Iterator[None]:
    """Turn what the database says about the machine into a SetupError without the URL."""
    try:
        yield
    except UnknownRevision as exc:
        raise SetupError(
            where,
            f"the ledger is at schema revision {exc.revision}, which this version of "
            "broadcaster does not know: a newer version has migrated it",
            "upgrade broadcaster here too",
        ) from None
    except sa.exc.DBAPIError as exc:
        if engine.dialect.name == "sqlite":
            raise _sqlite_error(engine.url, where, exc) from None
        raise _postgresql_error(engine.url, where, exc) from None


def _with_driver(url: str, where: str) -> str:
    """The URL with the driver broadcaster uses, once the scheme and driver are known good."""
    match = _SCHEME.match(url)
    if match is None:
        raise SetupError(
            where, "is not a database URL (it has no scheme such as sqlite:///)", _EXAMPLES
        )
    scheme = match.group(1).lower()
    if scheme not in _DRIVERS and scheme != "postgresql+psycopg":
        raise SetupError(
            where, f"'{scheme}://' is not a database broadcaster works with", _EXAMPLES
        )
    driver = _DRIVERS.get(scheme, scheme)
    if driver == "postgresql+psycopg":
        _check_psycopg(where)
    return driver + url[match.end(1) :]


def _check_psycopg(where: str) -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise SetupError(
            where,
            "a PostgreSQL ledger needs the psycopg package, which is not installed",
            "pip install 'broadcaster[postgres]'",
        ) from None


def _check_sqlite_path(url: URL, where: str) -> None:
    """Make the ledger's folder if need be; say why, if it cannot be made."""
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return
    path = Path(url.database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        file = next(p for p in (path.parent, *path.parent.parents) if p.is_file())
        raise SetupError(
            where,
            f"the ledger's folder {path.parent} cannot be made: {file} is a file, not a folder",
            "choose another database path, or move the file away",
        ) from None
    except OSError as exc:
        raise SetupError(
            where, f"the ledger's folder {path.parent} cannot be made: {exc.strerror}"
        ) from None
    if path.is_dir():
        raise SetupError(
            where, f"{path} is a folder, not a ledger file", "name a file inside it instead"
        )


def _sqlite_error(url: URL, where: str, exc: sa.exc.DBAPIError) -> SetupError:
    path, text = url.database, str(exc.orig)
    if "database is locked" in text:
        waited = url.query.get("timeout", SQLITE_BUSY_TIMEOUT)
        return SetupError(
            where,
            f"the ledger {path} stayed locked by another process for {waited} s",
            "another broadcast (or a tool holding the file open) is writing: try again",
        )
    if "file is not a database" in text:
        return SetupError(
            where,
            f"{path} is not a SQLite database",
            "point database at the ledger file, or move this file away",
        )
    if "unable to open database file" in text and path:
        return SetupError(
            where, f"the ledger {path} cannot be opened: {_why_unopenable(Path(path))}"
        )
    return SetupError(where, f"the ledger {path} cannot be used: {text}")


def _why_unopenable(path: Path) -> str:
    """Ask the operating system what SQLite only calls 'unable to open database file'
    (creating nothing that stays: an empty ledger left behind would be a new ledger)."""
    try:
        if path.exists():
            with path.open("r+b"):
                pass
    except OSError as exc:
        return f"{exc.strerror} (the file cannot be written)"
    try:
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        return f"{exc.strerror} (nothing can be created in {path.parent})"
    return "SQLite cannot open it"


def _postgresql_error(url: URL, where: str, exc: sa.exc.DBAPIError) -> SetupError:
    reason = _driver_reason(exc.orig, url.password)
    server = (
        f"{url.username or ''}@{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
    )
    if isinstance(exc, sa.exc.OperationalError):
        hint = (
            "is the server running, and does it accept TCP connections there?"
            if "refused" in reason
            else "check the user, password and database name"
        )
        return SetupError(where, f"cannot connect to PostgreSQL {server}: {reason}", hint)
    return SetupError(where, f"PostgreSQL {server} would not set up the ledger: {reason}")


def _driver_reason(error: Any, password: str | None) -> str:
    """The driver's own words, first line only, without the connection preamble or password."""
    lines = str(error).strip().splitlines() or ["no reason given"]
    reason = re.sub(r"^.* failed: ", "", lines[0])
    reason = re.sub(r"^(FATAL|ERROR):\s+", "", reason)
    return reason.replace(password, "***") if password else reason


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
