"""Signed webhooks against a local receiver that verifies every signature it gets."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from broadcaster.channels.base import Outgoing
from broadcaster.channels.settings.webhook import WebhookConfig
from broadcaster.channels.webhook import (
    SignatureError,
    WebhookChannel,
    sign,
    target_key,
    verify_signature,
)
from broadcaster.cli import app
from broadcaster.config import Site
from broadcaster.errors import PermanentError, RetryableError
from tests.fakes.conftest import Running, running
from tests.fakes.support import ARTICLE_URL, article, outgoing
from tests.fakes.webhook_receiver import SECRET, WebhookReceiver

Hook = Running[WebhookReceiver]
SITE = Site(name="Glow Aesthetics", url="https://www.glow-aesthetics.example", outlets=["Orchard"])
FACTS = {
    "kind": "closure",
    "hours": None,
    "start": "2024-03-26",
    "end": "2024-03-27",
    "resume": "2024-03-28",
    "outlets": ["Orchard"],
    "all_outlets": True,
    "reason": "our annual team bonding event",
}
SENT = 1710896400.0  # 2024-03-20 01:00 UTC


@pytest.fixture
def hook() -> Iterator[Hook]:
    with running(WebhookReceiver()) as r:
        yield r


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2.0, verify=False) as client:
        yield client


def channel(
    http: httpx.AsyncClient, *urls: str, secret: str = SECRET, clock: Any = None
) -> WebhookChannel:
    return WebhookChannel(http, urls=list(urls), secret=secret, site=SITE, clock=clock or time.time)


def closure_for(ch: WebhookChannel, url: str, occasion: str = "announce") -> Outgoing:
    base = outgoing(
        "Closed 26–27 Mar.", channel="webhook", target=target_key(url), occasion=occasion
    )
    return replace(
        base,
        message={"text": "Closed 26–27 Mar.", "html": "Closed <b>26–27 Mar</b>."},
        facts=FACTS,
    )


# verify_signature: the receivers' half -------------------------------------------------------


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"id":"closure-2024-03-26"}'
    expected = hmac.new(SECRET.encode(), b"1710896400." + body, hashlib.sha256).hexdigest()
    assert sign(body, SECRET, 1710896400) == f"t=1710896400,v1={expected}"
    assert (
        verify_signature(body, sign(body, SECRET, 1710896400), SECRET, now=SENT + 10) == 1710896400
    )


@pytest.mark.parametrize(
    ("header", "body", "now", "reason"),
    [
        (None, b"{}", SENT, "no X-Broadcaster-Signature header"),
        ("v1=abc", b"{}", SENT, "malformed"),
        ("t=abc,v1=abc", b"{}", SENT, "malformed"),
        (sign(b"{}", "another secret", 1710896400), b"{}", SENT, "does not match"),
        (sign(b"{}", SECRET, 1710896400), b'{"x":1}', SENT, "does not match"),
        (sign(b"{}", SECRET, 1710896400), b"{}", SENT + 301, "outside the tolerance"),
    ],
)
def test_verify_signature_refuses(header: str | None, body: bytes, now: float, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify_signature(body, header, SECRET, 300, now=now)


def test_any_v1_may_match_while_a_secret_is_rotated() -> None:
    body = b"{}"
    old = sign(body, "old secret", 1710896400).partition(",")[2]
    header = f"{sign(body, SECRET, 1710896400)},{old}"
    assert verify_signature(body, header, "old secret", now=SENT) == 1710896400


def test_the_target_key_names_the_host_never_the_url() -> None:
    url = "https://hooks.example.org/notices?token=s3cr3t-t0ken"
    key = target_key(url)
    assert key.startswith("hooks.example.org#") and "s3cr3t" not in key
    assert target_key(url) == key and target_key(url + "x") != key


# Sending --------------------------------------------------------------------------------------


async def test_a_closure_is_posted_signed_with_its_facts(
    hook: Hook, http: httpx.AsyncClient
) -> None:
    url = f"{hook.url}/kiosk"
    hook.fake.clock = lambda: SENT + 2
    ch = channel(http, url, clock=lambda: SENT)
    out = closure_for(ch, url)
    receipt = await ch.send(ch.build(out))
    (got,) = hook.fake.deliveries
    assert got.headers["idempotency-key"] == out.key
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-broadcaster-signature"].startswith("t=1710896400,v1=")
    assert got.document == {
        "schema": "broadcaster.notice/1",
        "id": "closure-2024-03-26",
        "kind": "closure",
        "occasion": "announce",
        "delivery": out.key,
        "site": {"name": "Glow Aesthetics", "url": "https://www.glow-aesthetics.example"},
        "texts": {"text": "Closed 26–27 Mar.", "html": "Closed <b>26–27 Mar</b>."},
        "links": {"site": "https://www.glow-aesthetics.example"},
        "facts": FACTS,
        "closure": FACTS,
        "sent_at": "2024-03-20T01:00:00+00:00",
    }
    assert receipt == {"status": 200, "host": "127.0.0.1", "sent_at": "2024-03-20T01:00:00+00:00"}


async def test_an_article_carries_its_link_title_and_image(
    hook: Hook, http: httpx.AsyncClient
) -> None:
    url = f"{hook.url}/wordpress"
    ch = channel(http, url)
    out = replace(article("New on our blog", channel="webhook"), target=ch.targets()[0])
    await ch.send(ch.build(out))
    document = hook.fake.documents()[0]
    assert document["links"]["article"] == ARTICLE_URL and "closure" not in document
    assert document["article"]["title"] == "Can Botox Treat Depression? Here’s the Science"
    assert document["article"]["image"].endswith(".jpg")


async def test_each_url_is_its_own_target(hook: Hook, http: httpx.AsyncClient) -> None:
    urls = [f"{hook.url}/a", f"{hook.url}/b?token=abc"]
    ch = channel(http, *urls)
    assert [t.key for t in ch.targets()] == [target_key(u) for u in urls]
    async for _id, outcome in ch.deliver([closure_for(ch, u) for u in urls]):
        assert not isinstance(outcome, Exception)
    assert [d.path for d in hook.fake.deliveries] == ["/a", "/b"]


async def test_a_wrong_secret_is_refused_by_the_receiver(
    hook: Hook, http: httpx.AsyncClient
) -> None:
    url = f"{hook.url}/kiosk"
    ch = channel(http, url, secret="not the receiver's secret")
    with pytest.raises(PermanentError, match=r"HTTP 401.*BROADCAST_WEBHOOK_SECRET"):
        await ch.send(ch.build(closure_for(ch, url)))
    assert hook.fake.refused == [("/kiosk", "signature does not match the body")]


async def test_a_retry_is_signed_anew_and_deduped_by_its_key(
    hook: Hook, http: httpx.AsyncClient
) -> None:
    url = f"{hook.url}/kiosk"
    times = iter([SENT, SENT + 60])
    hook.fake.clock = lambda: SENT + 61
    ch = channel(http, url, clock=lambda: next(times))
    payload = ch.build(closure_for(ch, url))
    await ch.send(payload)
    await ch.send(payload)
    first, second = hook.fake.deliveries
    assert first.headers["x-broadcaster-signature"] != second.headers["x-broadcaster-signature"]
    assert second.duplicate and len(hook.fake.documents()) == 1


@pytest.mark.parametrize(
    ("status", "headers", "error", "message"),
    [
        (410, {}, PermanentError, r"gone, remove its URL from channels\.webhook\.urls"),
        (429, {"Retry-After": "7"}, RetryableError, "HTTP 429"),
        (503, {}, RetryableError, "HTTP 503"),
        (400, {}, PermanentError, "refused the notice: HTTP 400"),
        (
            301,
            {"Location": "https://elsewhere.example/"},
            PermanentError,
            "redirects are not followed",
        ),
    ],
)
async def test_statuses(
    hook: Hook,
    http: httpx.AsyncClient,
    status: int,
    headers: dict[str, str],
    error: type[Exception],
    message: str,
) -> None:
    url = f"{hook.url}/kiosk"
    hook.fake.answer("/kiosk", status, **headers)
    ch = channel(http, url)
    with pytest.raises(error, match=message) as caught:
        await ch.send(ch.build(closure_for(ch, url)))
    if status == 429:
        assert isinstance(caught.value, RetryableError) and caught.value.retry_after == 7


async def test_timeouts_and_lost_replies_are_retried(hook: Hook) -> None:
    url = f"{hook.url}/kiosk?token=very-secret-token"
    http = httpx.AsyncClient(timeout=0.3)
    ch = channel(http, url)
    hook.fake.delay(5)
    with pytest.raises(RetryableError, match=r"no reply from 127\.0\.0\.1") as caught:
        await ch.send(ch.build(closure_for(ch, url)))
    hook.fake.drop_connection()
    with pytest.raises(RetryableError, match=r"no reply from 127\.0\.0\.1"):
        await ch.send(ch.build(closure_for(ch, url)))
    assert "very-secret-token" not in caught.value.message
    await http.aclose()


async def test_an_unreachable_receiver_is_retryable(http: httpx.AsyncClient) -> None:
    with running(WebhookReceiver()) as gone:
        url = f"{gone.url}/kiosk"
    ch = channel(http, url)
    with pytest.raises(RetryableError, match=r"cannot reach 127\.0\.0\.1"):
        await ch.send(ch.build(closure_for(ch, url)))


async def test_build_is_pure_and_json_serialisable(http: httpx.AsyncClient) -> None:
    ch = channel(http, "https://hooks.example.org/x")
    payload = ch.build(closure_for(ch, "https://hooks.example.org/x"))
    assert "sent_at" not in payload.document
    json.dumps(payload.document)


# Through `broadcast run` ----------------------------------------------------------------------


def test_a_run_delivers_each_notice_once_to_each_subscriber(
    project: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = project / "config/broadcaster.yaml"
    section = (
        f'channels:\n  webhook:\n    urls:\n      - "{hook.url}/kiosk"\n'
        f'      - "{hook.url}/wordpress?key=very-secret-key"\n'
    )
    config.write_text(config.read_text(encoding="utf-8").replace("channels:\n", section, 1))
    monkeypatch.setenv("BROADCAST_WEBHOOK_SECRET", SECRET)
    runner = CliRunner()
    for now in ("2024-03-20T09:00:00+08:00", "2024-03-20T10:00:00+08:00"):
        result = runner.invoke(app, ["run", "--now", now])
        assert result.exit_code == 0, result.output
    got = sorted((d.path, d.document["id"]) for d in hook.fake.deliveries)
    assert got == [
        ("/kiosk", "article-botox-depression"),
        ("/kiosk", "closure-2024-03-26"),
        ("/wordpress", "article-botox-depression"),
        ("/wordpress", "closure-2024-03-26"),
    ]
    closure = next(d for d in hook.fake.documents("/kiosk") if d["kind"] == "closure")
    assert closure["closure"]["start"] == "2024-03-26" and closure["occasion"] == "announce"
    history = runner.invoke(app, ["history", "--json", "--channel", "webhook"]).output
    assert history.count('"state": "sent"') == 4 and "very-secret-key" not in history


def test_without_the_secret_the_webhook_is_skipped(project: Path, hook: Hook) -> None:
    config = project / "config/broadcaster.yaml"
    section = f'channels:\n  webhook:\n    urls: ["{hook.url}/kiosk"]\n'
    config.write_text(config.read_text(encoding="utf-8").replace("channels:\n", section, 1))
    result = CliRunner().invoke(app, ["run", "--now", "2024-03-20T09:00:00+08:00"])
    assert result.exit_code == 0 and "BROADCAST_WEBHOOK_SECRET is not set" in result.output
    assert hook.fake.deliveries == []


@pytest.mark.parametrize(
    ("urls", "error"),
    [
        (["ftp://example.org/x"], "must be an http"),
        (["https://a.example/x", "https://a.example/x"], "listed twice"),
        ([], "at least 1 item"),
    ],
)
def test_the_config_section_refuses(urls: list[str], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        WebhookConfig(urls=urls)


async def test_a_slow_receiver_holds_one_slot_not_the_list(
    hook: Hook, http: httpx.AsyncClient
) -> None:
    """Posts run side by side: the hanging receiver's attempt is still out (the client gives
    up on it after 2 s) while every other subscriber has had the notice."""
    urls = [f"{hook.url}/slow", *(f"{hook.url}/quick{i}" for i in range(6))]
    ch = channel(http, *urls)
    ch.concurrency = ch.per_host = 3
    hook.fake.delay(30, times=1, on="/slow")
    batch = [replace(closure_for(ch, url), delivery_id=i) for i, url in enumerate(urls)]
    first: list[int] = []
    window = ch.deliver(batch)
    async with asyncio.timeout(20):
        async for delivery_id, outcome in window:
            assert not isinstance(outcome, Exception)
            first.append(delivery_id)
            if len(first) == 6:
                break
    await window.aclose()
    assert sorted(first) == [1, 2, 3, 4, 5, 6]
    assert sorted(d.path for d in hook.fake.deliveries) == [f"/quick{i}" for i in range(6)]


def test_concurrency_is_configurable_and_bounded() -> None:
    section = WebhookConfig(urls=["https://hooks.example/a"], concurrency=32, per_host=2)
    assert (section.concurrency, section.per_host) == (32, 2)
    assert WebhookConfig(urls=["https://hooks.example/a"]).concurrency == 16
    with pytest.raises(ValidationError):
        WebhookConfig(urls=["https://hooks.example/a"], concurrency=0)
