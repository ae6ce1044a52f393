"""When each notice is due is a pure function of the notice and now."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from broadcaster.notices import ArticleNotice, ClosureNotice
from broadcaster.schedule import due, moments

SG = ZoneInfo("Asia/Singapore")
CLOSURE = ClosureNotice(
    "closure-2024-03-26",
    date(2024, 3, 26),
    date(2024, 3, 27),
    date(2024, 3, 28),
    "team event",
    ("Orchard", "Tampines"),
    True,
    7,
    1,
)
ARTICLE = ArticleNotice(
    "article-botox",
    "Botox",
    "https://g.example/botox",
    "https://g.example/botox",
    datetime(2024, 3, 20, 8, tzinfo=SG),
)


def occasions(
    now: datetime, notice: ClosureNotice | ArticleNotice = CLOSURE, tz: ZoneInfo = SG
) -> set[str]:
    return {m.occasion for m in due(notice, now, tz, max_age_days=3)}


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2024, 3, 18, 23, 59, tzinfo=SG), set()),
        (datetime(2024, 3, 19, 0, 0, tzinfo=SG), {"announce", "banner"}),
        (datetime(2024, 3, 20, 9, 0, tzinfo=SG), {"announce", "banner"}),
        (datetime(2024, 3, 25, 8, 0, tzinfo=SG), {"announce", "remind", "banner"}),
        (datetime(2024, 3, 26, 0, 0, tzinfo=SG), {"banner"}),
        (datetime(2024, 3, 27, 23, 59, tzinfo=SG), {"banner"}),
        (datetime(2024, 3, 28, 0, 0, tzinfo=SG), {"reopen"}),
        (datetime(2024, 3, 29, 0, 0, tzinfo=SG), set()),
    ],
)
def test_closure_windows_in_the_site_time_zone(now: datetime, expected: set[str]) -> None:
    assert occasions(now) == expected


def test_the_same_instant_in_utc_gives_the_same_answer() -> None:
    assert occasions(datetime(2024, 3, 18, 16, 0, tzinfo=UTC)) == {"announce", "banner"}
    assert occasions(datetime(2024, 3, 18, 15, 59, tzinfo=UTC)) == set()


def test_past_moments_are_stale_not_due() -> None:
    timings = {
        m.occasion: m.timing(datetime(2024, 3, 26, 9, tzinfo=SG)) for m in moments(CLOSURE, SG, 3)
    }
    assert timings == {
        "announce": "stale",
        "remind": "stale",
        "banner": "due",
        "reopen": "upcoming",
    }


def test_no_reminder_when_remind_days_is_zero() -> None:
    from dataclasses import replace

    quiet = replace(CLOSURE, remind_days_before=0)
    assert {m.occasion for m in moments(quiet, SG, 3)} == {"announce", "banner", "reopen"}


def test_windows_follow_daylight_saving_time() -> None:
    london = ZoneInfo("Europe/London")  # clocks go forward on 31 Mar 2024
    from dataclasses import replace

    closure = replace(
        CLOSURE, start=date(2024, 4, 2), end=date(2024, 4, 2), resume=date(2024, 4, 3)
    )
    announce = next(m for m in moments(closure, london, 3) if m.occasion == "announce")
    assert announce.opens == datetime(2024, 3, 26, 0, 0, tzinfo=london)
    assert announce.opens.utcoffset() == timedelta(0)
    assert announce.closes.utcoffset() == timedelta(hours=1)


def test_article_is_due_from_publication_until_max_age() -> None:
    assert occasions(datetime(2024, 3, 20, 7, 59, tzinfo=SG), ARTICLE) == set()
    assert occasions(datetime(2024, 3, 20, 8, 0, tzinfo=SG), ARTICLE) == {"publish"}
    assert occasions(datetime(2024, 3, 23, 7, 59, tzinfo=SG), ARTICLE) == {"publish"}
    assert occasions(datetime(2024, 3, 23, 8, 0, tzinfo=SG), ARTICLE) == set()
