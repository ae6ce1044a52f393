"""Where events come from: the config's closures and articles, and the site's RSS/Atom feeds.

A feed that cannot be fetched or parsed is reported and skipped: it must never stop the
closures (or the other feeds) from going out.

Feeds are fetched like a good citizen, since the worker polls them every few minutes: with a
timeout and a size cap, and conditionally. The ``ETag``/``Last-Modified`` of the last good
response and the items it held are kept in a small key-value ``Store`` (the ledger's
database); the next request sends them back, and a ``304 Not Modified`` reuses the stored
items. When a feed is unreachable its stored items are still used (and the outage reported),
so a retry of an article that is due never waits for the site to come back.

Nothing here decides what is sent: an old item is just an old notice, and the schedule never
sends an article outside ``max_age_days`` -- so a new feed with 50 old posts sends nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from broadcaster.config import Config, Feed
from broadcaster.notices import ArticleEvent, Notices, build, config_articles
from broadcaster.plaintext import feed_summary, feed_title

if TYPE_CHECKING:
    from broadcaster.channels.base import Store

FEED_TIMEOUT = httpx.Timeout(10.0)
FEED_MAX_BYTES = 5 * 1024 * 1024
CACHE_PREFIX = "feed:"
#: how stored items' text was made; items stored by an older way are fetched again in full
TEXT_VERSION = 2


@dataclass(frozen=True)
class FeedProblem:
    url: str
    message: str

    def __str__(self) -> str:
        return f"feed {self.url}: {self.message}"


async def gather_notices(
    config: Config, client: httpx.AsyncClient, store: Store | None = None
) -> tuple[Notices, list[FeedProblem]]:
    """All notices from config and feeds, deduplicated, plus the feeds that failed.

    With a ``store``, feeds are fetched conditionally and their last good items remembered.
    """
    results = await asyncio.gather(
        *(read_feed(feed, client, store) for feed in config.articles.feeds)
    )
    events = config_articles(config)
    problems: list[FeedProblem] = []
    for feed_events, problem in results:
        events.extend(feed_events)
        if problem:
            problems.append(problem)
    return build(config, events), problems


async def read_feed(
    feed: Feed, client: httpx.AsyncClient, store: Store | None = None
) -> tuple[list[ArticleEvent], FeedProblem | None]:
    """One feed's items, and what went wrong with it, if anything (never raises)."""
    cached = _cached(store, feed.url)
    try:
        fetched = await _fetch(feed.url, client, cached)
    except (OSError, httpx.HTTPError, _TooLarge) as exc:
        reason = str(exc) if isinstance(exc, _TooLarge) else f"unreachable ({_describe(exc)})"
        if cached and cached.events:
            reason += f"; using the {len(cached.events)} items of the last successful fetch"
        return (cached.events if cached else []), FeedProblem(feed.url, reason)
    if fetched is None:  # 304 Not Modified: what we stored is still the feed
        return (cached.events if cached else []), None
    import feedparser  # only where a feed is read: 40 ms of regular expressions to compile

    parsed = feedparser.parse(fetched.body)
    events = [e for e in (_event(entry, feed.url) for entry in parsed.entries) if e]
    error = parsed.get("bozo_exception")
    if parsed.bozo and not isinstance(error, feedparser.CharacterEncodingOverride):
        used = f"; {len(events)} complete items used" if events else ""
        return events, FeedProblem(feed.url, f"not a valid RSS/Atom feed ({error}){used}")
    if store is not None and fetched.remote:
        _remember(store, feed.url, _Cached(fetched.etag, fetched.last_modified, events))
    return events, None


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class _Fetched:
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    remote: bool = True


@dataclass(frozen=True)
class _Cached:
    """What the last good response said: its validators and the items it held."""

    etag: str | None
    last_modified: str | None
    events: list[ArticleEvent]


async def _fetch(url: str, client: httpx.AsyncClient, cached: _Cached | None) -> _Fetched | None:
    """The feed's bytes, or None when the server says our stored copy is current (304)."""
    if not url.startswith(("http://", "https://")):
        path = Path(url)
        if path.stat().st_size > FEED_MAX_BYTES:
            raise _TooLarge(f"too large (over {FEED_MAX_BYTES} bytes)")
        return _Fetched(path.read_bytes(), remote=False)
    headers = {}
    if cached and cached.etag:
        headers["If-None-Match"] = cached.etag
    if cached and cached.last_modified:
        headers["If-Modified-Since"] = cached.last_modified
    async with client.stream(
        "GET", url, headers=headers, timeout=FEED_TIMEOUT, follow_redirects=True
    ) as response:
        if response.status_code == 304 and headers:
            return None
        response.raise_for_status()
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > FEED_MAX_BYTES:
                raise _TooLarge(f"too large (over {FEED_MAX_BYTES} bytes)")
            chunks.append(chunk)
    return _Fetched(
        b"".join(chunks), response.headers.get("ETag"), response.headers.get("Last-Modified")
    )


def _cache_key(url: str) -> str:
    return CACHE_PREFIX + hashlib.sha256(url.encode()).hexdigest()[:40]


def _cached(store: Store | None, url: str) -> _Cached | None:
    """The stored copy of a remote feed; an unreadable one is as good as none."""
    raw = store.get_value(_cache_key(url)) if store is not None else None
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        events = [
            ArticleEvent(
                title=item["title"],
                url=item["url"],
                published=datetime.fromisoformat(item["published"]),
                summary=item["summary"],
                image=item["image"],
                source=f"feed {url}",
            )
            for item in data["items"]
        ]
    except (ValueError, KeyError, TypeError):
        return None
    if data.get("text") != TEXT_VERSION:
        return None
    return _Cached(data.get("etag"), data.get("last_modified"), events)


def _remember(store: Store, url: str, cached: _Cached) -> None:
    value = json.dumps(
        {
            "url": url,
            "text": TEXT_VERSION,
            "etag": cached.etag,
            "last_modified": cached.last_modified,
            "items": [
                {
                    "title": e.title,
                    "url": e.url,
                    "published": e.published.isoformat(),
                    "summary": e.summary,
                    "image": e.image,
                }
                for e in cached.events
            ],
        },
        ensure_ascii=False,
    )
    key = _cache_key(url)
    if store.get_value(key) != value:
        store.set_value(key, value)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


def _event(entry: Any, source: str) -> ArticleEvent | None:
    link = entry.get("link")
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    title = feed_title(entry.get("title", ""), _type(entry, "title_detail"))
    if not link or not stamp or not title:
        return None
    return ArticleEvent(
        title=title,
        url=link,
        published=datetime(*stamp[:6]).replace(tzinfo=UTC),
        summary=feed_summary(entry.get("summary", ""), _type(entry, "summary_detail")),
        image=_image(entry),
        source=f"feed {source}",
    )


def _type(entry: Any, detail: str) -> str:
    """The MIME type feedparser found for a field: HTML unless it said plain text."""
    return str((entry.get(detail) or {}).get("type") or "text/html")


def _image(entry: Any) -> str | None:
    for media in entry.get("media_content", []) + entry.get("media_thumbnail", []):
        if media.get("url"):
            return str(media["url"])
    for enclosure in entry.get("enclosures", []):
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return str(enclosure["href"])
    return None
