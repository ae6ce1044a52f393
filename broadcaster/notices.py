"""Events become notices: one per real-world event, with an id that never changes.

Why identity matters: the ledger remembers what went out by notice id, so the id must be the
same on every run (``closure-2024-03-26``, ``article-botox-depression``) and the same event
entered twice -- the seed page printed its closure twice -- must collapse into one notice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from broadcaster.config import Closure, Config

Kind = Literal["closure", "article"]


@dataclass(frozen=True)
class ClosureNotice:
    """The outlets named are closed from ``start`` to ``end`` inclusive and reopen on ``resume``."""

    id: str
    start: date
    end: date
    resume: date
    reason: str
    outlets: tuple[str, ...]
    all_outlets: bool
    announce_days_before: int
    remind_days_before: int
    message: str | None = None  # the admin's own wording, used instead of the default sentence
    kind: Kind = field(default="closure", init=False)

    def fingerprint(self) -> str:
        """What, if changed after announcing, makes the announcement wrong."""
        # a closure without a custom message keeps the digest it had before messages existed
        custom = (self.message,) if self.message else ()
        return _digest(self.start, self.end, self.resume, self.reason, self.outlets, *custom)

    def facts(self) -> dict[str, Any]:
        """The closure as JSON, for publishers (calendar, opening hours, listings)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "resume": self.resume.isoformat(),
            "outlets": list(self.outlets),
            "all_outlets": self.all_outlets,
            "reason": self.reason,
        }

    def context(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "resume": self.resume,
            "reason": self.reason,
            "outlets": list(self.outlets),
            "all_outlets": self.all_outlets,
            "single_day": self.start == self.end,
            "days": (self.end - self.start).days + 1,
            "message": self.message,
        }


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
    kind: Kind = field(default="article", init=False)

    def fingerprint(self) -> str:
        return _digest(self.canonical_url, self.title)

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


Notice = ClosureNotice | ArticleNotice


@dataclass(frozen=True)
class ArticleEvent:
    """One article as one source saw it (a config item or a feed entry)."""

    title: str
    url: str
    published: datetime
    summary: str
    image: str | None
    source: str


@dataclass
class Notices:
    """The deduplicated notices and what was merged to get them (shown by ``validate``)."""

    items: list[Notice]
    duplicates: list[str]

    def get(self, notice_id: str) -> Notice | None:
        return next((n for n in self.items if n.id == notice_id), None)


def build(config: Config, articles: Iterable[ArticleEvent]) -> Notices:
    closures, closure_dups = closure_notices(config)
    article_list, article_dups = article_notices(articles)
    return Notices([*closures, *article_list], closure_dups + article_dups)


def closure_notices(config: Config) -> tuple[list[ClosureNotice], list[str]]:
    """One notice per distinct (dates, outlets); a repeated entry is merged and reported."""
    by_key: dict[tuple[object, ...], ClosureNotice] = {}
    duplicates = []
    used_ids: set[str] = set()
    for index, closure in enumerate(config.closures):
        outlets = tuple(closure.outlets or config.site.outlets)
        key = (closure.start, closure.last_day, tuple(sorted(outlets)))
        if key in by_key:
            duplicates.append(f"closures[{index}] repeats {by_key[key].id}: announced once")
            continue
        notice = _closure_notice(closure, outlets, config.site.outlets, used_ids)
        used_ids.add(notice.id)
        by_key[key] = notice
    return list(by_key.values()), duplicates


def _closure_notice(
    closure: Closure, outlets: tuple[str, ...], site_outlets: list[str], used: set[str]
) -> ClosureNotice:
    all_outlets = set(outlets) == set(site_outlets)
    notice_id = closure.id or f"closure-{closure.start.isoformat()}"
    if not closure.id and not all_outlets:
        notice_id += "-" + "-".join(slug(o) for o in sorted(outlets))
    if notice_id in used:
        notice_id += f"-to-{closure.last_day.isoformat()}"
    return ClosureNotice(
        id=notice_id,
        start=closure.start,
        end=closure.last_day,
        resume=closure.resume or closure.last_day + timedelta(days=1),
        reason=closure.reason.strip(),
        outlets=outlets,
        all_outlets=all_outlets,
        announce_days_before=closure.announce_days_before,
        remind_days_before=closure.remind_days_before,
        message=closure.message.strip() if closure.message else None,
    )


def config_articles(config: Config) -> list[ArticleEvent]:
    tz = config.site.tz
    return [
        ArticleEvent(
            item.title,
            item.url,
            as_instant(item.published, tz),
            item.summary,
            item.image,
            f"articles.items[{index}]",
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
        + (slug(urlsplit(canonical).path.rsplit("/", 1)[-1]) or _digest(canonical)[:8]),
        title=first.title.strip(),
        url=first.url,
        canonical_url=canonical,
        published=min(e.published for e in group),
        summary=next((e.summary for e in group if e.summary), ""),
        image=next((e.image for e in group if e.image), None),
        sources=tuple(e.source for e in group),
    )


def _unique_article_ids(notices: list[ArticleNotice]) -> list[ArticleNotice]:
    """Two URLs with the same last segment: the older keeps the plain id, so ids stay stable."""
    seen: set[str] = set()
    result = []
    for notice in sorted(notices, key=lambda n: (n.published, n.canonical_url)):
        if notice.id in seen:
            notice = _replace_id(notice, f"{notice.id}-{_digest(notice.canonical_url)[:6]}")
        seen.add(notice.id)
        result.append(notice)
    return result


def _replace_id(notice: ArticleNotice, new_id: str) -> ArticleNotice:
    from dataclasses import replace

    return replace(notice, id=new_id)


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


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].rstrip("-")


def as_instant(value: datetime | date, tz: ZoneInfo) -> datetime:
    """A config or feed time as an aware instant; a bare date or naive time is site-local."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tz)
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
