"""FakeBluesky behaves like the PDS described in channel-apis.md §3."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from .bluesky import FakeBluesky
from .conftest import Running, eventually

Bsky = Running[FakeBluesky]
LINK = "app.bsky.richtext.facet#link"
CREATED_AT = "2025-12-01T09:00:00.000Z"


def login(bsky: Bsky, password: str | None = None) -> httpx.Response:
    body = {"identifier": bsky.fake.handle, "password": password or bsky.fake.password}
    return bsky.client.post("/xrpc/com.atproto.server.createSession", json=body)


def session(bsky: Bsky) -> dict[str, Any]:
    response = login(bsky)
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create(
    bsky: Bsky, token: str, record: dict[str, Any] | None = None, **extra: Any
) -> httpx.Response:
    body = {
        "repo": bsky.fake.did,
        "collection": "app.bsky.feed.post",
        "record": post(**(record or {})),
    }
    return bsky.client.post(
        "/xrpc/com.atproto.repo.createRecord", json=body | extra, headers=bearer(token)
    )


def post(**fields: Any) -> dict[str, Any]:
    return {
        "$type": "app.bsky.feed.post",
        "text": "Closed 25 Dec",
        "createdAt": CREATED_AT,
    } | fields


def jwt_payload(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def invalid(response: httpx.Response) -> str:
    assert response.status_code == 400 and response.json()["error"] == "InvalidRequest", (
        response.text
    )
    return str(response.json()["message"])


# Sessions ----------------------------------------------------------------------------------


def test_create_session_returns_readable_jwts(bsky: Bsky) -> None:
    body = session(bsky)
    assert (body["did"], body["handle"], body["active"]) == (bsky.fake.did, bsky.fake.handle, True)
    access = jwt_payload(body["accessJwt"])
    assert access["sub"] == bsky.fake.did and access["scope"] == "com.atproto.appPass"
    assert access["exp"] - access["iat"] == 7200
    assert jwt_payload(body["refreshJwt"])["scope"] == "com.atproto.refresh"
    assert body["didDoc"]["service"][0]["serviceEndpoint"] == bsky.url
    assert bsky.fake.login_count == 1


def test_login_by_did_and_wrong_password(bsky: Bsky) -> None:
    by_did = {"identifier": bsky.fake.did, "password": bsky.fake.password}
    assert (
        bsky.client.post("/xrpc/com.atproto.server.createSession", json=by_did).status_code == 200
    )
    wrong = login(bsky, password="nope")
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": "AuthenticationRequired",
        "message": "Invalid identifier or password",
    }
    assert (bsky.fake.login_count, bsky.fake.login_attempts) == (1, 2)


def test_login_limit_is_30_per_5_minutes(bsky: Bsky) -> None:
    now = [1_750_000_000.0]
    bsky.fake.clock = lambda: now[0]
    for remaining in range(29, -1, -1):
        response = login(bsky)
        assert response.headers["RateLimit-Remaining"] == str(remaining)
    limited = login(bsky)
    assert limited.status_code == 429
    assert limited.json() == {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    assert (
        limited.headers["RateLimit-Limit"] == "30" and limited.headers["RateLimit-Remaining"] == "0"
    )
    assert limited.headers["RateLimit-Reset"] == str(1_750_000_300)
    assert limited.headers["RateLimit-Policy"] == "30;w=300"
    now[0] += 300
    assert login(bsky).status_code == 200 and bsky.fake.login_count == 31


def test_login_limit_is_300_per_day(bsky: Bsky) -> None:
    now = [1_750_000_000.0]
    bsky.fake.clock = lambda: now[0]
    for _ in range(10):
        for _ in range(30):
            assert login(bsky).status_code == 200
        now[0] += 301
    limited = login(bsky)
    assert limited.status_code == 429 and limited.headers["RateLimit-Policy"] == "300;w=86400"
    now[0] = 1_750_000_000.0 + 86400
    assert login(bsky).status_code == 200


def test_expired_access_token_then_refresh(bsky: Bsky) -> None:
    first = session(bsky)
    assert create(bsky, first["accessJwt"]).status_code == 200
    bsky.fake.expire_access_tokens()
    expired = create(bsky, first["accessJwt"])
    assert expired.status_code == 400
    assert expired.json() == {"error": "ExpiredToken", "message": "Token has expired"}
    refresh = bsky.client.post(
        "/xrpc/com.atproto.server.refreshSession", headers=bearer(first["refreshJwt"])
    )
    renewed = refresh.json()
    assert refresh.status_code == 200 and renewed["accessJwt"] != first["accessJwt"]
    assert create(bsky, renewed["accessJwt"]).status_code == 200
    reused = bsky.client.post(
        "/xrpc/com.atproto.server.refreshSession", headers=bearer(first["refreshJwt"])
    )
    assert reused.status_code == 400 and reused.json()["error"] == "ExpiredToken"
    assert bsky.fake.login_count == 1


def test_access_token_expires_by_clock(bsky: Bsky) -> None:
    now = [1_750_000_000.0]
    bsky.fake.clock = lambda: now[0]
    token = session(bsky)["accessJwt"]
    now[0] = jwt_payload(token)["exp"]
    assert create(bsky, token).json()["error"] == "ExpiredToken"


def test_token_kind_and_missing_auth(bsky: Bsky) -> None:
    tokens = session(bsky)
    with_refresh = create(bsky, tokens["refreshJwt"])
    assert with_refresh.status_code == 400 and with_refresh.json()["error"] == "InvalidToken"
    refresh_with_access = bsky.client.post(
        "/xrpc/com.atproto.server.refreshSession", headers=bearer(tokens["accessJwt"])
    )
    assert refresh_with_access.json()["error"] == "InvalidToken"
    assert create(bsky, "a.b.c").json()["error"] == "InvalidToken"
    anonymous = bsky.client.post("/xrpc/com.atproto.repo.createRecord", json={})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "AuthMissing"


# Records -----------------------------------------------------------------------------------


def test_create_record_and_read_it_back(bsky: Bsky) -> None:
    token = session(bsky)["accessJwt"]
    response = create(bsky, token)
    body = response.json()
    rkey = body["uri"].rsplit("/", 1)[1]
    assert body["uri"] == f"at://{bsky.fake.did}/app.bsky.feed.post/{rkey}" and len(rkey) == 13
    assert body["cid"].startswith("bafyrei") and body["validationStatus"] == "valid"
    assert set(body["commit"]) == {"cid", "rev"}
    assert response.headers["RateLimit-Policy"] == "5000;w=3600"
    assert response.headers["RateLimit-Remaining"] == "4997"
    params = {"repo": bsky.fake.did, "collection": "app.bsky.feed.post", "rkey": rkey}
    record = bsky.client.get("/xrpc/com.atproto.repo.getRecord", params=params).json()
    assert record == {"uri": body["uri"], "cid": body["cid"], "value": post()}
    assert bsky.fake.posts[0]["rkey"] == rkey and bsky.fake.posts[0]["record"] == post()


def test_get_record_not_found(bsky: Bsky) -> None:
    params = {"repo": bsky.fake.did, "collection": "app.bsky.feed.post", "rkey": "3k4duaz5vfs2b"}
    response = bsky.client.get("/xrpc/com.atproto.repo.getRecord", params=params)
    assert response.status_code == 400 and response.json() == {
        "error": "RecordNotFound",
        "message": f"Could not locate record: at://{bsky.fake.did}/app.bsky.feed.post/3k4duaz5vfs2b",
    }


def test_client_chosen_rkey_collides_instead_of_duplicating(bsky: Bsky) -> None:
    token = session(bsky)["accessJwt"]
    rkey = bsky.fake.next_tid()
    assert create(bsky, token, rkey=rkey).json()["uri"].endswith(rkey)
    assert invalid(create(bsky, token, rkey=rkey)) == "Record already exists"
    assert len(bsky.fake.posts) == 1


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("x" * 300, True),
        ("x" * 301, False),
        ("😀" * 300, True),  # 1200 bytes
        ("👨‍👩‍👧‍👦" * 120, True),  # 120 graphemes, 3000 bytes
        ("👨‍👩‍👧‍👦" * 121, False),  # 121 graphemes but 3025 bytes
    ],
)
def test_text_limits_graphemes_and_bytes(bsky: Bsky, text: str, ok: bool) -> None:
    response = create(bsky, session(bsky)["accessJwt"], {"text": text})
    if ok:
        assert response.status_code == 200, response.text
    else:
        assert "Record/text must not be longer than" in invalid(response)


def link(start: int, end: int, uri: str = "https://example.org/closures") -> dict[str, Any]:
    return {
        "index": {"byteStart": start, "byteEnd": end},
        "features": [{"$type": LINK, "uri": uri}],
    }


RECORD_VIOLATIONS = [
    ({"createdAt": "2025-12-01 09:00"}, "createdAt must be an valid atproto datetime"),
    ({"createdAt": "2025-12-01T09:00:00"}, "createdAt must be an valid atproto datetime"),
    ({"langs": ["en", "fr", "de", "nl"]}, "Record/langs must not have more than 3 elements"),
    ({"text": None}, 'Record must have the property "text"'),
    ({"$type": "app.bsky.feed.like"}, "Invalid $type"),
    ({"text": "see é", "facets": [link(4, 7)]}, "is not a range inside the text's 6 bytes"),
    ({"text": "see it", "facets": [link(4, 4)]}, "is not a range"),
    ({"text": "see it now", "facets": [link(0, 6), link(4, 10)]}, "must not overlap"),
    (
        {"facets": [{"index": {"byteStart": 0, "byteEnd": 1}, "features": [{"uri": "x"}]}]},
        '"$type"',
    ),
    (
        {"facets": [{"index": {"byteStart": 0, "byteEnd": 1}, "features": [{"$type": LINK}]}]},
        '"uri"',
    ),
    (
        {
            "embed": {
                "$type": "app.bsky.embed.external",
                "external": {"uri": "u", "description": ""},
            }
        },
        '"title"',
    ),
    ({"embed": {"$type": "app.bsky.embed.gallery"}}, "Record/embed $type must be one of"),
]


@pytest.mark.parametrize(("fields", "message"), RECORD_VIOLATIONS)
def test_record_violations_are_invalid_request(
    bsky: Bsky, fields: dict[str, Any], message: str
) -> None:
    assert message in invalid(create(bsky, session(bsky)["accessJwt"], fields))
    assert bsky.fake.posts == []


def test_repo_and_collection_are_checked(bsky: Bsky) -> None:
    token = session(bsky)["accessJwt"]
    assert invalid(create(bsky, token, repo="did:plc:someoneelse")).startswith(
        "Could not find repo"
    )
    assert "only stores" in invalid(create(bsky, token, collection="app.bsky.feed.like"))
    assert create(bsky, token, repo=bsky.fake.handle).status_code == 200


def test_valid_facets_and_external_embed(bsky: Bsky) -> None:
    text = "Café closed, see example.org/closures… or https://example.org/x"
    start = len("Café closed, see ".encode())
    short = link(start, start + len("example.org/closures…".encode()))
    full_start = len(text.encode()) - len("https://example.org/x")
    full = link(full_start, len(text.encode()), "https://example.org/x")
    embed = {
        "$type": "app.bsky.embed.external",
        "external": {"uri": "https://example.org/closures", "title": "Closures", "description": ""},
    }
    record = {"text": text, "facets": [short, full], "embed": embed, "langs": ["en"]}
    assert create(bsky, session(bsky)["accessJwt"], record).status_code == 200
    assert bsky.fake.facet_mismatches == []


def test_link_text_that_does_not_match_is_reported_not_rejected(bsky: Bsky) -> None:
    record = {"text": "see here", "facets": [link(4, 8)]}
    assert create(bsky, session(bsky)["accessJwt"], record).status_code == 200
    assert "does not render" in bsky.fake.facet_mismatches[0]
    assert bsky.fake.posts[0]["facet_mismatches"] == bsky.fake.facet_mismatches


def test_upload_blob_and_embed_it(bsky: Bsky) -> None:
    token = session(bsky)["accessJwt"]
    response = bsky.client.post(
        "/xrpc/com.atproto.repo.uploadBlob",
        content=b"\x89PNG fake",
        headers=bearer(token) | {"Content-Type": "image/png"},
    )
    blob = response.json()["blob"]
    assert blob["$type"] == "blob" and blob["ref"]["$link"].startswith("bafkrei")
    assert (blob["mimeType"], blob["size"]) == ("image/png", 9)
    embed = {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": "Closed sign"}]}
    assert create(bsky, token, {"embed": embed}).status_code == 200


# Fault switches ----------------------------------------------------------------------------


def test_429_fault_has_epoch_reset(bsky: Bsky) -> None:
    token = session(bsky)["accessJwt"]
    bsky.fake.clock = lambda: 1_750_000_000.0
    bsky.fake.fail_with_429(retry_after=42, on="createRecord")
    limited = create(bsky, token)
    assert limited.status_code == 429
    assert limited.json() == {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    assert limited.headers["RateLimit-Reset"] == "1750000042"
    assert limited.headers["RateLimit-Remaining"] == "0" and "RateLimit-Policy" in limited.headers
    assert create(bsky, token).status_code == 200


@pytest.mark.parametrize(
    ("status", "name"),
    [(500, "InternalServerError"), (502, "UpstreamFailure"), (503, "NotEnoughResources")],
)
def test_5xx_fault_names(bsky: Bsky, status: int, name: str) -> None:
    token = session(bsky)["accessJwt"]
    bsky.fake.fail_with_5xx(status=status)
    response = create(bsky, token)
    assert response.status_code == status and response.json()["error"] == name
    assert bsky.fake.posts == []


def test_drop_and_delay(bsky: Bsky) -> None:
    token = session(bsky)["accessJwt"]
    bsky.fake.drop_connection()
    with pytest.raises(httpx.RemoteProtocolError):
        create(bsky, token)
    assert bsky.fake.posts == []
    bsky.fake.delay(1.0, on="createRecord")
    body = {
        "repo": bsky.fake.did,
        "collection": "app.bsky.feed.post",
        "record": post(),
        "rkey": "3kaaaaaaaaaaa",
    }
    with pytest.raises(httpx.ReadTimeout):
        bsky.client.post(
            "/xrpc/com.atproto.repo.createRecord", json=body, headers=bearer(token), timeout=0.2
        )
    params = {"repo": bsky.fake.did, "collection": "app.bsky.feed.post", "rkey": "3kaaaaaaaaaaa"}
    get_record = "/xrpc/com.atproto.repo.getRecord"
    eventually(lambda: bsky.client.get(get_record, params=params).status_code == 200)


def test_unknown_xrpc_method(bsky: Bsky) -> None:
    response = bsky.client.get("/xrpc/app.bsky.feed.getTimeline")
    assert response.status_code == 501 and response.json()["error"] == "MethodNotImplemented"


def test_get_session_checks_the_access_token(bsky: Bsky) -> None:
    token = session(bsky)["accessJwt"]
    url = "/xrpc/com.atproto.server.getSession"
    body = bsky.client.get(url, headers=bearer(token)).json()
    assert body == {"handle": bsky.fake.handle, "did": bsky.fake.did, "active": True}
    bsky.fake.expire_access_tokens()
    expired = bsky.client.get(url, headers=bearer(token))
    assert expired.status_code == 400 and expired.json()["error"] == "ExpiredToken"


def test_fail_after_create_stores_the_post_but_loses_the_reply(bsky: Bsky) -> None:
    token = session(bsky)["accessJwt"]
    bsky.fake.fail_after_create(then="drop")
    with pytest.raises(httpx.RemoteProtocolError):
        create(bsky, token, rkey="3kbbbbbbbbbbb")
    assert [p["rkey"] for p in bsky.fake.posts] == ["3kbbbbbbbbbbb"]
    assert invalid(create(bsky, token, rkey="3kbbbbbbbbbbb")) == "Record already exists"
