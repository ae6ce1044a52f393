"""The Bluesky channel against FakeBluesky: facets, cards, one login, safe retries."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from broadcaster.channels.bluesky import RKEY_KEY, BlueskyChannel, Draft, tid
from broadcaster.channels.bluesky_session import SESSION_KEY
from broadcaster.counting.bluesky import facets as link_facets
from broadcaster.errors import PermanentError, RetryableError
from broadcaster.length import fit
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.conftest import Running, running
from tests.fakes.server import serve
from tests.fakes.support import ARTICLE_URL, MemoryStore, article, outgoing

Bsky = Running[FakeBluesky]
CLOSURE = "Our outlets will be closed from 26 Mar (Tue) to 27 Mar (Wed)."
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


@pytest.fixture
def bsky() -> Iterator[Bsky]:
    with running(FakeBluesky()) as r:
        yield r


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0, verify=False) as client:  # loopback, no TLS
        yield client


def channel(bsky: Bsky, http: httpx.AsyncClient, **kwargs: Any) -> BlueskyChannel:
    kwargs.setdefault("store", MemoryStore())
    kwargs.setdefault("password", bsky.fake.password)
    kwargs.setdefault("langs", ["en"])
    return BlueskyChannel(http, handle=bsky.fake.handle, service=bsky.url, **kwargs)


async def post(ch: BlueskyChannel, text: str = CLOSURE, key: int = 1) -> dict[str, Any]:
    return await ch.send(ch.build(outgoing(text, channel="bluesky", delivery_id=key, seq=key)))


# Standard sends -----------------------------------------------------------------------------


async def test_a_closure_is_one_post_under_its_own_record_key(
    bsky: Bsky, http: httpx.AsyncClient
) -> None:
    store = MemoryStore()
    receipt = await post(channel(bsky, http, store=store))
    (stored,) = bsky.fake.posts
    record = stored["record"]
    assert record["$type"] == "app.bsky.feed.post" and record["text"] == CLOSURE
    assert record["langs"] == ["en"] and "facets" not in record and "embed" not in record
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", record["createdAt"])
    assert TID.match(stored["rkey"])
    assert receipt == {"uri": stored["uri"], "cid": stored["cid"], "rkey": stored["rkey"]}
    assert [v for k, v in store.values.items() if k.startswith(RKEY_KEY)] == [stored["rkey"]]


async def test_an_article_has_a_clickable_link_and_a_card_with_its_image(
    bsky: Bsky, http: httpx.AsyncClient
) -> None:
    site = Starlette(routes=[Route("/img.png", lambda r: Response(PNG, media_type="image/png"))])
    with serve(site) as site_url:
        ch = channel(bsky, http)
        text = f"New on our blog: Can Botox Treat Depression?\n\n{ARTICLE_URL}"
        await ch.send(ch.build(article(text, channel="bluesky", image=f"{site_url}/img.png")))
    record = bsky.fake.posts[0]["record"]
    start = len(b"New on our blog: Can Botox Treat Depression?\n\n")
    assert record["facets"] == [
        {
            "index": {"byteStart": start, "byteEnd": start + len(ARTICLE_URL)},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": ARTICLE_URL}],
        }
    ]
    external = record["embed"]["external"]
    assert record["embed"]["$type"] == "app.bsky.embed.external"
    assert external["uri"] == ARTICLE_URL
    assert external["title"] == "Can Botox Treat Depression? Here’s the Science"
    assert external["description"] == "How relaxing the frown muscles may lift mood."
    assert external["thumb"]["mimeType"] == "image/png" and external["thumb"]["size"] == len(PNG)
    (blob,) = bsky.fake.blobs.values()
    assert blob["data"] == PNG and bsky.fake.facet_mismatches == []


async def test_an_image_that_cannot_be_fetched_leaves_the_card_without_a_thumbnail(
    bsky: Bsky, http: httpx.AsyncClient
) -> None:
    with running(FakeBluesky()) as gone:
        dead = f"{gone.url}/img.png"
    ch = channel(bsky, http)
    await ch.send(ch.build(article(f"New\n\n{ARTICLE_URL}", channel="bluesky", image=dead)))
    assert "thumb" not in bsky.fake.posts[0]["record"]["embed"]["external"]


async def test_without_a_title_the_card_uses_the_first_line(http: httpx.AsyncClient) -> None:
    ch = BlueskyChannel(http, handle="h.bsky.social", password="p", store=MemoryStore())
    draft = ch.build(article(f"New on our blog\n\n{ARTICLE_URL}", title="", summary="", image=""))
    assert draft.record["embed"]["external"] == {
        "uri": ARTICLE_URL,
        "title": "New on our blog",
        "description": "",
    }
    assert draft == Draft(draft.key, draft.record, None)


# Facets at UTF-8 byte offsets ---------------------------------------------------------------


@pytest.mark.parametrize(
    "before",
    [
        "Closed: ",
        "Closed 😀 today, read ",  # a 4-byte emoji before the URL
        "診所休息，詳情 ",  # 3 bytes per CJK character
        "Cafe\u0301 closed, see ",  # a combining accent (2 bytes)
        "👩‍👩‍👧‍👦 family day! ",  # one grapheme of 25 bytes
    ],
)
async def test_a_url_mid_text_gets_a_facet_at_its_byte_offsets(
    bsky: Bsky, http: httpx.AsyncClient, before: str
) -> None:
    text = f"{before}{ARTICLE_URL}. More after the link."
    (facet,) = link_facets(text)
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    assert text.encode()[start:end].decode() == ARTICLE_URL
    assert start == len(before.encode())
    await post(channel(bsky, http), text)
    assert bsky.fake.posts[0]["facet_mismatches"] == []


def test_every_url_gets_its_own_facet_and_trailing_punctuation_stays_out() -> None:
    text = "See (https://a.example/x) and https://b.example/y?q=1&r=2!"
    assert [f["features"][0]["uri"] for f in link_facets(text)] == [
        "https://a.example/x",
        "https://b.example/y?q=1&r=2",
    ]


# Length: 300 graphemes and 3000 bytes -------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "Closing early today. " * 40,  # over 300 graphemes
        "👩‍👩‍👧‍👦" * 200,  # 200 graphemes but 5000 bytes
        "診所將於三月二十六日休息" * 40,  # no spaces to cut at
    ],
)
async def test_fitted_text_is_accepted_with_the_link_whole_and_clickable(
    bsky: Bsky, http: httpx.AsyncClient, body: str
) -> None:
    ch = channel(bsky, http)
    text = fit(f"{body} {ARTICLE_URL}", ch.limits)
    assert text.endswith("…\n\n" + ARTICLE_URL)
    await post(ch, text)
    record = bsky.fake.posts[0]["record"]
    assert len(record["text"].encode()) <= 3000 and len(record["facets"]) == 1
    assert bsky.fake.facet_mismatches == []


async def test_an_over_long_post_is_refused_permanently(
    bsky: Bsky, http: httpx.AsyncClient
) -> None:
    with pytest.raises(PermanentError, match="must not be longer than 300 graphemes"):
        await post(channel(bsky, http), "x" * 301)


# Sessions: one login, kept, refreshed ------------------------------------------------------


async def test_the_session_is_kept_in_the_store_and_reused_by_the_next_pass(
    bsky: Bsky, http: httpx.AsyncClient
) -> None:
    store = MemoryStore()
    await post(channel(bsky, http, store=store), key=1)
    await post(channel(bsky, http, store=store), "Second", key=2)
    await post(channel(bsky, http, store=store), "Third", key=3)
    assert bsky.fake.login_count == 1 and len(bsky.fake.posts) == 3
    (saved,) = [json.loads(v) for k, v in store.values.items() if k.startswith(SESSION_KEY)]
    assert saved["did"] == bsky.fake.did and saved["access_jwt"] in bsky.fake.access_tokens


async def test_an_expired_token_is_refreshed_and_the_post_goes_out(
    bsky: Bsky, http: httpx.AsyncClient
) -> None:
    ch = channel(bsky, http)
    await post(ch, key=1)
    bsky.fake.expire_access_tokens()
    await post(ch, "After expiry", key=2)
    assert len(bsky.fake.posts) == 2 and bsky.fake.login_count == 1
    assert len(bsky.fake.revoked_refresh_tokens) == 1  # refreshSession was used


async def test_a_token_about_to_expire_is_refreshed_before_use(http: httpx.AsyncClient) -> None:
    with running(FakeBluesky(access_ttl=600)) as short:  # under the 15-minute margin
        ch = channel(short, http)
        await post(ch, key=1)
        await post(ch, "Again", key=2)
        assert short.fake.login_count == 1 and len(short.fake.revoked_refresh_tokens) == 1


async def test_a_refused_refresh_logs_in_again(bsky: Bsky, http: httpx.AsyncClient) -> None:
    store = MemoryStore()
    ch = channel(bsky, http, store=store)
    await post(ch, key=1)
    bsky.fake.expire_access_tokens()
    bsky.fake.revoked_refresh_tokens |= bsky.fake.refresh_tokens  # e.g. revoked by the user
    bsky.fake.refresh_tokens.clear()
    await post(ch, "After revocation", key=2)
    assert bsky.fake.login_count == 2 and len(bsky.fake.posts) == 2


async def test_a_wrong_app_password_is_permanent_and_never_shown(
    bsky: Bsky, http: httpx.AsyncClient
) -> None:
    with pytest.raises(PermanentError) as caught:
        await post(channel(bsky, http, password="wxyz-wxyz-wxyz-wxyz"))
    assert "login as glowaesthetics.bsky.social refused: AuthenticationRequired" in str(
        caught.value
    )
    assert "BROADCAST_BLUESKY_APP_PASSWORD" in caught.value.message
    assert "wxyz" not in caught.value.message


async def test_the_login_limit_is_a_wait_not_a_failure(bsky: Bsky, http: httpx.AsyncClient) -> None:
    bsky.fake.login_limits[-1].used = 30  # someone logged in 30 times in 5 minutes
    bsky.fake.login_limits[-1].start = bsky.fake.clock()
    with pytest.raises(RetryableError, match="login limit") as caught:
        await post(channel(bsky, http))
    assert caught.value.retry_after is not None and 290 < caught.value.retry_after <= 300


# Rate limits, outages, lost replies ---------------------------------------------------------


async def test_429_waits_until_the_epoch_reset(bsky: Bsky, http: httpx.AsyncClient) -> None:
    bsky.fake.fail_with_429(retry_after=42, on="createRecord")
    with pytest.raises(RetryableError, match="RateLimitExceeded") as caught:
        await post(channel(bsky, http))
    assert caught.value.retry_after is not None and 40 <= caught.value.retry_after <= 42


async def test_server_errors_are_retryable(bsky: Bsky, http: httpx.AsyncClient) -> None:
    bsky.fake.fail_with_5xx(503, on="createRecord")
    with pytest.raises(RetryableError, match="NotEnoughResources"):
        await post(channel(bsky, http))


async def test_a_retry_after_a_lost_reply_finds_the_post_instead_of_duplicating_it(
    bsky: Bsky, http: httpx.AsyncClient
) -> None:
    bsky.fake.fail_after_create(then="drop")
    ch = channel(bsky, http)
    payload = ch.build(outgoing(CLOSURE, channel="bluesky"))
    with pytest.raises(RetryableError, match="lost before the reply"):
        await ch.send(payload)
    receipt = await ch.send(payload)
    (stored,) = bsky.fake.posts
    assert receipt == {
        "uri": stored["uri"],
        "cid": stored["cid"],
        "rkey": stored["rkey"],
        "found": True,
    }


async def test_check_shows_the_session_without_posting(bsky: Bsky, http: httpx.AsyncClient) -> None:
    assert await channel(bsky, http).check() == (
        f"bluesky: logged in as glowaesthetics.bsky.social ({bsky.fake.did})"
    )
    assert bsky.fake.posts == []
    with pytest.raises(PermanentError, match="refused"):
        await channel(bsky, http, password="wrong").check()


def test_record_keys_are_tids_in_time_order() -> None:
    first, second = tid(1_700_000_000.0, 5), tid(1_700_000_000.000001, 5)
    assert TID.match(first) and first < second


async def test_posts_go_to_the_accounts_own_pds_when_its_did_document_names_one(
    http: httpx.AsyncClient,
) -> None:
    ch = BlueskyChannel(http, handle="h.bsky.social", password="p" * 19, store=MemoryStore())
    pds = {"id": "#atproto_pds", "serviceEndpoint": "https://morel.us-east.host.bsky.network/"}
    other = {"id": "#bsky_notif", "serviceEndpoint": "https://api.bsky.app"}
    assert ch.sessions._pds({"service": ["odd", other, pds]}) == pds["serviceEndpoint"][:-1]
    plain = {"id": "#atproto_pds", "serviceEndpoint": "http://10.0.0.1"}  # never in cleartext
    assert ch.sessions._pds({"service": [plain]}) == "https://bsky.social"
    assert ch.sessions._pds(None) == "https://bsky.social"
