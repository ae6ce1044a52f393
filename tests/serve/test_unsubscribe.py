"""One-click unsubscribe (RFC 8058), the page behind the link, its undo, and preferences.

The token is the one the email channel puts in every message; a mail provider's button
POSTs ``List-Unsubscribe=One-Click`` to the link with no cookie and no form token.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from broadcaster.channels.email import tokens
from broadcaster.serve import signing
from broadcaster.serve.app import Serve

from .conftest import SERVE_SECRET, UNSUBSCRIBE_SECRET, form_token

ANN = "ann@example.com"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def token(address: str = ANN, secret: str = UNSUBSCRIBE_SECRET) -> str:
    return tokens.make(address, secret)


def suppressed(state: Serve, address: str = ANN) -> bool:
    return bool(state.ledger.suppressed([address]))


async def test_the_one_click_post_suppresses_at_once_and_answers_2xx(
    client: httpx.AsyncClient, state: Serve
) -> None:
    response = await client.post(f"/unsubscribe?token={token()}", data=ONE_CLICK)

    assert response.status_code == 200
    assert suppressed(state)
    assert state.ledger.suppression(ANN)[0] == "one-click unsubscribe"  # type: ignore[index]


async def test_a_token_in_the_path_or_as_t_works_too(
    client: httpx.AsyncClient, state: Serve
) -> None:
    assert (await client.post(f"/unsubscribe/{token()}", data=ONE_CLICK)).status_code == 200
    other = "bob@example.com"
    assert (await client.post(f"/unsubscribe?t={token(other)}", data=ONE_CLICK)).status_code == 200
    assert suppressed(state) and suppressed(state, other)


async def test_a_get_shows_one_button_and_never_unsubscribes(
    client: httpx.AsyncClient, state: Serve
) -> None:
    for _ in range(3):  # a mail scanner, a preview, the person
        page = await client.get(f"/unsubscribe?token={token()}")
        assert page.status_code == 200
    assert not suppressed(state)
    assert ANN in page.text
    assert len(re.findall(r">Unsubscribe</button>", page.text)) == 1
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "same-origin"


def _altered() -> str:
    version, _address, mac = token().split(".")
    bob = tokens.make("bob@example.com", "another-secret-that-is-long-enough").split(".")[1]
    return f"{version}.{bob}.{mac}"


@pytest.mark.parametrize(
    "bad",
    [
        token(secret="a-forger's-own-secret-0123456789"),
        _altered(),
        token()[:-3],
        "",
        "not-a-token",
    ],
    ids=["forged", "altered", "truncated", "empty", "garbage"],
)
async def test_forged_altered_and_broken_tokens_are_refused(
    client: httpx.AsyncClient, state: Serve, bad: str
) -> None:
    assert (await client.post(f"/unsubscribe?token={bad}", data=ONE_CLICK)).status_code == 400
    assert (await client.get(f"/unsubscribe?token={bad}")).status_code == 400
    assert not suppressed(state) and not suppressed(state, "bob@example.com")


async def test_a_post_without_the_one_click_body_changes_nothing(
    client: httpx.AsyncClient, state: Serve
) -> None:
    assert (await client.post(f"/unsubscribe?token={token()}", data={})).status_code == 400
    assert not suppressed(state)


async def test_the_page_after_unsubscribing_offers_an_undo_that_works(
    client: httpx.AsyncClient, state: Serve
) -> None:
    page = (await client.post(f"/unsubscribe?token={token()}", data=ONE_CLICK)).text
    undo = re.search(r'name="undo" value="([^"]+)"', page)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert undo and csrf and suppressed(state)

    again = await client.post("/resubscribe", data={"undo": undo.group(1), "csrf": csrf.group(1)})

    assert again.status_code == 200
    assert "subscribed again" in again.text
    assert not suppressed(state)


async def test_an_expired_or_foreign_undo_is_refused(
    client: httpx.AsyncClient, state: Serve
) -> None:
    await client.post(f"/unsubscribe?token={token()}", data=ONE_CLICK)
    key = SERVE_SECRET.encode()
    expired = signing.sign("undo", {"a": ANN}, key, 60, now=time.time() - 3600)
    confirm_link = signing.sign("confirm", {"a": ANN}, key, 3600)  # another purpose
    for bad in (expired, confirm_link):
        response = await client.post(
            "/resubscribe", data={"undo": bad, "csrf": await form_token(client)}
        )
        assert response.status_code == 400
    assert suppressed(state)


async def test_preferences_closures_only_are_saved(client: httpx.AsyncClient, state: Serve) -> None:
    page = (await client.get(f"/unsubscribe?token={token()}")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf

    saved = await client.post(
        "/preferences", data={"token": token(), "topics": "closures", "csrf": csrf.group(1)}
    )

    assert saved.status_code == 200
    assert state.book.topics(ANN) == "closures"
    assert not suppressed(state)


async def test_preferences_without_a_form_token_are_refused(
    client: httpx.AsyncClient, state: Serve
) -> None:
    refused = await client.post("/preferences", data={"token": token(), "topics": "closures"})

    assert refused.status_code == 403
    assert state.book.topics(ANN) == "all"
