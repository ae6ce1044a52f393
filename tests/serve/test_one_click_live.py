"""RFC 8058 end to end: a real message's ``List-Unsubscribe`` link, POSTed the way Gmail
does, to ``broadcast serve`` under uvicorn on 127.0.0.1 -- and the address gets nothing after."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from broadcaster.config import Secrets
from broadcaster.runtime import dispatcher

from .conftest import LiveServer, Project, free_socket

ANNOUNCE = "2024-03-20T09:00:00+08:00"
ARTICLE = "2024-03-21T12:00:00+08:00"


async def run_pass(project: Project, now: str) -> None:
    async with dispatcher(project.loaded(), Secrets()) as d:
        await d.run(datetime.fromisoformat(now))


async def test_posting_the_one_click_body_to_a_messages_link_stops_all_mail(
    project: Project,
) -> None:
    await run_pass(project, ANNOUNCE)
    message = project.sink.handler.messages()["ann@example.com"].message
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https_link = re.search(r"<(https://[^>]+)>", message["List-Unsubscribe"])
    assert https_link
    link = urlsplit(https_link.group(1))

    ledger = project.ledger()
    with LiveServer(project.loaded(), ledger, free_socket()) as server:
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{server.url}{link.path}?{link.query}",
                content=b"List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
    ledger.close()
    assert response.status_code == 200

    await run_pass(project, ARTICLE)

    assert project.sink.handler.per_address()["ann@example.com"] == 1  # the closure, nothing after
