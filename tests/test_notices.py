"""Events become notices with stable ids, and the same event twice is one notice."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from broadcaster.config import Config
from broadcaster.notices import (
    ArticleEvent,
    ClosureNotice,
    article_notices,
    build,
    canonical_url,
    config_articles,
)


def clinic(**extra: object) -> Config:
    closure = {
        "start": "2024-03-26",
        "end": "2024-03-27",
        "reason": "our annual team bonding event",
    }
    data: dict[str, object] = {
        "site": {
            "name": "Glow",
            "url": "https://glow.example",
            "timezone": "Asia/Singapore",
            "outlets": ["Orchard", "Tampines"],
        },
        "closures": [closure],
    }
    data.update(extra)
    return Config.model_validate(data)


def event(
    url: str, source: str = "feed", title: str = "Botox and mood", when: datetime | None = None
) -> ArticleEvent:
    return ArticleEvent(title, url, when or datetime(2024, 3, 20, 2, tzinfo=UTC), "", None, source)


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.glow.example/blog/botox-depression/",
        "https://WWW.Glow.Example/blog/botox-depression",
        "HTTPS://www.glow.example/blog/botox-depression#comments",
        "https://www.glow.example/blog/botox-depression/?utm_source=rss&utm_medium=feed",
        "https://www.glow.example:443/blog/botox-depression",
    ],
)
def test_canonical_url_ignores_case_slash_fragment_and_tracking(variant: str) -> None:
    assert canonical_url(variant) == "https://www.glow.example/blog/botox-depression"


def test_canonical_url_keeps_meaningful_query_and_path_case() -> None:
    assert (
        canonical_url("https://x.example/Post?id=2&utm_campaign=a&page=1")
        == "https://x.example/Post?id=2&page=1"
    )
    assert canonical_url("https://x.example/a?id=1") != canonical_url("https://x.example/a?id=2")


def test_the_seed_closure_printed_twice_is_one_notice() -> None:
    closure = {
        "start": "2024-03-26",
        "end": "2024-03-27",
        "reason": "our annual team bonding event",
    }
    notices = build(clinic(closures=[closure, dict(closure)]), [])
    assert [n.id for n in notices.items] == ["closure-2024-03-26"]
    assert notices.duplicates == ["closures[1] repeats closure-2024-03-26: announced once"]


def test_naming_every_outlet_is_the_same_closure_as_naming_none() -> None:
    base = {"start": "2024-03-26", "end": "2024-03-27", "reason": "team event"}
    notices = build(clinic(closures=[base, {**base, "outlets": ["Tampines", "Orchard"]}]), [])
    assert len(notices.items) == 1


def test_closures_of_different_outlets_are_different_notices() -> None:
    base = {"start": "2024-03-26", "reason": "renovation"}
    notices = build(
        clinic(closures=[{**base, "outlets": ["Orchard"]}, {**base, "outlets": ["Tampines"]}]), []
    )
    assert [n.id for n in notices.items] == [
        "closure-2024-03-26-orchard",
        "closure-2024-03-26-tampines",
    ]


def test_closure_defaults() -> None:
    (notice,) = build(clinic(), []).items
    assert isinstance(notice, ClosureNotice)
    assert (notice.start, notice.end, notice.resume) == (
        date(2024, 3, 26),
        date(2024, 3, 27),
        date(2024, 3, 28),
    )
    assert notice.all_outlets and notice.outlets == ("Orchard", "Tampines")
    assert (notice.announce_days_before, notice.remind_days_before) == (7, 1)


def test_an_explicit_id_keeps_identity_when_dates_move() -> None:
    moved = {"id": "team-day", "start": "2024-03-27", "end": "2024-03-28", "reason": "team event"}
    (notice,) = build(clinic(closures=[moved]), []).items
    assert notice.id == "team-day"


def test_article_in_config_and_feed_under_two_guids_is_one_notice() -> None:
    config = clinic(
        articles={
            "items": [
                {
                    "title": "Can Botox Treat Depression?",
                    "url": "https://www.glow.example/blog/botox-depression/",
                    "published": "2024-03-20T10:00:00+08:00",
                    "summary": "Mood.",
                }
            ]
        }
    )
    feed = [
        event("https://WWW.glow.example/blog/botox-depression?utm_source=rss", "feed a.xml guid 1"),
        event("https://www.glow.example/blog/botox-depression", "feed a.xml guid 2"),
    ]
    notices = build(config, [*config_articles(config), *feed])
    articles = [n for n in notices.items if n.kind == "article"]
    assert [a.id for a in articles] == ["article-botox-depression"]
    assert articles[0].title == "Can Botox Treat Depression?"  # the config's own wording wins
    assert articles[0].published == datetime(2024, 3, 20, 2, tzinfo=UTC)
    assert "appears 3 times" in notices.duplicates[0]


def test_article_ids_are_stable_when_two_urls_share_a_slug() -> None:
    older = event("https://glow.example/2023/news", when=datetime(2023, 1, 1, tzinfo=UTC))
    newer = event("https://glow.example/2024/news", when=datetime(2024, 1, 1, tzinfo=UTC))
    alone, _ = article_notices([older])
    both, _ = article_notices([newer, older])
    assert alone[0].id == "article-news"
    ids = {n.canonical_url: n.id for n in both}
    assert ids["https://glow.example/2023/news"] == "article-news"
    assert ids["https://glow.example/2024/news"].startswith("article-news-")


def test_a_date_without_time_is_midnight_in_the_site_zone() -> None:
    config = clinic(
        articles={
            "items": [{"title": "T", "url": "https://glow.example/t", "published": "2024-03-20"}]
        }
    )
    (article,) = config_articles(config)
    assert article.published.isoformat() == "2024-03-20T00:00:00+08:00"
