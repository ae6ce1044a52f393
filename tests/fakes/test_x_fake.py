"""FakeX behaves like X API v2 as described in channel-apis.md §6 and §10."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from oauthlib.oauth1 import Client

from .conftest import Running, running
from .x import FakeX, weighted_length

X = Running[FakeX]


@pytest.fixture
def fx() -> Iterator[X]:
    with running(FakeX(post_limit=2)) as r:
        yield r


def signed(fx: X, method: str, path: str, **client: Any) -> dict[str, str]:
    fake = fx.fake
    values = {
        "client_secret": fake.consumer_secret,
        "resource_owner_key": fake.access_token,
        "resource_owner_secret": fake.access_token_secret,
    } | client
    _uri, headers, _body = Client(fake.consumer_key, **values).sign(f"{fx.url}{path}", method)
    return {"Authorization": headers["Authorization"]}


def tweet(fx: X, text: str, **client: Any) -> Any:
    return fx.client.post(
        "/2/tweets", json={"text": text}, headers=signed(fx, "POST", "/2/tweets", **client)
    )


def test_a_signed_post_is_201_with_location_and_rate_headers(fx: X) -> None:
    response = tweet(fx, "Hello")
    assert response.status_code == 201
    tweet_id = response.json()["data"]["id"]
    assert response.headers["location"].endswith(f"/2/tweets/{tweet_id}")
    assert response.json()["data"]["edit_history_tweet_ids"] == [tweet_id]
    assert response.headers["x-rate-limit-remaining"] == "1"
    assert int(response.headers["x-rate-limit-reset"]) > time.time()


def test_signatures_nonces_and_keys_are_checked(fx: X) -> None:
    assert tweet(fx, "a", client_secret="wrong").status_code == 401
    assert tweet(fx, "a", resource_owner_secret="wrong").status_code == 401
    headers = signed(fx, "POST", "/2/tweets")
    assert fx.client.post("/2/tweets", json={"text": "b"}, headers=headers).status_code == 201
    replay = fx.client.post("/2/tweets", json={"text": "c"}, headers=headers)
    assert replay.status_code == 401  # the nonce was used
    unsigned = fx.client.post("/2/tweets", json={"text": "d"})
    assert unsigned.status_code == 401 and unsigned.json()["title"] == "Unauthorized"


def test_duplicates_length_and_the_429_without_retry_after(fx: X) -> None:
    assert tweet(fx, "Same").status_code == 201
    duplicate = tweet(fx, "Same")
    assert duplicate.status_code == 403 and "duplicate content" in duplicate.json()["detail"]
    limited = tweet(fx, "Third")
    assert limited.status_code == 429 and "retry-after" not in limited.headers
    assert limited.headers["x-rate-limit-remaining"] == "0"
    with running(FakeX()) as other:
        too_long = tweet(other, "診" * 141)
        assert too_long.status_code == 400 and "too long" in too_long.json()["detail"]
        assert tweet(other, "診" * 140).status_code == 201


def test_weighted_length() -> None:
    assert weighted_length("a" * 280) == 280
    assert weighted_length("https://example.org/" + "x" * 100) == 23
    assert weighted_length("👍🏽") == 2
