"""The Instagram channel against FakeGraph: the card, containers, polling, never twice, quota.

The card is written into a folder served by a real local web server, and the fake fetches
it from there at container creation, as Meta does.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from broadcaster.channels.base import Outgoing
from broadcaster.channels.cards import Cards
from broadcaster.channels.instagram import CONTAINER_KEY, PUBLISHED_KEY, InstagramChannel
from broadcaster.config import Site
from broadcaster.errors import PermanentError, RetryableError
from tests.fakes.conftest import Running, running
from tests.fakes.graph import FakeGraph, static_site
from tests.fakes.server import serve
from tests.fakes.support import MemoryStore, article, outgoing

Graph = Running[FakeGraph]
SITE = Site(name="Glow Aesthetics", url="https://www.glow-aesthetics.example")
FACTS = {
    "kind": "closure",
    "hours": None,
    "start": "2024-03-26",
    "end": "2024-03-27",
    "resume": "2024-03-28",
    "outlets": ["Orchard", "Tampines"],
    "all_outlets": True,
    "reason": "our annual team bonding event",
}
CAPTION = "Our outlets will be closed from 26 Mar (Tue) to 27 Mar (Wed)."


@dataclass
class World:
    graph: Graph
    cards: Cards
    store: MemoryStore
    http: httpx.AsyncClient

    def channel(self, **kwargs: Any) -> InstagramChannel:
        values: dict[str, Any] = {
            "token": self.graph.fake.ig_token,
            "user_id": self.graph.fake.ig_user_id,
            "cards": self.cards,
            "store": self.store,
            "poll_seconds": 0.01,
            "poll_attempts": 3,
        }
        return InstagramChannel(self.http, api_url=self.graph.url, **(values | kwargs))


@pytest.fixture
def website(tmp_path: Path) -> Iterator[str]:
    with serve(static_site(tmp_path / "notices")) as url:
        yield url


@pytest.fixture
def graph() -> Iterator[Graph]:
    with running(FakeGraph()) as r:
        yield r


@pytest.fixture
async def world(graph: Graph, website: str, tmp_path: Path) -> AsyncIterator[World]:
    async with httpx.AsyncClient(timeout=5.0, verify=False) as http:  # loopback, no TLS
        yield World(graph, Cards(tmp_path / "notices", website, SITE), MemoryStore(), http)


def closure(text: str = CAPTION, **fields: Any) -> Outgoing:
    return replace(outgoing(text, channel="instagram", **fields), facts=FACTS)


async def post(ch: InstagramChannel, item: Outgoing | None = None) -> dict[str, Any]:
    return await ch.send(ch.build(item or closure()))


def container_key(item: Outgoing) -> str:
    return CONTAINER_KEY + hashlib.sha256(item.key.encode()).hexdigest()


# Standard sends -----------------------------------------------------------------------------


async def test_a_closure_is_its_card_captioned_with_the_message(world: World) -> None:
    receipt = await post(world.channel())
    fake = world.graph.fake
    (container,) = fake.containers.values()
    (media,) = fake.media
    card = world.cards.card(closure())
    assert container["image_url"] == card.url and fake.fetched == [card.url]
    assert card.url.startswith(world.cards.public_url + "/cards/closure-2024-03-26-")
    assert container["caption"] == CAPTION
    assert container["alt_text"].startswith("Glow Aesthetics: closed 26 March – 27 March")
    assert world.cards.path(card).is_file()
    assert receipt == {"id": media["id"], "container_id": container["id"], "image_url": card.url}
    paths = [(r["http_method"], r["path"]) for r in fake.requests]
    user = f"/v24.0/{fake.ig_user_id}"
    assert paths == [
        ("GET", f"{user}/content_publishing_limit"),
        ("POST", f"{user}/media"),
        ("GET", f"/v24.0/{container['id']}"),  # IN_PROGRESS
        ("GET", f"/v24.0/{container['id']}"),  # FINISHED
        ("POST", f"{user}/media_publish"),
    ]
    assert fake.requests[-1]["params"] == {"creation_id": container["id"]}
    assert all(r["headers"]["authorization"] == f"Bearer {fake.ig_token}" for r in fake.requests)


async def test_an_article_card_shows_its_title(world: World) -> None:
    ch = world.channel()
    item = article("New on our blog: Can Botox Treat Depression?", channel="instagram")
    payload = ch.build(item)
    assert payload.card.text.headline == "Can Botox Treat Depression? Here’s the Science"
    await ch.send(payload)
    assert len(world.graph.fake.media) == 1


async def test_check_reads_the_account_and_its_quota(world: World) -> None:
    assert await world.channel().check() == (
        f"instagram: the token reads @glowaesthetics ({world.graph.fake.ig_user_id}); "
        "0 of 50 posts used in the last 24 h"
    )


def test_too_many_hashtags_are_refused_before_anything_is_sent(world: World) -> None:
    with pytest.raises(PermanentError, match="31 hashtags"):
        world.channel().build(closure(" ".join(f"#t{i}" for i in range(31))))


# Never published twice ----------------------------------------------------------------------


async def test_a_container_still_processing_is_resumed_not_recreated(world: World) -> None:
    world.graph.fake.polls_until_finished = 5
    ch = world.channel(poll_attempts=2)
    payload = ch.build(closure())
    with pytest.raises(RetryableError, match="still processing after 2 checks"):
        await ch.send(payload)
    assert world.store.get_value(container_key(closure())) in world.graph.fake.containers
    with pytest.raises(RetryableError, match="still processing"):
        await ch.send(payload)
    receipt = await ch.send(payload)
    assert len(world.graph.fake.containers) == 1 and len(world.graph.fake.media) == 1
    assert receipt["container_id"] == next(iter(world.graph.fake.containers))


async def test_a_lost_publish_reply_counts_as_sent_on_the_retry(world: World) -> None:
    world.graph.fake.fail_after_publish()
    ch = world.channel()
    payload = ch.build(closure())
    with pytest.raises(RetryableError, match="lost before the reply"):
        await ch.send(payload)
    assert len(world.graph.fake.media) == 1
    receipt = await ch.send(payload)
    assert receipt["found"] is True and len(world.graph.fake.media) == 1
    assert len(world.graph.fake.containers) == 1


async def test_an_expired_container_is_replaced_by_a_fresh_one(world: World) -> None:
    world.graph.fake.polls_until_finished = 5
    ch = world.channel(poll_attempts=1)
    payload = ch.build(closure())
    with pytest.raises(RetryableError, match="still processing"):
        await ch.send(payload)
    world.graph.fake.expire_containers()
    with pytest.raises(RetryableError, match="expired unpublished; the next attempt makes a fresh"):
        await ch.send(payload)
    world.graph.fake.polls_until_finished = 0
    await ch.send(payload)
    statuses = sorted(c["status_code"] for c in world.graph.fake.containers.values())
    assert statuses == ["EXPIRED", "PUBLISHED"] and len(world.graph.fake.media) == 1


async def test_a_container_error_is_permanent(world: World) -> None:
    world.graph.fake.next_container = ("ERROR", "ERROR: unsupported image (2207026)")
    with pytest.raises(PermanentError, match=r"failed \(ERROR: unsupported image"):
        await post(world.channel())
    assert world.graph.fake.media == []


async def test_a_failed_download_in_the_container_gets_a_fresh_container(world: World) -> None:
    world.graph.fake.next_container = ("ERROR", "Media download has failed (2207052)")
    ch = world.channel()
    payload = ch.build(closure())
    with pytest.raises(RetryableError, match="Meta could not fetch the card"):
        await ch.send(payload)
    await ch.send(payload)
    assert len(world.graph.fake.containers) == 2 and len(world.graph.fake.media) == 1


async def test_a_card_the_website_does_not_serve_is_retried(world: World, tmp_path: Path) -> None:
    ch = world.channel()
    payload = ch.build(closure())
    broken = Cards(tmp_path / "elsewhere", world.cards.public_url, SITE)  # written, not served
    ch.cards = broken
    with pytest.raises(RetryableError, match=r"Media download has failed.*2207052"):
        await ch.send(payload)
    assert (
        world.graph.fake.containers == {}
        and world.store.get_value(container_key(closure())) is None
    )
    ch.cards = world.cards
    await ch.send(payload)
    assert len(world.graph.fake.media) == 1


# The quota ----------------------------------------------------------------------------------


async def test_our_own_daily_limit_holds_posts_back(world: World) -> None:
    ch = world.channel(daily_limit=1)
    await post(ch)
    with pytest.raises(RetryableError, match="1 of 1 posts published in the last 24 h") as caught:
        await post(ch, closure(seq=1))
    assert caught.value.retry_after is not None and 86000 < caught.value.retry_after <= 86400
    assert len(world.graph.fake.containers) == 1  # no container made while over quota


async def test_metas_quota_error_on_publish_waits(world: World) -> None:
    world.graph.fake.fail_with_graph_error(
        9, "(#9) Application request limit reached", 2207042, on="media_publish"
    )
    with pytest.raises(RetryableError, match="subcode 2207042") as caught:
        await post(world.channel())
    assert caught.value.retry_after == 3600  # we published none of the 24 h: an hour


async def test_metas_lower_quota_applies(graph: Graph, world: World) -> None:
    graph.fake.quota_total = 0
    with pytest.raises(RetryableError, match="0 of 0 posts"):
        await post(world.channel())


def test_publish_times_older_than_a_day_are_forgotten(world: World) -> None:
    ch = world.channel()
    now = time.time()
    world.store.set_value(PUBLISHED_KEY + ch.user_id, json.dumps([now - 90000, now - 3600]))
    assert 82700 < ch._quota_wait() <= 82800


# Graph errors on Instagram ------------------------------------------------------------------


async def test_an_expired_token_names_the_instagram_variable(world: World) -> None:
    world.graph.fake.expire_token(world.graph.fake.ig_token)
    with pytest.raises(PermanentError, match="set BROADCAST_INSTAGRAM_TOKEN"):
        await post(world.channel())
