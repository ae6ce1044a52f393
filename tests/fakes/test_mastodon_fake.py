"""FakeMastodon behaves like the Mastodon API described in channel-apis.md §2."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from .conftest import Running, running
from .mastodon import FakeMastodon

Masto = Running[FakeMastodon]
ISO_MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def auth(masto: Masto, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {masto.fake.token}"}
    return headers | ({"Idempotency-Key": key} if key else {})


def post(masto: Masto, key: str | None = None, **fields: Any) -> httpx.Response:
    return masto.client.post("/api/v1/statuses", data=fields, headers=auth(masto, key))


def test_instance_document_and_call_count(masto: Masto) -> None:
    for _ in range(2):
        body = masto.client.get("/api/v2/instance").json()
    statuses = body["configuration"]["statuses"]
    assert statuses["max_characters"] == 500 and statuses["characters_reserved_per_url"] == 23
    assert masto.fake.instance_calls == 2


def test_configurable_max_characters() -> None:
    with running(FakeMastodon(max_characters=11)) as masto:
        config = masto.client.get("/api/v2/instance").json()["configuration"]
        assert config["statuses"]["max_characters"] == 11
        assert post(masto, status="x" * 12).status_code == 422


def test_verify_credentials_and_bad_token(masto: Masto) -> None:
    me = masto.client.get("/api/v1/accounts/verify_credentials", headers=auth(masto))
    assert me.json()["username"] == "glowaesthetics" and "source" in me.json()
    for headers in ({}, {"Authorization": "Bearer nope"}):
        response = masto.client.post("/api/v1/statuses", data={"status": "x"}, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "The access token is invalid"}
    assert masto.fake.statuses == []


def test_create_status_from_form_and_json(masto: Masto) -> None:
    fields = {
        "status": "Closed 25 Dec <3 & more\nsee you",
        "visibility": "unlisted",
        "language": "en",
    }
    from_form = post(masto, **fields)
    from_json = masto.client.post("/api/v1/statuses", json=fields, headers=auth(masto))
    for response in (from_form, from_json):
        status = response.json()
        assert response.status_code == 200 and isinstance(status["id"], str)
        assert status["content"] == "<p>Closed 25 Dec &lt;3 &amp; more<br />see you</p>"
        assert status["visibility"] == "unlisted" and status["language"] == "en"
        assert status["card"] is None and status["media_attachments"] == []
        assert status["url"].endswith(status["id"]) and status["uri"].startswith("https://")
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", status["created_at"])
    assert from_form.json()["id"] != from_json.json()["id"]
    assert [entry["params"]["status"] for entry in masto.fake.statuses] == [fields["status"]] * 2


def test_rate_limit_headers_on_every_response(masto: Masto) -> None:
    first = masto.client.get("/api/v2/instance")
    second = post(masto, status="x")
    for response in (first, second):
        assert response.headers["X-RateLimit-Limit"] == "300"
        assert ISO_MICROS.match(response.headers["X-RateLimit-Reset"])
    assert first.headers["X-RateLimit-Remaining"] == "299"
    assert second.headers["X-RateLimit-Remaining"] == "298"


def test_natural_rate_limit_resets_with_the_period() -> None:
    with running(FakeMastodon(rate_limit=2)) as masto:
        now = [1_710_896_400.123456]  # 2024-03-20T01:00:00.123456Z
        masto.fake.clock = lambda: now[0]
        assert post(masto, status="a").status_code == post(masto, status="b").status_code == 200
        limited = post(masto, status="c")
        assert limited.status_code == 429 and limited.json() == {"error": "Too many requests"}
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert limited.headers["X-RateLimit-Reset"] == "2024-03-20T01:05:00.123456Z"
        now[0] += 300
        assert post(masto, status="d").status_code == 200


# Length and blank --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({"status": "x" * 500}, True),
        ({"status": "x" * 501}, False),
        ({"status": "👨‍👩‍👧‍👦" * 500}, True),  # one grapheme each, 7 code points
        ({"status": "e\u0301" * 500}, True),  # e + combining accent: one grapheme
        ({"status": "x" * 476 + " https://example.org/" + "a" * 200}, True),  # URL = 23
        ({"status": "x" * 477 + " https://example.org/" + "a" * 200}, False),
        ({"status": "x" * 450, "spoiler_text": "y" * 50}, True),
        ({"status": "x" * 450, "spoiler_text": "y" * 51}, False),
        ({"status": "@someone@a-very-long-domain.example " + "x" * 490}, True),  # counts @someone
    ],
)
def test_length_counts_graphemes_urls_and_spoiler(
    masto: Masto, fields: dict[str, str], ok: bool
) -> None:
    response = post(masto, **fields)
    if ok:
        assert response.status_code == 200, response.json()
    else:
        assert response.status_code == 422
        assert response.json() == {
            "error": "Validation failed: Text character limit of 500 exceeded"
        }


def test_blank_status(masto: Masto) -> None:
    response = post(masto, status="  \n ")
    assert response.status_code == 422
    assert response.json() == {"error": "Validation failed: Text can't be blank"}


# Idempotency -------------------------------------------------------------------------------


def test_idempotency_key_returns_the_original_status(masto: Masto) -> None:
    first = post(masto, key="notice-42", status="Closed 25 Dec")
    again = post(masto, key="notice-42", status="Closed 25 Dec")
    assert again.status_code == 200 and again.json() == first.json()
    assert len(masto.fake.statuses) == 1
    assert masto.fake.statuses[0]["idempotency_key"] == "notice-42"
    assert post(masto, key="notice-43", status="Closed 25 Dec").json()["id"] != first.json()["id"]


def test_idempotency_key_expires_after_an_hour(masto: Masto) -> None:
    now = [1_700_000_000.0]
    masto.fake.clock = lambda: now[0]
    first = post(masto, key="k", status="x").json()
    now[0] += 3599
    assert post(masto, key="k", status="x").json()["id"] == first["id"]
    now[0] += 1
    assert post(masto, key="k", status="x").json()["id"] != first["id"]
    assert len(masto.fake.statuses) == 2


def test_lost_reply_with_idempotency_key_is_not_posted_twice(masto: Masto) -> None:
    masto.fake.fail_after_create(times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        post(masto, key="notice-7", status="Closed")
    assert len(masto.fake.statuses) == 1  # created although the client saw an error
    retry = post(masto, key="notice-7", status="Closed")
    assert retry.json()["id"] == masto.fake.statuses[0]["id"] and len(masto.fake.statuses) == 1


def test_lost_reply_without_key_duplicates(masto: Masto) -> None:
    masto.fake.fail_after_create(times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        post(masto, status="Closed")
    post(masto, status="Closed")
    assert len(masto.fake.statuses) == 2


def test_slow_reply_after_create(masto: Masto) -> None:
    masto.fake.fail_after_create(then="delay", seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        masto.client.post(
            "/api/v1/statuses", data={"status": "x"}, headers=auth(masto), timeout=0.2
        )
    assert len(masto.fake.statuses) == 1


# Fault switches ----------------------------------------------------------------------------


def test_429_fault_has_remaining_zero_and_an_iso_reset(masto: Masto) -> None:
    masto.fake.clock = lambda: 1_710_896_400.5
    masto.fake.fail_with_429(retry_after=60, on="statuses")
    assert masto.client.get("/api/v2/instance").status_code == 200  # not a status: unaffected
    response = post(masto, status="x")
    assert response.status_code == 429 and response.json() == {"error": "Too many requests"}
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["X-RateLimit-Reset"] == "2024-03-20T01:01:00.500000Z"
    assert post(masto, status="x").status_code == 200


def test_5xx_faults(masto: Masto) -> None:
    masto.fake.fail_with_5xx(status=503)
    masto.fake.fail_with_5xx(status=502)
    unavailable = post(masto, status="x")
    assert unavailable.status_code == 503 and "temporary problem" in unavailable.json()["error"]
    bad_gateway = post(masto, status="x")
    assert bad_gateway.status_code == 502 and "<html>" in bad_gateway.text
    assert masto.fake.statuses == []


def test_delay_and_drop(masto: Masto) -> None:
    masto.fake.drop_connection()
    with pytest.raises(httpx.RemoteProtocolError):
        post(masto, status="x")
    assert masto.fake.statuses == []
    masto.fake.delay(1.0)
    with pytest.raises(httpx.ReadTimeout):
        masto.client.get("/api/v2/instance", timeout=0.2)


# Edit, read back, media --------------------------------------------------------------------


def test_edit_and_get_status(masto: Masto) -> None:
    status_id = post(masto, status="Closed 25 Dec").json()["id"]
    edited = masto.client.put(
        f"/api/v1/statuses/{status_id}", data={"status": "Closed 25-26 Dec"}, headers=auth(masto)
    )
    assert edited.json()["content"] == "<p>Closed 25-26 Dec</p>" and edited.json()["edited_at"]
    fetched = masto.client.get(f"/api/v1/statuses/{status_id}").json()
    assert fetched["content"] == "<p>Closed 25-26 Dec</p>"
    too_long = masto.client.put(
        f"/api/v1/statuses/{status_id}", data={"status": "x" * 501}, headers=auth(masto)
    )
    assert too_long.status_code == 422
    missing = masto.client.get("/api/v1/statuses/1")
    assert missing.status_code == 404 and missing.json() == {"error": "Record not found"}


def test_media_is_202_then_206_then_ready(masto: Masto) -> None:
    files = {"file": ("a.png", b"PNG", "image/png")}
    upload = masto.client.post(
        "/api/v2/media", files=files, data={"description": "Sign"}, headers=auth(masto)
    )
    assert upload.status_code == 202 and upload.json()["url"] is None
    media_id = upload.json()["id"]
    not_ready = post(masto, status="x", **{"media_ids[]": media_id})
    assert not_ready.status_code == 422 and "finished processing" in not_ready.json()["error"]
    assert masto.client.get(f"/api/v1/media/{media_id}", headers=auth(masto)).status_code == 206
    ready = masto.client.get(f"/api/v1/media/{media_id}", headers=auth(masto))
    assert ready.status_code == 200 and ready.json()["url"]
    status = post(masto, status="", **{"media_ids[]": media_id}).json()
    assert [media["id"] for media in status["media_attachments"]] == [media_id]
