"""The X channel against FakeX: OAuth 1.0a signatures, X's weighted length, its errors."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from broadcaster.channels.x import LIMITS, Tweet, XChannel
from broadcaster.errors import AlreadyDelivered, PermanentError, RetryableError
from broadcaster.length import fit
from tests.fakes.conftest import Running, running
from tests.fakes.support import ARTICLE_URL, article, outgoing
from tests.fakes.x import FakeX, weighted_length

X = Running[FakeX]
CLOSURE = "Our outlets will be closed from 26 Mar (Tue) to 27 Mar (Wed)."


@pytest.fixture
def fx() -> Iterator[X]:
    with running(FakeX()) as r:
        yield r


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0, verify=False) as client:  # loopback, no TLS
        yield client


def channel(fx: X, http: httpx.AsyncClient, **kwargs: Any) -> XChannel:
    fake = fx.fake
    credentials = {
        "consumer_key": fake.consumer_key,
        "consumer_secret": fake.consumer_secret,
        "access_token": fake.access_token,
        "access_token_secret": fake.access_token_secret,
    } | kwargs
    return XChannel(http, api_url=fx.url, **credentials)


async def post(ch: XChannel, text: str = CLOSURE, **fields: Any) -> dict[str, Any]:
    return await ch.send(ch.build(outgoing(text, channel="x", **fields)))


# Standard sends -----------------------------------------------------------------------------


async def test_a_post_is_json_signed_with_oauth1(fx: X, http: httpx.AsyncClient) -> None:
    receipt = await post(channel(fx, http))
    (tweet,) = fx.fake.tweets
    assert tweet["body"] == {"text": CLOSURE}
    request = fx.fake.requests[-1]
    assert request["headers"]["content-type"] == "application/json"
    oauth = request["oauth"]
    assert oauth["oauth_signature_method"] == "HMAC-SHA1" and oauth["oauth_version"] == "1.0"
    assert oauth["oauth_consumer_key"] == fx.fake.consumer_key
    assert oauth["oauth_token"] == fx.fake.access_token
    assert "oauth_body_hash" not in oauth  # the JSON body is not part of the signature
    assert receipt == {"id": tweet["id"], "url": f"https://x.com/i/web/status/{tweet['id']}"}


async def test_an_article_is_its_text_with_the_link(fx: X, http: httpx.AsyncClient) -> None:
    ch = channel(fx, http)
    text = f"New on our blog: Can Botox Treat Depression?\n\n{ARTICLE_URL}"
    payload = ch.build(article(text, channel="x"))
    assert payload == Tweet({"text": text})
    await ch.send(payload)
    assert fx.fake.tweets[0]["text"] == text


def test_the_target_is_the_user_id_never_the_token() -> None:
    ch = XChannel(
        httpx.AsyncClient(),
        consumer_key="k" * 20,
        consumer_secret="s" * 40,
        access_token="1456000000000000001-secretpart",
        access_token_secret="t" * 40,
    )
    assert [t.key for t in ch.targets()] == ["1456000000000000001"]
    odd = XChannel(
        httpx.AsyncClient(),
        consumer_key="k" * 20,
        consumer_secret="s" * 40,
        access_token="nodashtokenvalue",
        access_token_secret="t" * 40,
    )
    assert [t.key for t in odd.targets()] == ["account"]


async def test_a_wrong_secret_makes_a_bad_signature_and_a_permanent_401(
    fx: X, http: httpx.AsyncClient
) -> None:
    ch = channel(fx, http, consumer_secret="not-the-consumer-secret-at-all-xxxxxxxx")
    with pytest.raises(PermanentError, match=r"x: Unauthorized \(check BROADCAST_X_") as caught:
        await post(ch)
    assert fx.fake.signature_failures == 1 and fx.fake.tweets == []
    assert "not-the-consumer-secret" not in str(caught.value)


async def test_the_fake_refuses_a_signature_that_covers_the_json_body(
    fx: X, http: httpx.AsyncClient
) -> None:
    """The server side of 'the JSON body is not signed': signing it as form data fails."""
    from oauthlib.oauth1 import Client

    fake = fx.fake
    client = Client(
        fake.consumer_key,
        client_secret=fake.consumer_secret,
        resource_owner_key=fake.access_token,
        resource_owner_secret=fake.access_token_secret,
    )
    url = f"{fx.url}/2/tweets"
    form = {"text": "hello"}
    _uri, headers, _body = client.sign(
        url, "POST", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    response = await http.post(url, json=form, headers={"Authorization": headers["Authorization"]})
    assert response.status_code == 401 and fake.signature_failures == 1


async def test_check_signs_a_read_without_posting(fx: X, http: httpx.AsyncClient) -> None:
    assert (
        await channel(fx, http).check() == "x: signed in as @glowaesthetics (1456000000000000001)"
    )
    assert fx.fake.tweets == []
    with pytest.raises(PermanentError, match="Unauthorized"):
        await channel(fx, http, access_token_secret="wrong-token-secret-value-xxxxxx").check()


# X's errors ---------------------------------------------------------------------------------


async def test_a_duplicate_is_already_delivered(fx: X, http: httpx.AsyncClient) -> None:
    ch = channel(fx, http)
    await post(ch)
    with pytest.raises(AlreadyDelivered, match="duplicate content"):
        await post(ch, seq=1)
    assert len(fx.fake.tweets) == 1


async def test_a_retry_after_a_lost_reply_is_refused_as_a_duplicate(
    fx: X, http: httpx.AsyncClient
) -> None:
    """X has no idempotency key, but its duplicate check makes the retry safe."""
    fx.fake.delay(2.0, on="tweets")
    async with httpx.AsyncClient(timeout=0.5) as impatient:
        ch = channel(fx, impatient)
        payload = ch.build(outgoing(CLOSURE, channel="x"))
        with pytest.raises(RetryableError, match="did not answer in time"):
            await ch.send(payload)
    for _ in range(100):
        if fx.fake.tweets:
            break
        time.sleep(0.03)
    with pytest.raises(AlreadyDelivered):
        await channel(fx, http).send(payload)
    assert len(fx.fake.tweets) == 1


async def test_429_waits_for_the_epoch_reset_without_retry_after(
    fx: X, http: httpx.AsyncClient
) -> None:
    fx.fake.fail_with_429(retry_after=600)
    with pytest.raises(RetryableError, match="Too Many Requests") as caught:
        await post(channel(fx, http))
    assert caught.value.retry_after is not None and 595 < caught.value.retry_after <= 600
    assert "retry-after" not in fx.fake.requests[-1]["headers"]


async def test_an_exhausted_24_hour_cap_holds_the_next_post_until_its_reset(
    http: httpx.AsyncClient,
) -> None:
    with running(FakeX(daily_limit=1)) as one:
        ch = channel(one, http)
        await post(ch)
        with pytest.raises(RetryableError, match="rate limit reached") as caught:
            await post(ch, "Second post")
    assert len(one.fake.tweets) == 1 and len(one.fake.requests) == 1
    assert caught.value.retry_after is not None and caught.value.retry_after > 86000


@pytest.mark.parametrize(("status", "words"), [(503, "Service Unavailable"), (502, "HTTP 502")])
async def test_server_errors_are_retryable(
    fx: X, http: httpx.AsyncClient, status: int, words: str
) -> None:
    fx.fake.fail_with_5xx(status)
    with pytest.raises(RetryableError, match=words):
        await post(channel(fx, http))


async def test_an_over_long_post_is_permanent_with_xs_words(fx: X, http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentError, match="Your Tweet text is too long"):
        await post(channel(fx, http), "診" * 141)


# X's length ---------------------------------------------------------------------------------

CLINIC_URL = "https://glowaesthetics.sg/blog/botox-depression/"


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Closed today.", 13),
        (f"Read {CLINIC_URL}", 5 + 23),  # any URL counts 23
        (f"Read {CLINIC_URL}.", 5 + 23 + 1),  # the full stop is not part of the URL
        ("Book at glowaesthetics.sg/book", 8 + 23),  # so does a bare domain on a known TLD
        (f"Read {ARTICLE_URL}", 5 + len(ARTICLE_URL)),  # .example is no TLD: not a URL to X
        ("診所休息", 8),  # CJK weighs 2
        ("Café – “quoted”", 15),  # Latin-1, the en dash and curly quotes weigh 1
        ("Cafe\u0301", 4),  # NFC first: e + combining acute is one character
        ("👩‍👩‍👧‍👦", 2),  # a ZWJ family is one emoji: 2
        ("🇸🇬 1️⃣ ❤️", 2 + 1 + 2 + 1 + 2),  # a flag, a keycap, a heart with VS16
        ("→ ★", 5),  # arrows and stars are outside the light ranges: 2 + 1 + 2
    ],
)
def test_length_is_weighted_as_x_counts_it(text: str, count: int) -> None:
    assert LIMITS.measure(text) == count
    assert weighted_length(text) == count  # the fake counts independently and agrees


async def test_a_fitted_long_post_is_accepted_with_its_link_whole(
    fx: X, http: httpx.AsyncClient
) -> None:
    long = "診所的新文章：" + "肉毒桿菌與憂鬱症的研究。" * 20 + f"\n\n{ARTICLE_URL}"
    fitted = fit(long, LIMITS)
    assert fitted.endswith(ARTICLE_URL) and LIMITS.measure(fitted) <= 280
    await post(channel(fx, http), fitted)
    assert fx.fake.tweets[0]["text"] == fitted
