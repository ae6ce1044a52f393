"""An article: published once, within ``articles.max_age_days`` of its date.

Its identity is its canonical URL, whatever feed GUIDs say, so the same article in a feed
and in the config (under another GUID, with ``utm_*`` parameters, another host case or a
trailing slash) is one notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from broadcaster.config_fields import text_in
from broadcaster.config_model import Config
from broadcaster.notices.base import (
    Moment,
    Occasion,
    PostFields,
    Translations,
    digest,
    language_part,
    slug,
    translated,
)


@dataclass(frozen=True)
class ArticleNotice:
    """A published article; identity is its canonical URL, whatever feed GUIDs say."""

    id: str
    title: str
    url: str
    canonical_url: str
    published: datetime
    summary: str = ""
    image: str | None = None
    sources: tuple[str, ...] = ()
    translations: Translations = ()  # title and summary in the site's other languages
    language: str = ""  # "" as configured; see notices.base.variant
    kind: str = field(default="article", init=False)

    primary: ClassVar[Occasion] = "publish"
    correctable: ClassVar[bool] = False

    def fingerprint(self) -> str:
        return digest(self.canonical_url, self.title, *language_part(self))

    def moments(self, tz: ZoneInfo, max_age_days: int) -> list[Moment]:
        closes = self.published + timedelta(days=max_age_days)
        return [Moment(self, "publish", self.published, closes)]

    def facts(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "url": self.url,
            "published": self.published.isoformat(),
            "summary": self.summary,
            "image": self.image,
            **({"language": self.language} if self.language else {}),
        }

    def context(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "url": self.url,
            "published": self.published,
            "summary": self.summary,
            "image": self.image,
        }

    def post_fields(self) -> PostFields:
        return PostFields(self.url, self.image, self.title, self.summary)


@dataclass(frozen=True)
class ArticleEvent:
    """One article as one source saw it (a config item or a feed entry)."""

    title: str
    url: str
    published: datetime
    summary: str
    image: str | None
    source: str
    translations: Translations = ()  # a config item's title and summary in other languages


def config_articles(config: Config) -> list[ArticleEvent]:
    tz = config.site.tz
    default = config.site.all_languages[0]
    return [
        ArticleEvent(
            text_in(item.title, default, default),
            item.url,
            as_instant(item.published, tz),
            text_in(item.summary, default, default),
            item.image,
            f"articles.items[{index}]",
            translated({"title": item.title, "summary": item.summary}, default),
        )
        for index, item in enumerate(config.articles.items)
    ]


def article_notices(events: Iterable[ArticleEvent]) -> tuple[list[ArticleNotice], list[str]]:
    """Merge events by canonical URL: the first source wins, the earliest date is kept."""
    merged: dict[str, list[ArticleEvent]] = {}
    for event in events:
        merged.setdefault(canonical_url(event.url), []).append(event)
    duplicates = [
        f"article {url} appears {len(group)} times ({', '.join(e.source for e in group)}): sent once"
        for url, group in merged.items()
        if len(group) > 1
    ]
    notices = [_article_notice(url, group) for url, group in merged.items()]
    return _unique_article_ids(notices), duplicates


def _article_notice(canonical: str, group: list[ArticleEvent]) -> ArticleNotice:
    first = group[0]
    return ArticleNotice(
        id="article-"
        + (slug(urlsplit(canonical).path.rsplit("/", 1)[-1]) or digest(canonical)[:8]),
        title=first.title.strip(),
        url=first.url,
        canonical_url=canonical,
        published=min(e.published for e in group),
        summary=next((e.summary for e in group if e.summary), ""),
        image=next((e.image for e in group if e.image), None),
        sources=tuple(e.source for e in group),
        translations=next((e.translations for e in group if e.translations), ()),
    )


def _unique_article_ids(notices: list[ArticleNotice]) -> list[ArticleNotice]:
    """Two URLs with the same last segment: the older keeps the plain id, so ids stay stable."""
    seen: set[str] = set()
    result = []
    for notice in sorted(notices, key=lambda n: (n.published, n.canonical_url)):
        if notice.id in seen:
            notice = replace(notice, id=f"{notice.id}-{digest(notice.canonical_url)[:6]}")
        seen.add(notice.id)
        result.append(notice)
    return result


def canonical_url(url: str) -> str:
    """The article's identity: case of scheme/host, trailing slash, fragment, utm_* ignored."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.port and (parts.scheme.lower(), parts.port) not in (("http", 80), ("https", 443)):
        host += f":{parts.port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_")
    )
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), host, path, urlencode(query), ""))


def as_instant(value: datetime | date, tz: ZoneInfo) -> datetime:
    """A config or feed time as an aware instant; a bare date or naive time is site-local."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tz)
    return value if value.tzinfo else value.replace(tzinfo=tz)


def sample_article(config: Config) -> ArticleNotice:
    """An article with every field, for proving the templates of a config that has none."""
    return ArticleNotice(
        "sample-article",
        "A sample article",
        "https://example.org/blog/sample",
        "https://example.org/blog/sample",
        datetime(2024, 3, 20, tzinfo=UTC),
        summary="A sample summary.",
        image="https://example.org/images/sample.jpg",
    )
