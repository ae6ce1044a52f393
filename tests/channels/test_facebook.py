"""The Facebook channel against FakeGraph: Page posts, and errors read by their Graph code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from broadcaster.channels.facebook import FacebookChannel, FeedPost
from broadcaster.errors import AlreadyDelivered, PermanentError, RetryableError
from tests.fakes.conftest import Running, running
from tests.fakes.graph import FakeGraph
from tests.fakes.support import ARTICLE_URL, article, outgoing

Graph = Running[FakeGraph]
CLOSURE = "Our outlets will be closed from 26 Mar (Tue) to 27 Mar (Wed)."


@pytest.fixture
def graph() -> Iterator[Graph]:
    with running(FakeGraph()) as r:
        yield r


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0, verify=False) as client:  # loopback, no TLS
        yield client


def channel(graph: Graph, http: httpx.AsyncClient, **kwargs: Any) -> FacebookChannel:
    values = {"token": graph.fake.page_token, "page_id": graph.fake.page_id} | kwargs
    return FacebookChannel(http, api_url=graph.url, api_version="v24.0", **values)


async def post(ch: FacebookChannel, text: str = CLOSURE, **fields: Any) -> dict[str, Any]:
    return await ch.send(ch.build(outgoing(text, channel="facebook", **fields)))


# Standard sends -----------------------------------------------------------------------------


async def test_a_closure_is_a_page_post_with_the_token_in_a_header(
    graph: Graph, http: httpx.AsyncClient
) -> None:
    receipt = await post(channel(graph, http))
    (stored,) = graph.fake.posts
    request = graph.fake.requests[-1]
    assert request["path"] == f"/v24.0/{graph.fake.page_id}/feed"
    assert request["headers"]["authorization"] == f"Bearer {graph.fake.page_token}"
    assert request["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert graph.fake.page_token not in str(request["query"])
    assert stored["params"] == {"message": CLOSURE}
    assert receipt == {"id": stored["id"], "url": f"https://www.facebook.com/{stored['id']}"}


async def test_an_article_adds_its_link_for_facebooks_preview(
    graph: Graph, http: httpx.AsyncClient
) -> None:
    ch = channel(graph, http)
    text = "New on our blog: Can Botox Treat Depression?"
    payload = ch.build(article(text, channel="facebook"))
    assert payload == FeedPost({"message": text, "link": ARTICLE_URL})
    await ch.send(payload)
    assert graph.fake.posts[0]["link"] == ARTICLE_URL


async def test_check_reads_the_page_without_posting(graph: Graph, http: httpx.AsyncClient) -> None:
    page = graph.fake.page_id
    assert await channel(graph, http).check() == (
        f"facebook: the token reads Page 'Glow Aesthetics' ({page})"
    )
    assert graph.fake.posts == []


# Graph's errors, by code --------------------------------------------------------------------


async def test_a_duplicate_506_is_already_delivered(graph: Graph, http: httpx.AsyncClient) -> None:
    ch = channel(graph, http)
    await post(ch)
    with pytest.raises(AlreadyDelivered, match=r"\(#506\) Duplicate status message"):
        await post(ch, seq=1)
    assert len(graph.fake.posts) == 1


async def test_an_expired_token_asks_to_reauthorise(graph: Graph, http: httpx.AsyncClient) -> None:
    graph.fake.expire_token(graph.fake.page_token)
    with pytest.raises(PermanentError) as caught:
        await post(channel(graph, http))
    message = caught.value.message
    assert "Session has expired" in message and "[subcode 463]" in message
    assert "re-authorise the Page token and set BROADCAST_FACEBOOK_TOKEN" in message
    assert graph.fake.page_token not in message


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
async def test_throttles_are_http_400_and_wait_as_the_page_usage_header_says(
    graph: Graph, http: httpx.AsyncClient, code: int
) -> None:
    graph.fake.fail_with_graph_error(code, f"(#{code}) Request limit reached", regain_minutes=7)
    with pytest.raises(RetryableError, match=f"#{code}") as caught:
        await post(channel(graph, http))
    assert caught.value.retry_after == 7 * 60


@pytest.mark.parametrize("code", [1, 2, 341, 368])
async def test_temporary_codes_are_retried(
    graph: Graph, http: httpx.AsyncClient, code: int
) -> None:
    graph.fake.fail_with_graph_error(code, "Please retry your request later.")
    with pytest.raises(RetryableError, match=f"#{code}") as caught:
        await post(channel(graph, http))
    assert caught.value.retry_after is None  # no header: the retry policy's backoff


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (10, "lacks a permission"),
        (200, "lacks a permission"),
        (299, "lacks a permission"),
        (100, "Invalid parameter"),
    ],
)
async def test_permission_and_validation_codes_are_permanent(
    graph: Graph, http: httpx.AsyncClient, code: int, words: str
) -> None:
    graph.fake.fail_with_graph_error(code, f"(#{code}) Invalid parameter")
    with pytest.raises(PermanentError, match=words):
        await post(channel(graph, http))


async def test_the_fakes_429_switch_is_a_page_throttle(
    graph: Graph, http: httpx.AsyncClient
) -> None:
    graph.fake.fail_with_429(retry_after=120)
    with pytest.raises(RetryableError, match="#32") as caught:
        await post(channel(graph, http))
    assert caught.value.retry_after == 120


@pytest.mark.parametrize(("status", "words"), [(500, "#2"), (502, "HTTP 502")])
async def test_server_errors_are_retryable(
    graph: Graph, http: httpx.AsyncClient, status: int, words: str
) -> None:
    graph.fake.fail_with_5xx(status)
    with pytest.raises(RetryableError, match=words):
        await post(channel(graph, http))


async def test_a_lost_reply_is_retried_and_the_repeat_counts_as_sent(
    graph: Graph, http: httpx.AsyncClient
) -> None:
    graph.fake.delay(2.0, on="feed")
    async with httpx.AsyncClient(timeout=0.5) as impatient:
        payload = channel(graph, impatient).build(outgoing(CLOSURE, channel="facebook"))
        with pytest.raises(RetryableError, match="did not answer in time"):
            await channel(graph, impatient).send(payload)
    import time

    deadline = time.monotonic() + 3
    while not graph.fake.posts and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(AlreadyDelivered):
        await channel(graph, http).send(payload)
    assert len(graph.fake.posts) == 1


async def test_an_unknown_version_is_permanent(graph: Graph, http: httpx.AsyncClient) -> None:
    ch = FacebookChannel(
        http,
        token=graph.fake.page_token,
        page_id=graph.fake.page_id,
        api_url=graph.url,
        api_version="24",
    )
    with pytest.raises(PermanentError, match="Unknown path components"):
        await post(ch)
