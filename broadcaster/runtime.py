"""Wiring for one process: config + secrets + ledger + HTTP client -> a Dispatcher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from broadcaster.config import Loaded, Secrets
from broadcaster.dispatch import Dispatcher
from broadcaster.errors import SetupError
from broadcaster.http_client import http_client
from broadcaster.ledger import Ledger

USER_AGENT = "broadcaster/0.1 (+https://github.com/broadcaster)"


def open_ledger(loaded: Loaded, secrets: Secrets, *, migrate: bool = True) -> Ledger:
    """The ledger at ``BROADCAST_DATABASE_URL`` if set (it may hold a password), else
    ``database:``, brought to the newest schema unless ``migrate`` is off. A problem with it
    is a SetupError naming the variable or the config line, never the URL."""
    if secrets.database_url:
        return Ledger(
            secrets.database_url.get_secret_value(), where="BROADCAST_DATABASE_URL", migrate=migrate
        )
    line = loaded.line_of("database")
    where = f"{loaded.path}:{line}: database" if line else f"{loaded.path}: database"
    return Ledger(loaded.config.database, where=where, migrate=migrate)


@asynccontextmanager
async def dispatcher(loaded: Loaded, secrets: Secrets | None = None) -> AsyncIterator[Dispatcher]:
    secrets = secrets or Secrets()
    ledger = open_ledger(loaded, secrets)
    try:
        async with http_client(USER_AGENT) as http:
            yield Dispatcher(loaded, secrets, ledger, http)
    finally:
        ledger.close()


def parse_now(value: str | None, loaded: Loaded) -> datetime:
    """``--now``: ISO-8601; without an offset it is site-local time; absent, the real time."""
    tz = loaded.config.site.tz
    if value is None:
        return datetime.now(tz)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SetupError(
            "--now",
            f"{value!r} is not a date and time",
            "use ISO-8601, e.g. 2024-03-20T09:00 or 2024-03-20T09:00:00+08:00",
        ) from None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed.astimezone(tz)
