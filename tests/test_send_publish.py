"""A publisher's pass is a delivery like any other: the banner that cannot be written is
``retry`` with its error, in ``run``, ``status`` and ``history``, even when the notices it shows
did not change, until a pass writes the right files again.

Tests run as root, for whom a read-only folder is still writable, so the failure is made real
another way: something else takes ``banner.json``'s name (a folder), and no file can be
written over it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from broadcaster.channels.banner import BannerChannel
from broadcaster.ledger import Ledger
from broadcaster.report import Row
from broadcaster.retry import RetryPolicy
from broadcaster.send import Sender, state_group
from tests.commands import broadcast, history
from tests.languages import english_only

DEMO_NOW = "2024-03-20T09:00:00+08:00"
LATER = "2024-03-20T10:00:00+08:00"
EVEN_LATER = "2024-03-20T11:00:00+08:00"
ERROR = "cannot write banner files in site/notices: Is a directory"


@pytest.fixture(autouse=True)
def _in_english(request: pytest.FixtureRequest) -> None:
    """The example clinic writing English alone: one message per channel, as these tests
    count them (each language's own messages: tests/test_dispatch_languages.py)."""
    if "project" in request.fixturenames:
        english_only(request.getfixturevalue("project"))


def folder(project: Path) -> Path:
    return project / "site/notices"


def shown(project: Path) -> list[str]:
    data = json.loads((folder(project) / "banner.json").read_text(encoding="utf-8"))
    return [n["id"] for n in data["notices"]]


def break_the_folder(project: Path) -> None:
    """Empty the banner folder, and put a folder where ``banner.json`` must go."""
    shutil.rmtree(folder(project))
    (folder(project) / "banner.json" / "not-yours").mkdir(parents=True)


def mend_the_folder(project: Path) -> None:
    shutil.rmtree(folder(project) / "banner.json")


def banner_status() -> tuple[int, dict[str, Any]]:
    code, output = broadcast("status", "--json")
    channels = json.loads(output)["channels"]
    return code, next(c for c in channels if c["channel"] == "banner")


def remove_the_closure(project: Path) -> None:
    config = project / "config/broadcaster.yaml"
    text = config.read_text(encoding="utf-8")
    start, end = text.index("closures:\n"), text.index("\narticles:")
    config.write_text(text[:start] + "closures: []\n" + text[end:], encoding="utf-8")


def test_a_banner_lost_after_it_was_written_is_retry_until_it_is_written_again(
    project: Path,
) -> None:
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    break_the_folder(project)

    code, output = broadcast("run", "--now", LATER)
    assert code == 1, output
    assert ERROR in output and "showing" not in output
    code, status = banner_status()
    assert code == 1  # healing: the next pass tries again by itself
    assert (status["retry"], status["last_error"]) == (1, ERROR)
    assert status["next_attempt_at"] == "2024-03-20T02:00:00+00:00"  # the next pass
    assert [(r["notice"], r["state"]) for r in history()[:1]] == [("banner:state", "retry")]

    mend_the_folder(project)
    code, output = broadcast("run", "--now", EVEN_LATER)
    assert code == 0, output
    assert shown(project) == ["closure-2024-03-26"]
    assert "Our outlets will be closed" in (folder(project) / "banner.html").read_text("utf-8")
    code, status = banner_status()
    assert (code, status["retry"], status["last_error"]) == (0, 0, None)


def test_a_closure_cancelled_while_the_banner_cannot_be_written_is_gone_once_it_can(
    project: Path,
) -> None:
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    break_the_folder(project)
    (folder(project) / "banner.html").write_text("the cancelled closure", encoding="utf-8")
    remove_the_closure(project)

    code, output = broadcast("run", "--now", LATER)
    assert code == 1, output
    assert ERROR in output
    code, status = banner_status()
    assert (code, status["retry"], status["last_error"]) == (1, 1, ERROR)

    mend_the_folder(project)
    code, output = broadcast("run", "--now", EVEN_LATER)
    assert code == 0, output
    assert shown(project) == []
    assert (folder(project) / "banner.html").read_text(encoding="utf-8") == ""
    assert banner_status()[1]["retry"] == 0


def test_plan_neither_claims_nor_writes_while_the_banner_is_broken(project: Path) -> None:
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    break_the_folder(project)
    before = history()
    code, output = broadcast("plan", "--now", LATER)
    assert code == 0, output
    assert history() == before
    assert sorted(p.name for p in folder(project).iterdir()) == ["banner.json"]


def test_an_unchanged_banner_adds_nothing_to_the_ledger_however_often_it_is_written(
    project: Path,
) -> None:
    broadcast("run", "--now", DEMO_NOW)
    first = history()
    (folder(project) / "banner.html").unlink()  # lost, and written back by the next pass
    code, output = broadcast("run", "--now", LATER)
    assert code == 0, output
    assert (folder(project) / "banner.html").is_file()
    assert history() == first


# The Sender's own rules, with the real banner and a real ledger ------------------------------

SG = ZoneInfo("Asia/Singapore")
NOW = datetime(2024, 3, 20, 9, tzinfo=SG)
ENTRY = {
    "id": "closure-2024-03-26",
    "kind": "closure",
    "start": "2024-03-19T00:00:00+08:00",
    "end": "2024-03-28T00:00:00+08:00",
    "text": "Closed on 26 and 27 March",
    "html": "<p>Closed on 26 and 27 March</p>",
}


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    instance = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield instance
    instance.close()


async def publish(ledger: Ledger, banner: BannerChannel, *entries: dict[str, Any]) -> list[Row]:
    sender = Sender(ledger, RetryPolicy(wait_scale=0), NOW, asyncio.Event())
    rows = [Row(e["id"], "banner", banner.name, "due") for e in entries]
    return await sender.publish(banner, list(entries), rows)


def states(ledger: Ledger, seq: int) -> dict[str, int]:
    return ledger.states(state_group("banner", seq))


async def test_each_new_state_is_one_write_and_a_lost_one_the_next_seq(
    ledger: Ledger, tmp_path: Path
) -> None:
    banner = BannerChannel(tmp_path / "notices")
    assert [r.status for r in await publish(ledger, banner, ENTRY)] == ["sent"]
    assert [r.status for r in await publish(ledger, banner, ENTRY)] == ["already sent"]
    assert (states(ledger, 0), states(ledger, 1)) == ({"sent": 1}, {})

    (tmp_path / "notices/banner.json").unlink()
    (tmp_path / "notices/banner.json").mkdir()
    (row,) = await publish(ledger, banner, ENTRY)
    assert (row.status, row.detail) == (
        "retry",
        f"cannot write banner files in {tmp_path / 'notices'}: Is a directory",
    )
    assert (states(ledger, 0), states(ledger, 1)) == ({"sent": 1}, {"retry": 1})

    (tmp_path / "notices/banner.json").rmdir()
    (state,) = await publish(ledger, banner)  # meanwhile the closure was cancelled
    assert (state.notice_id, state.status) == ("*", "sent")
    assert states(ledger, 1) == {"sent": 1}  # the retry itself carried the new state
    assert json.loads((tmp_path / "notices/banner.json").read_text())["notices"] == []
