"""The Mastodon channel against FakeMastodon: idempotent posts, the instance's limits, 429s."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from broadcaster.channels.mastodon import (
    DEFAULT_LIMITS,
    INSTANCE_KEY,
    MastodonChannel,
    StatusPost,
    idempotency_key,
)
from broadcaster.errors import NoReply, PermanentError, RetryableError
from broadcaster.length import fit
from tests.fakes.conftest import Running, running
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.support import ARTICLE_URL, MemoryStore, article, outgoing

Masto = Running[FakeMastodon]
CLOSURE = "Our outlets will be closed from 26 Mar (Tue) to 27 Mar (Wed)."


@pytest.fixture
def masto() -> Iterator[Masto]:
    with running(FakeMastodon()) as r:
        yield r


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0, verify=False) as client:  # loopback, no TLS
        yield client


def channel(masto: Masto, http: httpx.AsyncClient, **kwargs: Any) -> MastodonChannel:
    kwargs.setdefault("store", MemoryStore())
    kwargs.setdefault("token", masto.fake.token)
    return MastodonChannel(http, instance=masto.url, **kwargs)


async def post(ch: MastodonChannel, text: str = CLOSURE) -> dict[str, Any]:
    return await ch.send(ch.build(outgoing(text, channel="mastodon")))


# Standard sends -----------------------------------------------------------------------------


async def test_a_status_is_posted_with_an_idempotency_key(
    masto: Masto, http: httpx.AsyncClient
) -> None:
    receipt = await post(channel(masto, http, language="en"))
    (entry,) = masto.fake.statuses
    assert entry["params"] == {"status": CLOSURE, "visibility": "public", "language": "en"}
    key = "closure-2024-03-26/announce/mastodon/social/0"
    assert entry["idempotency_key"] == idempotency_key(key)
    assert masto.fake.requests[-1]["headers"]["authorization"] == f"Bearer {masto.fake.token}"
    assert receipt == {
        "id": entry["id"],
        "url": f"https://mastodon.example/@glowaesthetics/{entry['id']}",
        "created_at": entry["status"]["created_at"],
    }


def test_the_key_is_stable_per_delivery_and_differs_between_deliveries() -> None:
    first = idempotency_key("closure-2024-03-26/announce/mastodon/mastodon.social/0")
    assert first == idempotency_key("closure-2024-03-26/announce/mastodon/mastodon.social/0")
    assert first != idempotency_key("closure-2024-03-26/announce/mastodon/mastodon.social/1")
    assert first.startswith("broadcaster-") and len(first) == 52


async def test_an_article_is_plain_text_and_the_server_makes_the_card(
    masto: Masto, http: httpx.AsyncClient
) -> None:
    ch = channel(masto, http, visibility="unlisted")
    text = f"New on our blog: Can Botox Treat Depression?\n\n{ARTICLE_URL}"
    payload = ch.build(article(text, channel="mastodon"))
    assert payload == StatusPost(
        {"status": text, "visibility": "unlisted"},
        idempotency_key("article-botox-depression/publish/mastodon/social/0"),
    )
    await ch.send(payload)
    assert masto.fake.statuses[0]["status"]["card"] is None  # crawled later by the server


# A retry never posts twice ------------------------------------------------------------------


async def test_a_retry_after_a_lost_reply_returns_the_status_already_created(
    masto: Masto, http: httpx.AsyncClient
) -> None:
    masto.fake.fail_after_create(then="drop")
    ch = channel(masto, http)
    payload = ch.build(outgoing(CLOSURE, channel="mastodon"))
    with pytest.raises(RetryableError, match="lost before the reply"):
        await ch.send(payload)
    assert len(masto.fake.statuses) == 1  # it was created; only the reply was lost
    receipt = await ch.send(payload)
    assert len(masto.fake.statuses) == 1 and receipt["id"] == masto.fake.statuses[0]["id"]


async def test_after_a_timeout_the_pass_gives_up_and_the_next_gets_the_same_status(
    masto: Masto,
) -> None:
    masto.fake.fail_after_create(then="delay", seconds=3)
    store = MemoryStore()
    async with httpx.AsyncClient(timeout=0.5, verify=False) as impatient:
        ch = channel(masto, impatient, store=store)
        payload = ch.build(outgoing(CLOSURE, channel="mastodon"))
        with pytest.raises(NoReply, match="did not answer in time"):
            await ch.send(payload)
        requests = len(masto.fake.requests)
        started = time.monotonic()
        with pytest.raises(RetryableError, match="did not answer in time") as rest:
            await ch.send(ch.build(outgoing("Another notice.", channel="mastodon", seq=1)))
        assert not isinstance(rest.value, NoReply)  # never sent: safely retried later
        assert len(masto.fake.requests) == requests and time.monotonic() - started < 0.2
        next_pass = channel(masto, impatient, store=store)  # a channel lives for one pass
        receipt = await next_pass.send(payload)
    assert len(masto.fake.statuses) == 1 and receipt["id"] == masto.fake.statuses[0]["id"]


async def test_a_correction_edits_the_status_it_corrects(
    masto: Masto, http: httpx.AsyncClient
) -> None:
    ch = channel(masto, http)
    first = await post(ch)
    fixed = CLOSURE.replace("27 Mar", "28 Mar")
    receipt = await ch.send(ch.build(outgoing(fixed, channel="mastodon", original=first)))
    (entry,) = masto.fake.statuses
    assert entry["edits"] == [{"status": fixed}]
    assert entry["status"]["content"] == f"<p>{fixed}</p>"
    assert receipt["id"] == first["id"] and receipt["edited_at"]


# Mastodon's errors --------------------------------------------------------------------------


async def test_429_waits_until_the_iso_reset(masto: Masto, http: httpx.AsyncClient) -> None:
    masto.fake.fail_with_429(retry_after=120)
    with pytest.raises(RetryableError, match="Too many requests") as caught:
        await post(channel(masto, http))
    assert caught.value.retry_after is not None and 115 < caught.value.retry_after <= 120


async def test_no_requests_left_holds_the_next_post_until_the_reset(
    http: httpx.AsyncClient,
) -> None:
    with running(FakeMastodon(rate_limit=1)) as one:
        ch = channel(one, http)
        await post(ch)
        with pytest.raises(RetryableError, match="rate limit reached") as caught:
            await post(ch, "Second")
        assert len(one.fake.statuses) == 1 and len(one.fake.requests) == 1
        assert caught.value.retry_after is not None and caught.value.retry_after > 0


@pytest.mark.parametrize("status", [502, 503])
async def test_server_errors_are_retryable(
    masto: Masto, http: httpx.AsyncClient, status: int
) -> None:
    masto.fake.fail_with_5xx(status)
    with pytest.raises(
        RetryableError, match=f"mastodon: .*{'HTTP 502' if status == 502 else 'temporary'}"
    ):
        await post(channel(masto, http))


async def test_a_rejected_status_is_permanent_with_mastodons_words(
    masto: Masto, http: httpx.AsyncClient
) -> None:
    with pytest.raises(PermanentError, match="Text character limit of 500 exceeded"):
        await post(channel(masto, http), "x" * 501)


async def test_a_bad_token_is_permanent_and_never_shown(
    masto: Masto, http: httpx.AsyncClient
) -> None:
    with pytest.raises(PermanentError) as caught:
        await post(channel(masto, http, token="revoked-token-value"))
    assert caught.value.message == (
        "mastodon: The access token is invalid (check BROADCAST_MASTODON_TOKEN)"
    )
    assert "revoked-token-value" not in str(caught.value)


async def test_check_verifies_the_token_without_posting(
    masto: Masto, http: httpx.AsyncClient
) -> None:
    host = masto.url.removeprefix("http://")
    assert await channel(masto, http).check() == (
        f"mastodon: token of @glowaesthetics on {host} is valid"
    )
    assert masto.fake.statuses == []
    with pytest.raises(PermanentError, match="access token is invalid"):
        await channel(masto, http, token="nope").check()


# The instance's own limits ------------------------------------------------------------------


async def test_limits_come_from_the_instance_and_are_cached(http: httpx.AsyncClient) -> None:
    with running(FakeMastodon(max_characters=120, characters_reserved_per_url=30)) as small:
        store = MemoryStore()
        ch = channel(small, http, store=store)
        assert ch.limits == DEFAULT_LIMITS  # until the instance has been asked
        await ch.prepare()
        assert (ch.limits.max_length, ch.limits.url_length) == (120, 30)
        again = channel(small, http, store=store)  # the next pass: from the ledger DB
        assert (again.limits.max_length, again.limits.url_length) == (120, 30)
        await again.prepare()
        assert small.fake.instance_calls == 1


async def test_a_day_old_cache_is_read_again(masto: Masto, http: httpx.AsyncClient) -> None:
    store = MemoryStore()
    ch = channel(masto, http, store=store)
    old = {"max_characters": 120, "url_length": 23, "fetched_at": time.time() - 2 * 86400}
    store.set_value(INSTANCE_KEY + ch.host, json.dumps(old))
    await ch.prepare()
    assert ch.limits.max_length == 500 and masto.fake.instance_calls == 1


async def test_an_unreadable_instance_keeps_the_default_limits(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with running(FakeMastodon()) as gone:
        url = gone.url
    ch = MastodonChannel(http, token="t", instance=url, store=MemoryStore())
    await ch.prepare()
    assert ch.limits == DEFAULT_LIMITS
    assert "cannot read /api/v2/instance" in caplog.text and "limit 500" in caplog.text


CLINIC_URL = "https://glowaesthetics.sg/blog/botox-depression/"


@pytest.mark.parametrize(
    ("text", "count"),
    [
        (f"Closed today. {CLINIC_URL}", 14 + 23),  # any URL counts 23
        (f"Read {CLINIC_URL}.", 5 + 23 + 1),  # the full stop is not part of the URL
        ("Book at glowaesthetics.sg", 8 + 17),  # without a scheme it is text to Mastodon
        ("Thanks @ann@mastodon.social!", 7 + 4 + 1),  # @user@domain counts as @user
        ("👩‍👩‍👧‍👦 family day", 12),  # one grapheme however many code points
        ("診所休息", 4),
        ("Cafe\u0301", 4),
    ],
)
def test_statuses_count_graphemes_and_urls_as_23(text: str, count: int) -> None:
    assert DEFAULT_LIMITS.measure(text) == count
    assert FakeMastodon().countable_length(text) == count  # the fake (and Mastodon) agree


async def test_a_fitted_long_article_is_accepted_with_its_link_whole(
    masto: Masto, http: httpx.AsyncClient
) -> None:
    ch = channel(masto, http)
    await ch.prepare()
    text = fit("Botox " * 120 + ARTICLE_URL + " and more words here", ch.limits)
    await post(ch, text)
    sent = masto.fake.statuses[0]["params"]["status"]
    assert sent.endswith("…\n\n" + ARTICLE_URL) and masto.fake.countable_length(sent) <= 500
