"""Feeds fetched like a good citizen, from a real HTTP server on 127.0.0.1.

The site's feed server here behaves like a blog's: it sends ``ETag`` and ``Last-Modified``,
answers a matching conditional request with ``304 Not Modified``, and can be made slow,
broken, huge or unreachable.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broadcaster import config as config_module
from broadcaster import sources
from broadcaster.channels.base import Channel, Outgoing, Receipt
from broadcaster.config import Feed, Secrets
from broadcaster.dispatch import Dispatcher
from broadcaster.ledger import Ledger
from broadcaster.sources import read_feed

from .commands import broadcast
from .fakes.server import pause, serve

SG = ZoneInfo("Asia/Singapore")
NOW = datetime(2024, 3, 20, 9, 0, tzinfo=SG)
BLOG = "https://www.glow-aesthetics.example/blog"


def rss(*items: dict[str, Any]) -> bytes:
    """An RSS 2.0 document as WordPress writes one."""
    body = "".join(
        f"<item><title>{escape(i['title'])}</title><link>{escape(i['link'])}</link>"
        f'<guid isPermaLink="false">{escape(i["guid"])}</guid>'
        f"<pubDate>{format_datetime(i['published'])}</pubDate>"
        f"<description>{escape(i.get('summary', ''))}</description></item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Glow Aesthetics Blog</title><link>{BLOG}/</link>{body}</channel></rss>"
    ).encode()


BOTOX = {
    "title": "Can Botox Treat Depression? Here’s the Science",
    "link": f"{BLOG}/botox-depression/",
    "guid": "glow-post-4711",
    "published": datetime(2024, 3, 20, 8, 0, tzinfo=SG),
    "summary": "<p>How relaxing the frown muscles may lift mood.</p>",
}
USES = {
    "title": "Uses of Botox in Singapore",
    "link": f"{BLOG}/uses-of-botox-in-singapore/",
    "guid": "glow-post-4700",
    "published": datetime(2024, 3, 19, 10, 0, tzinfo=SG),
}


class FeedSite:
    """The blog's feed endpoint; ``etag``/``last_modified`` None means it does not send one."""

    def __init__(self) -> None:
        self.body = rss(BOTOX, USES)
        self.etag: str | None = '"v1"'
        self.last_modified: str | None = "Wed, 20 Mar 2024 00:00:00 GMT"
        self.status = 200
        self.delay = 0.0
        self.requests: list[dict[str, str]] = []
        self.responses: list[int] = []

    def publish(self, body: bytes, etag: str) -> None:
        self.body, self.etag = body, etag
        self.last_modified = "Thu, 21 Mar 2024 00:00:00 GMT"

    async def feed(self, request: Request) -> Response:
        self.requests.append(dict(request.headers))
        if self.delay:
            await pause(request, self.delay)
        response = self._respond(request)
        self.responses.append(response.status_code)
        return response

    def _respond(self, request: Request) -> Response:
        if self.status != 200:
            return Response(status_code=self.status)
        validators = {
            k: v
            for k, v in (("ETag", self.etag), ("Last-Modified", self.last_modified))
            if v is not None
        }
        match = request.headers.get("if-none-match")
        since = request.headers.get("if-modified-since")
        if (match and match == self.etag) or (not match and since and since == self.last_modified):
            return Response(status_code=304, headers=validators)
        return Response(self.body, media_type="application/rss+xml", headers=validators)


@pytest.fixture
def site() -> FeedSite:
    return FeedSite()


@pytest.fixture
def feed_url(site: FeedSite) -> Iterator[str]:
    with serve(Starlette(routes=[Route("/feed/", site.feed)])) as base:
        yield f"{base}/feed/"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield ledger
    ledger.close()


async def read(url: str, store: Ledger | None) -> tuple[list[Any], str | None]:
    async with httpx.AsyncClient() as client:
        events, problem = await read_feed(Feed(url=url), client, store)
    return events, str(problem) if problem else None


# -- conditional GET ----------------------------------------------------------------------------


async def test_a_304_reuses_the_stored_items(site: FeedSite, feed_url: str, store: Ledger) -> None:
    first, problem = await read(feed_url, store)
    assert problem is None and [e.title for e in first] == [BOTOX["title"], USES["title"]]
    again, problem = await read(feed_url, store)
    assert site.responses == [200, 304]
    assert site.requests[1]["if-none-match"] == '"v1"'
    assert site.requests[1]["if-modified-since"] == "Wed, 20 Mar 2024 00:00:00 GMT"
    assert problem is None and again == first


async def test_items_stored_before_feed_text_was_parsed_as_html_are_fetched_again(
    site: FeedSite, feed_url: str, store: Ledger
) -> None:
    await read(feed_url, store)
    key = sources._cache_key(feed_url)
    old = json.loads(store.get_value(key) or "")
    del old["text"]  # as stored by the regex stripper: "Lip Fillers &amp; ..." titles
    old["items"][0]["title"] = "Can Botox Treat Depression? Here&#8217;s the Science"
    store.set_value(key, json.dumps(old))

    again, problem = await read(feed_url, store)
    assert site.responses == [200, 200]  # not a 304 that would reuse the old text
    assert "if-none-match" not in site.requests[1]
    assert problem is None and again[0].title == BOTOX["title"]


async def test_last_modified_alone_is_enough(site: FeedSite, feed_url: str, store: Ledger) -> None:
    site.etag = None
    await read(feed_url, store)
    again, _problem = await read(feed_url, store)
    assert site.responses == [200, 304]
    assert "if-none-match" not in site.requests[1]
    assert [e.url for e in again] == [BOTOX["link"], USES["link"]]


async def test_a_changed_feed_replaces_the_stored_copy(
    site: FeedSite, feed_url: str, store: Ledger
) -> None:
    await read(feed_url, store)
    new = {**BOTOX, "title": "New: Skin boosters", "link": f"{BLOG}/skin-boosters/", "guid": "9"}
    site.publish(rss(new, BOTOX), '"v2"')
    changed, _problem = await read(feed_url, store)
    unchanged, _problem = await read(feed_url, store)
    assert site.responses == [200, 200, 304]
    assert site.requests[1]["if-none-match"] == '"v1"'
    assert (
        [e.title for e in changed]
        == [e.title for e in unchanged]
        == [
            "New: Skin boosters",
            BOTOX["title"],
        ]
    )


async def test_without_a_store_every_fetch_is_in_full(site: FeedSite, feed_url: str) -> None:
    await read(feed_url, None)
    await read(feed_url, None)
    assert site.responses == [200, 200]
    assert "if-none-match" not in site.requests[1]


# -- what goes wrong ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_feed_is_reported() -> None:
    url = f"http://127.0.0.1:{free_port()}/feed/"
    events, problem = await read(url, None)
    assert events == []
    assert problem is not None and problem.startswith(f"feed {url}: unreachable (ConnectError")


async def test_an_outage_falls_back_to_the_last_good_items(
    site: FeedSite, feed_url: str, store: Ledger
) -> None:
    first, _problem = await read(feed_url, store)
    site.status = 503
    events, problem = await read(feed_url, store)
    assert events == first
    assert problem == (
        f"feed {feed_url}: unreachable (HTTP 503); using the 2 items of the last successful fetch"
    )


async def test_a_slow_feed_times_out(
    site: FeedSite, feed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "FEED_TIMEOUT", httpx.Timeout(0.2))
    site.delay = 10
    events, problem = await read(feed_url, None)
    assert events == []
    assert problem == f"feed {feed_url}: unreachable (ReadTimeout)"


async def test_an_oversized_feed_is_cut_off(
    site: FeedSite, feed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "FEED_MAX_BYTES", 1000)
    site.body = rss(*[{**USES, "guid": str(n)} for n in range(20)])
    events, problem = await read(feed_url, None)
    assert events == []
    assert problem == f"feed {feed_url}: too large (over 1000 bytes)"


async def test_a_malformed_feed_is_reported_and_not_stored(
    site: FeedSite, feed_url: str, store: Ledger
) -> None:
    site.body = b"<rss><channel><item><title>broken"
    events, problem = await read(feed_url, store)
    assert events == []
    assert problem is not None and problem.startswith(
        f"feed {feed_url}: not a valid RSS/Atom feed ("
    )
    await read(feed_url, store)
    assert site.responses == [200, 200]  # nothing was stored, so nothing to revalidate
    assert "if-none-match" not in site.requests[1]


# -- through a whole pass -----------------------------------------------------------------------


class Recording(Channel):
    """An article channel that records what it sends."""

    name = "recorder"
    accepts = frozenset({"publish"})

    def __init__(self) -> None:
        self.sent: list[str] = []

    def build(self, outgoing: Outgoing) -> str:
        return outgoing.message["text"]

    async def send(self, payload: str) -> Receipt:
        self.sent.append(payload)
        return {"id": str(len(self.sent))}


CONFIG = """\
site:
  name: "Glow Aesthetics"
  url: "https://www.glow-aesthetics.example"
  timezone: "Asia/Singapore"
  outlets: ["Orchard", "Tampines"]
closures:
  - start: 2024-03-26
    end: 2024-03-27
    reason: "our annual team bonding event"
articles:
  max_age_days: 3
  feeds:
    - url: "{feed}"
channels:
  banner:
    output_dir: "site/notices"
database: "sqlite:///var/broadcaster.db"
"""


async def run_pass(project: Path, feed: str, recorder: Recording, now: datetime = NOW) -> Any:
    path = project / "config/broadcaster.yaml"
    path.write_text(CONFIG.replace("{feed}", feed), encoding="utf-8")
    loaded = config_module.load(path)
    ledger = Ledger(loaded.config.database)
    try:
        async with httpx.AsyncClient() as http:
            dispatcher = Dispatcher(loaded, Secrets(), ledger, http, extra_channels=[recorder])
            return await dispatcher.run(now)
    finally:
        ledger.close()


async def test_a_changed_guid_with_the_same_url_is_the_same_article(
    project: Path, site: FeedSite, feed_url: str
) -> None:
    recorder = Recording()
    site.body = rss(BOTOX)
    await run_pass(project, feed_url, recorder)
    site.publish(rss({**BOTOX, "guid": "https://www.glow-aesthetics.example/?p=4711"}), '"v2"')
    report = await run_pass(project, feed_url, recorder, NOW + timedelta(minutes=15))
    assert site.responses == [200, 200]  # the second pass really read the new GUID
    assert len(recorder.sent) == 1 and BOTOX["title"] in recorder.sent[0]
    rows = [(r.notice_id, r.status) for r in report.rows if r.channel == "recorder"]
    assert rows == [("article-botox-depression", "already sent")]


async def test_a_new_feed_of_fifty_old_posts_sends_nothing(
    project: Path, site: FeedSite, feed_url: str
) -> None:
    old = [
        {
            **USES,
            "link": f"{BLOG}/post-{n}/",
            "guid": str(n),
            "published": NOW - timedelta(days=4 + n),
        }
        for n in range(50)
    ]
    site.body = rss(*old)
    recorder = Recording()
    report = await run_pass(project, feed_url, recorder)
    assert recorder.sent == []
    statuses = [r.status for r in report.rows if r.channel == "recorder"]
    assert len(statuses) == 50 and set(statuses) == {"stale"}


async def test_an_unreachable_feed_never_stops_the_closures(project: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/feed/"
    report = await run_pass(project, url, Recording())
    (problem,) = report.feed_problems
    assert str(problem).startswith(f"feed {url}: unreachable (")
    banner = [(r.notice_id, r.status) for r in report.rows if r.channel == "banner"]
    assert banner == [("closure-2024-03-26", "sent")]


@pytest.mark.parametrize(
    "command",
    [
        ["validate"],  # its template proof and its dry run
        ["send", "closure-2024-03-26"],  # finding the notice, then the pass
        ["preview", "closure-2024-03-26"],
    ],
)
def test_a_command_that_looks_at_the_notices_before_its_pass_reads_each_feed_once(
    project: Path, site: FeedSite, feed_url: str, command: list[str]
) -> None:
    (project / "config/broadcaster.yaml").write_text(
        CONFIG.replace("{feed}", feed_url), encoding="utf-8"
    )
    code, output = broadcast(*command, "--now", NOW.isoformat())
    assert code == 0, output
    assert site.responses == [200]
