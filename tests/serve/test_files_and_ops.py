"""The banner files as a web server would serve them, ``/healthz``, ``/metrics``, and
running behind a reverse proxy (a path prefix, forwarded headers)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from broadcaster import passes
from broadcaster.config import Secrets
from broadcaster.runtime import dispatcher
from broadcaster.serve.app import Serve

from .conftest import LiveServer, Project, asgi_client, free_socket, serve_state, write_config

ANNOUNCE = "2024-03-20T09:00:00+08:00"


async def run_pass(project: Project) -> None:
    async with dispatcher(project.loaded(), Secrets()) as d:
        await d.run(datetime.fromisoformat(ANNOUNCE))


@pytest.mark.parametrize(
    ("name", "media"),
    [
        ("banner.json", "application/json"),
        ("banner.html", "text/html"),
        ("banner.js", "text/javascript"),
        ("closures.ics", "text/calendar"),
        ("closures.jsonld", "application/ld+json"),
    ],
)
async def test_each_banner_file_has_its_type_an_etag_and_a_short_cache(
    client: httpx.AsyncClient, project: Project, name: str, media: str
) -> None:
    await run_pass(project)

    response = await client.get(f"/notices/{name}")

    assert response.status_code == 200
    assert response.headers["content-type"] == f"{media}; charset=utf-8"
    assert response.content == (project.root / "site/notices" / name).read_bytes()
    assert response.headers["cache-control"] == "public, max-age=60"
    again = await client.get(
        f"/notices/{name}", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


async def test_banner_json_may_be_read_from_any_site_and_changes_its_etag(
    client: httpx.AsyncClient, project: Project
) -> None:
    await run_pass(project)
    first = await client.get("/notices/banner.json", headers={"Origin": "https://other.example"})
    assert first.headers["access-control-allow-origin"] == "*"
    assert json.loads(first.content)["notices"][0]["id"] == "closure-2024-03-26"

    path = project.root / "site/notices/banner.json"
    path.write_text(path.read_text() + " ", encoding="utf-8")
    changed = await client.get(
        "/notices/banner.json", headers={"If-None-Match": first.headers["etag"]}
    )

    assert changed.status_code == 200
    assert changed.headers["etag"] != first.headers["etag"]


@pytest.mark.parametrize(
    "name", ["ledger.db", "..%2Fledger.db", "banner.txt", "cards/..%2F..%2Fx.jpg"]
)
async def test_nothing_but_the_banner_files_is_served(
    client: httpx.AsyncClient, project: Project, name: str
) -> None:
    await run_pass(project)
    assert (await client.get(f"/notices/{name}")).status_code == 404


async def test_healthz_is_red_until_a_pass_has_run_then_green(
    client: httpx.AsyncClient, project: Project
) -> None:
    before = await client.get("/healthz")
    assert before.status_code == 503
    assert before.json()["status"] == "stale"

    await run_pass(project)
    after = await client.get("/healthz")

    assert after.status_code == 200
    body = after.json()
    assert (body["status"], body["ledger"], body["last_pass"]["result"]) == ("ok", "ok", "ok")


async def test_healthz_notices_a_stopped_worker_and_a_crashed_pass(
    client: httpx.AsyncClient, state: Serve
) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=26)
    state.ledger.set_value(
        passes.LAST_PASS, json.dumps(passes.LastPass(long_ago, 1.0, "ok").as_json())
    )
    stale = await client.get("/healthz")
    assert stale.status_code == 503
    assert "is the worker running?" in stale.json()["problem"]

    passes.record(state.ledger, datetime.now(UTC), "error", "OperationalError")
    crashed = await client.get("/healthz")
    assert crashed.status_code == 503
    assert crashed.json()["status"] == "failing"


async def test_metrics_are_prometheus_text_with_deliveries_passes_and_subscribers(
    client: httpx.AsyncClient, state: Serve, project: Project
) -> None:
    await run_pass(project)
    state.book.request("pending@example.com", "", None, "form", datetime.now(UTC))

    response = await client.get("/metrics")
    text = response.text

    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'broadcaster_deliveries{channel="email",state="sent"} 1' in text
    # the banner: the closure's first appearance, and the state that showed it
    assert 'broadcaster_deliveries{channel="banner",state="sent"} 2' in text
    assert "broadcaster_retry_queue 0" in text
    assert "broadcaster_unknown_deliveries 0" in text
    assert "broadcaster_pass_duration_seconds_count 1" in text
    assert 'broadcaster_pass_duration_seconds_bucket{le="+Inf"} 1' in text
    assert "broadcaster_last_pass_success 1" in text
    assert 'broadcaster_subscribers{status="pending"} 1' in text
    for line in text.splitlines():  # every sample belongs to a declared family
        if not line.startswith("#"):
            family = (
                re.split(r"[{ ]", line)[0]
                .removesuffix("_bucket")
                .removesuffix("_sum")
                .removesuffix("_count")
            )
            assert f"# TYPE {family} " in text, line


async def test_behind_a_path_prefix_links_and_forms_carry_it(project: Project) -> None:
    write_config(project.root, project.sink.port, public_url="https://clinic.example/notices-app")
    ledger = project.ledger()
    async with asgi_client(serve_state(project, ledger), root_path="/notices-app") as client:
        page = await client.get("/subscribe")
        snippet = await client.get("/signup.js")
    ledger.close()

    assert 'action="/notices-app/subscribe"' in page.text
    assert "https://clinic.example/notices-app/subscribe" in snippet.text


def test_a_trusted_proxy_s_forwarded_address_is_the_one_rate_limited(project: Project) -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 (serve.trusted_proxies): two visitors
    behind the proxy each get their own limit."""
    sock = free_socket()
    write_config(project.root, project.sink.port, per_ip=2)
    ledger = project.ledger()
    with (
        LiveServer(project.loaded(), ledger, sock) as server,
        httpx.Client(base_url=server.url) as http,
    ):

        def post(visitor: str) -> int:
            page = http.get("/subscribe").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf
            data = {"csrf": csrf.group(1), "email": "a@example.com", "website": "bot"}
            return http.post(
                "/subscribe", data=data, headers={"X-Forwarded-For": visitor}
            ).status_code

        first = [post("203.0.113.7") for _ in range(3)]
        second = [post("198.51.100.9") for _ in range(2)]
    ledger.close()

    assert first == [200, 200, 429]
    assert second == [200, 200]
