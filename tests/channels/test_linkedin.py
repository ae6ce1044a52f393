"""The LinkedIn channel against FakeLinkedIn: headers, escaping, x-restli-id, its errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from broadcaster.channels.linkedin import LinkedInChannel, Post, escape_little
from broadcaster.errors import AlreadyDelivered, PermanentError, RetryableError
from tests.fakes.conftest import Running, running
from tests.fakes.linkedin import FakeLinkedIn, visible_commentary
from tests.fakes.support import ARTICLE_URL, article, outgoing

Li = Running[FakeLinkedIn]
ORG = "urn:li:organization:5515715"
CLOSURE = "Our outlets will be closed from 26 Mar (Tue) to 27 Mar (Wed) for our team day #team."


@pytest.fixture
def li() -> Iterator[Li]:
    with running(FakeLinkedIn()) as r:
        yield r


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0, verify=False) as client:  # loopback, no TLS
        yield client


def channel(li: Li, http: httpx.AsyncClient, **kwargs: Any) -> LinkedInChannel:
    values: dict[str, Any] = {"token": li.fake.token, "organization": ORG, "version": "202510"}
    return LinkedInChannel(http, api_url=li.url, **(values | kwargs))


async def post(ch: LinkedInChannel, text: str = CLOSURE, **fields: Any) -> dict[str, Any]:
    return await ch.send(ch.build(outgoing(text, channel="linkedin", **fields)))


# Standard sends -----------------------------------------------------------------------------


async def test_a_post_carries_the_three_headers_and_the_id_comes_from_x_restli_id(
    li: Li, http: httpx.AsyncClient
) -> None:
    receipt = await post(channel(li, http))
    (stored,) = li.fake.posts
    headers = li.fake.requests[-1]["headers"]
    assert headers["authorization"] == f"Bearer {li.fake.token}"
    assert headers["linkedin-version"] == "202510"
    assert headers["x-restli-protocol-version"] == "2.0.0"
    assert stored["body"] == {
        "author": ORG,
        "commentary": escape_little(CLOSURE),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert receipt == {
        "id": stored["urn"],
        "url": f"https://www.linkedin.com/feed/update/{stored['urn']}/",
    }


async def test_reserved_characters_are_escaped_so_nothing_is_cut(
    li: Li, http: httpx.AsyncClient
) -> None:
    """Unescaped, the "(" would make LinkedIn keep only "Our outlets will be closed from 26
    Mar " -- and still answer 201."""
    await post(channel(li, http))
    assert li.fake.posts[0]["visible"] == CLOSURE
    assert visible_commentary(CLOSURE) == "Our outlets will be closed from 26 Mar "


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a (b) [c] {d} <e>", r"a \(b\) \[c\] \{d\} \<e\>"),
        ("#tag @name *b* _i_ ~s~ a|b", r"\#tag \@name \*b\* \_i\_ \~s\~ a\|b"),
        ("back\\slash", "back\\\\slash"),
        ("plain, text. 100% ok!", "plain, text. 100% ok!"),
    ],
)
def test_escape_little(text: str, escaped: str) -> None:
    assert escape_little(text) == escaped
    assert visible_commentary(escaped) == text


async def test_an_article_has_an_article_content_block(li: Li, http: httpx.AsyncClient) -> None:
    ch = channel(li, http)
    text = "New on our blog: Can Botox Treat Depression? Here’s the Science"
    payload = ch.build(article(text, channel="linkedin"))
    assert isinstance(payload, Post)
    assert payload.body["content"] == {
        "article": {
            "source": ARTICLE_URL,
            "title": "Can Botox Treat Depression? Here’s the Science",
            "description": "How relaxing the frown muscles may lift mood.",
        }
    }
    await ch.send(payload)
    assert li.fake.posts[0]["body"]["content"]["article"]["source"] == ARTICLE_URL


async def test_check_finds_the_posting_role(li: Li, http: httpx.AsyncClient) -> None:
    assert (
        await channel(li, http).check() == f"linkedin: the token may post for {ORG} (ADMINISTRATOR)"
    )
    with pytest.raises(PermanentError, match="may not post for urn:li:organization:1"):
        await channel(li, http, organization="urn:li:organization:1").check()
    assert li.fake.posts == []


# LinkedIn's errors --------------------------------------------------------------------------


async def test_a_duplicate_post_is_already_delivered(li: Li, http: httpx.AsyncClient) -> None:
    ch = channel(li, http)
    first = await post(ch)
    with pytest.raises(AlreadyDelivered, match=f"duplicate of {first['id']}"):
        await post(ch, seq=1)
    assert len(li.fake.posts) == 1


async def test_a_bare_429_is_retried_later(li: Li, http: httpx.AsyncClient) -> None:
    li.fake.fail_with_429()
    with pytest.raises(RetryableError, match="throttle") as caught:
        await post(channel(li, http))
    assert caught.value.retry_after is None  # no headers to say how long: the retry policy's


@pytest.mark.parametrize(("status", "words"), [(500, "Internal Server Error"), (502, "HTTP 502")])
async def test_server_errors_are_retryable(
    li: Li, http: httpx.AsyncClient, status: int, words: str
) -> None:
    li.fake.fail_with_5xx(status)
    with pytest.raises(RetryableError, match=words):
        await post(channel(li, http))


async def test_a_bad_token_is_permanent_and_never_shown(li: Li, http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentError) as caught:
        await post(channel(li, http, token="AQVrevokedLINKEDINtoken"))
    assert caught.value.message == (
        "linkedin: Invalid access token (check BROADCAST_LINKEDIN_TOKEN and the member's role "
        "on the page)"
    )
    assert "AQVrevoked" not in repr(caught.value)


async def test_an_organisation_the_member_cannot_post_for_is_permanent(
    li: Li, http: httpx.AsyncClient
) -> None:
    with pytest.raises(PermanentError, match="Not enough permissions"):
        await post(channel(li, http, organization="urn:li:organization:1"))


async def test_a_retired_version_says_what_to_change(li: Li, http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentError, match=r"202301 is not active \(set channels.linkedin"):
        await post(channel(li, http, version="202301"))


async def test_the_fake_requires_every_header(li: Li, http: httpx.AsyncClient) -> None:
    url = f"{li.url}/rest/posts"
    bearer = {"Authorization": f"Bearer {li.fake.token}"}
    missing_version = await http.post(url, json={}, headers=bearer)
    assert missing_version.status_code == 400 and "version" in missing_version.text
    no_restli = await http.post(url, json={}, headers=bearer | {"LinkedIn-Version": "202510"})
    assert no_restli.status_code == 400 and "2.0.0" in no_restli.text
