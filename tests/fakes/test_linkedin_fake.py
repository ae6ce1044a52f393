"""FakeLinkedIn behaves like the Posts API described in channel-apis.md §7 and §10."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Running, running
from .linkedin import FakeLinkedIn

Li = Running[FakeLinkedIn]


@pytest.fixture
def li() -> Iterator[Li]:
    with running(FakeLinkedIn()) as r:
        yield r


def body(commentary: str, **extra: Any) -> dict[str, Any]:
    return {
        "author": "urn:li:organization:5515715",
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "lifecycleState": "PUBLISHED",
    } | extra


def headers(li: Li, version: str = "202510") -> dict[str, str]:
    return {
        "Authorization": f"Bearer {li.fake.token}",
        "LinkedIn-Version": version,
        "X-Restli-Protocol-Version": "2.0.0",
    }


def test_201_with_an_empty_body_and_the_urn_in_a_header(li: Li) -> None:
    response = li.client.post("/rest/posts", json=body("Hello"), headers=headers(li))
    assert response.status_code == 201 and response.content == b""
    assert response.headers["x-restli-id"].startswith("urn:li:share:")


def test_an_unescaped_reserved_character_silently_truncates(li: Li) -> None:
    response = li.client.post("/rest/posts", json=body("Closed (Tue) all day"), headers=headers(li))
    assert response.status_code == 201
    assert li.fake.posts[0]["visible"] == "Closed "


def test_duplicates_versions_and_required_fields(li: Li) -> None:
    assert li.client.post("/rest/posts", json=body("x"), headers=headers(li)).status_code == 201
    duplicate = li.client.post("/rest/posts", json=body("x"), headers=headers(li))
    assert duplicate.status_code == 422
    assert duplicate.json()["errorDetails"]["inputErrors"][0]["code"] == "DUPLICATE_POST"
    retired = li.client.post("/rest/posts", json=body("y"), headers=headers(li, "202301"))
    assert retired.status_code == 426 and "not active" in retired.json()["message"]
    incomplete = body("z")
    del incomplete["visibility"]
    missing = li.client.post("/rest/posts", json=incomplete, headers=headers(li))
    assert missing.status_code == 422 and "/visibility" in missing.json()["message"]


def test_a_bare_429(li: Li) -> None:
    li.fake.fail_with_429()
    response = li.client.post("/rest/posts", json=body("x"), headers=headers(li))
    assert response.status_code == 429
    assert not any(h.startswith(("retry-after", "x-ratelimit")) for h in response.headers)
