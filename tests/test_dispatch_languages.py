"""A notice in several languages: each language is a message of its own on a channel that
posts them separately, claimed, recorded and corrected on its own; one post on a channel that
combines them.

The channels here are recording channels of the test's own (as in test_dispatch.py); what
language each is told in is what ``channels.<name>.languages`` and ``layout`` give a real one
(:meth:`broadcaster.config_fields.PostsText.told_in`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from broadcaster import config as config_module
from broadcaster.channels.base import Channel, Limits, Outgoing, Receipt
from broadcaster.config import Secrets
from broadcaster.config_fields import PostsText
from broadcaster.dispatch import Dispatcher
from broadcaster.errors import PermanentError
from broadcaster.ledger import Ledger
from broadcaster.report import Report

SG = ZoneInfo("Asia/Singapore")
DEMO = datetime(2024, 3, 20, 9, 0, tzinfo=SG)
FOUR = ["en", "zh", "ms", "ta"]
REASON = {
    "en": "our annual team bonding event",
    "zh": "年度团队建设活动",
    "ms": "acara perpaduan pasukan tahunan kami",
    "ta": "எங்கள் ஆண்டு குழு நிகழ்வு",
}


class Recording(Channel):
    """Records each post: its text, its ledger key and the language its facts say."""

    accepts = frozenset({"announce", "remind", "publish"})
    limits = Limits(max_length=2000)

    def __init__(self, name: str, languages: list[str], layout: str = "separate") -> None:
        self.name = name  # type: ignore[misc]
        section = PostsText(languages=languages, layout=layout)  # type: ignore[arg-type]
        self.told_in = section.told_in(tuple(FOUR))
        self.sent: list[dict[str, Any]] = []
        self.failures: list[Exception] = []

    def build(self, outgoing: Outgoing) -> dict[str, Any]:
        language = (outgoing.facts or {}).get("language", "en")
        return {"text": outgoing.message["text"], "key": outgoing.key, "language": language}

    async def send(self, payload: dict[str, Any]) -> Receipt:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(payload)
        return {"id": str(len(self.sent))}


def edit_config(change: Any) -> None:
    path = Path("config/broadcaster.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def four_languages(data: dict[str, Any]) -> None:
    data["site"]["languages"] = FOUR
    data["site"]["region"] = "SG"
    data["closures"][0]["reason"] = REASON
    data["channels"].pop("email")  # email's own languages are its subscribers': tested there
    data["articles"] = {"items": [], "feeds": []}


@pytest.fixture
def ledger(project: Path) -> Iterator[Ledger]:
    edit_config(four_languages)
    instance = Ledger(f"sqlite:///{project / 'var/ledger.db'}")
    yield instance
    instance.close()


async def run(ledger: Ledger, channels: list[Channel], now: datetime = DEMO) -> Report:
    loaded = config_module.load("config/broadcaster.yaml")
    async with httpx.AsyncClient() as http:
        dispatcher = Dispatcher(loaded, Secrets(), ledger, http, extra_channels=channels)
        return await dispatcher.run(now)


def sent_by_language(channel: Recording) -> dict[str, str]:
    return {post["language"]: post["text"] for post in channel.sent}


async def test_four_languages_are_four_messages_each_sent_once(ledger: Ledger) -> None:
    social = Recording("social", FOUR)
    report = await run(ledger, [social])
    texts = sent_by_language(social)
    assert sorted(texts) == sorted(FOUR)
    assert "26 Mar (Tue)" in texts["en"] and REASON["en"] in texts["en"]
    assert "3月26日（周二）" in texts["zh"] and REASON["zh"] in texts["zh"]
    assert "26 Mac (Sel)" in texts["ms"] and REASON["ms"] in texts["ms"]
    assert "மார். 26 (செவ்.)" in texts["ta"] and REASON["ta"] in texts["ta"]
    announced = {r.notice_id for r in report.rows if r.occasion == "announce"}
    assert announced == {
        "closure-2024-03-26",
        "closure-2024-03-26.zh",
        "closure-2024-03-26.ms",
        "closure-2024-03-26.ta",
    }
    assert len({post["key"] for post in social.sent}) == 4  # four deliveries in the ledger

    await run(ledger, [social])
    assert len(social.sent) == 4  # a rerun sends nothing twice, in any language


async def test_one_language_failing_keeps_the_others_and_is_retried_alone(ledger: Ledger) -> None:
    social = Recording("social", ["en", "zh"])
    social.failures = [PermanentError("400 refused")]  # the first post (English) fails
    report = await run(ledger, [social])
    failed = {r.notice_id for r in report.rows if r.status == "failed"}
    assert failed == {"closure-2024-03-26"}
    assert sent_by_language(social).keys() == {"zh"}
    ledger_states = {d.notice_id: d.state for d in ledger.history(channel="social")}
    assert ledger_states == {"closure-2024-03-26": "failed", "closure-2024-03-26.zh": "sent"}


async def test_a_correction_goes_out_in_each_language_that_was_told(ledger: Ledger) -> None:
    social = Recording("social", ["en", "zh"])
    await run(ledger, [social])
    assert len(social.sent) == 2

    def later(data: dict[str, Any]) -> None:
        data["closures"][0]["end"] = "2024-03-28"
        data["closures"][0]["resume"] = "2024-03-29"

    edit_config(later)
    await run(ledger, [social], DEMO + timedelta(hours=2))
    corrections = social.sent[2:]
    assert sorted(post["language"] for post in corrections) == ["en", "zh"]
    zh = next(post["text"] for post in corrections if post["language"] == "zh")
    assert "3月28日（周四）" in zh  # the new last day, in Chinese

    await run(ledger, [social], DEMO + timedelta(hours=3))
    assert len(social.sent) == 4  # each correction once


async def test_a_cancellation_reaches_each_told_language_and_no_other(ledger: Ledger) -> None:
    told = Recording("social", ["en", "zh"])
    await run(ledger, [told])
    widened = Recording("social", FOUR)  # ms and ta added after the announcement

    def cancelled(data: dict[str, Any]) -> None:
        data["closures"] = []

    edit_config(cancelled)
    report = await run(ledger, [widened], DEMO + timedelta(hours=2))
    cancels = {r.notice_id for r in report.rows if r.occasion == "cancel" and r.status == "sent"}
    assert cancels == {"closure-2024-03-26", "closure-2024-03-26.zh"}
    assert sorted(post["language"] for post in widened.sent) == ["en", "zh"]


async def test_a_language_dropped_from_a_channel_is_not_cancelled_there(ledger: Ledger) -> None:
    await run(ledger, [Recording("social", ["en", "zh"])])
    english_only = Recording("social", ["en"])
    report = await run(ledger, [english_only], DEMO + timedelta(hours=2))
    assert english_only.sent == []
    assert not [r for r in report.rows if r.occasion == "cancel"]


async def test_combined_layout_is_one_post_with_each_language_in_turn(ledger: Ledger) -> None:
    social = Recording("social", ["en", "zh"], layout="combined")
    report = await run(ledger, [social])
    assert len(social.sent) == 1
    (post,) = social.sent
    english, chinese = post["text"].split("\n\n")
    assert "26 Mar (Tue)" in english and REASON["en"] in english
    assert "3月26日（周二）" in chinese and REASON["zh"] in chinese
    announced = {r.notice_id for r in report.rows if r.occasion == "announce"}
    assert announced == {"closure-2024-03-26.en+zh"}


async def test_a_missing_translation_falls_back_to_the_default_text(ledger: Ledger) -> None:
    def english_reason(data: dict[str, Any]) -> None:
        data["closures"][0]["reason"] = {"en": REASON["en"]}

    edit_config(english_reason)
    social = Recording("social", ["zh"])
    await run(ledger, [social])
    (post,) = social.sent
    assert post["language"] == "zh"
    assert REASON["en"] in post["text"] and "3月26日（周二）" in post["text"]


async def test_a_combined_post_over_the_limit_shortens_each_language_to_its_share(
    ledger: Ledger,
) -> None:
    social = Recording("social", ["en", "zh"], layout="combined")
    social.limits = Limits(max_length=160)
    await run(ledger, [social])
    (post,) = social.sent
    assert len(post["text"]) <= 160
    english, chinese = post["text"].split("\n\n")
    assert english.endswith("…") and english.startswith("Our outlets will be closed")
    assert "3月26日（周二）" in chinese  # the Chinese is still there, not cut off by the English
