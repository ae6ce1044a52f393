"""Where events come from: the config's closures and articles, and the site's RSS/Atom feeds.

A feed that cannot be fetched or parsed is reported and skipped: it must never stop the
closures (or the other feeds) from going out.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx

from broadcaster.config import Config, Feed
from broadcaster.notices import ArticleEvent, Notices, build, config_articles

FEED_TIMEOUT = httpx.Timeout(10.0)
FEED_MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class FeedProblem:
    url: str
    message: str

    def __str__(self) -> str:
        return f"feed {self.url}: {self.message}"


async def gather_notices(
    config: Config, client: httpx.AsyncClient
) -> tuple[Notices, list[FeedProblem]]:
    """All notices from config and feeds, deduplicated, plus the feeds that failed."""
    results = await asyncio.gather(*(read_feed(feed, client) for feed in config.articles.feeds))
    events = config_articles(config)
    problems: list[FeedProblem] = []
    for feed_events, problem in results:
        events.extend(feed_events)
        if problem:
            problems.append(problem)
    return build(config, events), problems


async def read_feed(
    feed: Feed, client: httpx.AsyncClient
) -> tuple[list[ArticleEvent], FeedProblem | None]:
    try:
        body = await _fetch(feed.url, client)
    except (OSError, httpx.HTTPError, _TooLarge) as exc:
        return [], FeedProblem(feed.url, f"unreachable ({_describe(exc)})")
    parsed = feedparser.parse(body)
    events = [e for e in (_event(entry, feed.url) for entry in parsed.entries) if e]
    error = parsed.get("bozo_exception")
    if parsed.bozo and not isinstance(error, feedparser.CharacterEncodingOverride):
        used = f"; {len(events)} complete items used" if events else ""
        return events, FeedProblem(feed.url, f"not a valid RSS/Atom feed ({error}){used}")
    return events, None


class _TooLarge(Exception):
    pass


async def _fetch(url: str, client: httpx.AsyncClient) -> bytes:
    if not url.startswith(("http://", "https://")):
        path = Path(url)
        if path.stat().st_size > FEED_MAX_BYTES:
            raise _TooLarge(f"over {FEED_MAX_BYTES} bytes")
        return path.read_bytes()
    async with client.stream("GET", url, timeout=FEED_TIMEOUT, follow_redirects=True) as response:
        response.raise_for_status()
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > FEED_MAX_BYTES:
                raise _TooLarge(f"over {FEED_MAX_BYTES} bytes")
            chunks.append(chunk)
    return b"".join(chunks)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


def _event(entry: Any, source: str) -> ArticleEvent | None:
    link = entry.get("link")
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    if not link or not stamp or not entry.get("title"):
        return None
    return ArticleEvent(
        title=entry["title"],
        url=link,
        published=datetime(*stamp[:6]).replace(tzinfo=UTC),
        summary=_plain(entry.get("summary", "")),
        image=_image(entry),
        source=f"feed {source}",
    )


def _plain(html: str) -> str:
    """Feed summaries are HTML; templates want text (they escape it themselves)."""
    import html as html_lib
    import re

    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _image(entry: Any) -> str | None:
    for media in entry.get("media_content", []) + entry.get("media_thumbnail", []):
        if media.get("url"):
            return str(media["url"])
    for enclosure in entry.get("enclosures", []):
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return str(enclosure["href"])
    return None
