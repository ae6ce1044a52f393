"""Shared fixtures: a clinic project in a temp dir, ledgers on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from broadcaster.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("BROADCAST_TEST_POSTGRES_URL")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own secrets or config; retries do not sleep."""
    for name in list(os.environ):
        if name.startswith("BROADCAST_") and name != "BROADCAST_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("BROADCAST_RETRY_WAIT_SCALE", "0")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped example (config, feed, templates) as the working directory."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ledger_urls(tmp_path: Path) -> list[str]:
    urls = [f"sqlite:///{tmp_path / 'ledger.db'}"]
    if POSTGRES_URL:
        urls.append(POSTGRES_URL)
    return urls


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same ledger tests run on SQLite and, when BROADCAST_TEST_POSTGRES_URL is set, PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("BROADCAST_TEST_POSTGRES_URL is not set (CI sets it)")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    instance = Ledger(ledger_url)
    yield instance
    instance.close()
