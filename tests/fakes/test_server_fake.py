"""serve(): loopback only, ephemeral port, clean shutdown, and the transport-level faults."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .server import DropConnection, pause, serve


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


async def lost(request: Request) -> Response:
    return DropConnection()


async def slow(request: Request) -> Response:
    await pause(request, float(request.query_params["s"]))
    return PlainTextResponse("late")


def get(url: str, **kwargs: Any) -> httpx.Response:
    """httpx.get without loading the CA bundle (slow, and useless on plain-http loopback)."""
    return httpx.get(url, verify=False, **kwargs)


APP = Starlette(routes=[Route("/", hello), Route("/lost", lost), Route("/slow", slow)])


def test_serves_on_loopback_with_an_ephemeral_port_and_stops() -> None:
    with serve(APP) as url:
        host, port = url.removeprefix("http://").split(":")
        assert host == "127.0.0.1" and int(port) > 0
        assert get(url).text == "hello"
    with pytest.raises(httpx.ConnectError):
        get(url, timeout=1)


def test_two_servers_get_different_ports() -> None:
    with serve(APP) as first, serve(APP) as second:
        assert first != second


def test_drop_connection_is_a_transport_error_for_the_client() -> None:
    with serve(APP) as url, pytest.raises(httpx.RemoteProtocolError):
        get(f"{url}/lost")


def test_delay_times_out_and_shutdown_does_not_wait_for_it() -> None:
    started = time.monotonic()
    with serve(APP) as url:
        with pytest.raises(httpx.ReadTimeout):
            get(f"{url}/slow", params={"s": 30}, timeout=0.2)
        assert get(f"{url}/slow", params={"s": 0.05}).text == "late"
    assert time.monotonic() - started < 5


async def test_works_with_an_async_client() -> None:
    with serve(APP) as url:
        async with httpx.AsyncClient(verify=False) as client:
            assert (await client.get(url)).text == "hello"
