"""The shared HTTP client: httpx's own transport, made by the first request, not before."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse

from broadcaster.http_client import http_client
from tests.fakes.server import serve


@pytest.fixture
def tls_contexts(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Each TLS context httpx makes for a transport (certifi's bundle read: the 50 ms)."""
    made: list[Any] = []
    create = httpx._transports.default.create_ssl_context

    def counting(*args: Any, **kwargs: Any) -> Any:
        made.append(create(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(httpx._transports.default, "create_ssl_context", counting)
    return made


async def test_a_client_that_sends_nothing_reads_no_certificates(tls_contexts: list[Any]) -> None:
    async with http_client("broadcaster-test"):
        pass
    assert tls_contexts == []


async def test_the_first_request_makes_the_transport_httpx_would_have_made(
    tls_contexts: list[Any],
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        await PlainTextResponse(request.headers["user-agent"])(scope, receive, send)

    with serve(app) as url:
        async with http_client("broadcaster-test") as http:
            first = await http.get(url)
            second = await http.get(url)
    assert (first.text, second.text) == ("broadcaster-test", "broadcaster-test")
    assert len(tls_contexts) == 1  # once, verifying as httpx does by default
    assert tls_contexts[0].verify_mode.name == "CERT_REQUIRED"


async def test_proxies_from_the_environment_are_still_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    async with http_client("broadcaster-test") as http:
        proxied = http._transport_for_url(httpx.URL("https://example.org/feed"))
    assert isinstance(proxied, httpx.AsyncHTTPTransport)  # httpx's proxy transport
    assert proxied is not http._transport


async def test_a_transport_given_is_used_as_it_is() -> None:
    given = httpx.MockTransport(lambda request: httpx.Response(204))
    async with type(http_client("x"))(transport=given) as http:
        assert (await http.get("https://example.org")).status_code == 204
