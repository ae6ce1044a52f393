"""Sign-up with double opt-in, against a real SMTP server (aiosmtpd on 127.0.0.1).

The confirmation email goes out once per request through the email channel's transport and
is recorded in the ledger; the same answer comes back whoever the address belongs to; bots
meet a honeypot, rate limits, the form token and the body cap.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import httpx
import pytest

from broadcaster.ledger import Ledger
from broadcaster.serve import signing
from broadcaster.serve.app import Serve

from .conftest import SERVE_SECRET, SITE, Project, form_token, sign_up

KEY = SERVE_SECRET.encode()


def confirmations(project: Project, address: str) -> int:
    return sum(address in m.rcpt_tos for m in project.sink.handler.received)


async def test_a_sign_up_sends_one_confirmation_whose_link_confirms(
    client: httpx.AsyncClient, state: Serve, project: Project
) -> None:
    answer = await sign_up(client, "New.Person@Example.com", name="New Person")

    assert answer.status_code == 200
    assert "Check your inbox" in answer.text
    address = "new.person@example.com"
    mail = project.sink.handler.messages()[address].message
    assert mail["Subject"] == "Please confirm your subscription to Glow Aesthetics"
    assert "List-Unsubscribe" not in mail  # transactional: the person asked for it
    assert state.book.get(address).status == "pending"  # type: ignore[union-attr]
    [delivery] = state.ledger.history(notice_id="signup")
    assert (delivery.channel, delivery.target, delivery.state) == ("email", address, "sent")

    link = project.confirmation_link(address)
    path = link.removeprefix("http://127.0.0.1:8080")
    page = await client.get(path)
    assert page.status_code == 200
    assert state.book.get(address).status == "pending"  # type: ignore[union-attr]  # a GET changes nothing

    token = re.search(r'name="token" value="([^"]+)"', page.text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token and csrf
    done = await client.post("/confirm", data={"token": token.group(1), "csrf": csrf.group(1)})

    assert done.status_code == 200
    subscriber = state.book.get(address)
    assert subscriber is not None
    assert (subscriber.status, subscriber.name, subscriber.source) == (
        "confirmed",
        "New Person",
        "form",
    )


async def test_the_answer_is_the_same_for_new_pending_and_subscribed_addresses(
    client: httpx.AsyncClient, state: Serve, project: Project
) -> None:
    now = datetime.now(UTC)
    state.book.request("pending@example.com", "", None, "form", now)
    state.book.import_rows([("subscribed@example.com", "Sub")], "import:test.csv", now)

    answers = [
        await sign_up(client, f"{who}@example.com") for who in ("new", "pending", "subscribed")
    ]

    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert len({tuple(sorted(a.headers.items())) for a in answers}) == 1
    assert confirmations(project, "new@example.com") == 1
    assert confirmations(project, "pending@example.com") == 1  # may have lost the first
    assert confirmations(project, "subscribed@example.com") == 0  # told nothing, sent nothing


async def test_the_same_form_posted_twice_sends_one_email(
    client: httpx.AsyncClient, project: Project
) -> None:
    data = {"csrf": await form_token(client), "email": "twice@example.com"}

    first = await client.post("/subscribe", data=data)
    second = await client.post("/subscribe", data=data)

    assert first.text == second.text
    assert confirmations(project, "twice@example.com") == 1


async def test_a_filled_in_honeypot_gets_the_same_answer_and_nothing_happens(
    client: httpx.AsyncClient, state: Serve, project: Project
) -> None:
    human = await sign_up(client, "human@example.com")
    bot = await sign_up(client, "bot@example.com", website="https://spam.example")

    assert bot.status_code == 200 and bot.text == human.text
    assert state.book.get("bot@example.com") is None
    assert confirmations(project, "bot@example.com") == 0


async def test_the_per_ip_rate_limit_holds(client: httpx.AsyncClient, project: Project) -> None:
    for _ in range(20):  # serve.rate_limit.per_ip_per_hour in the test config
        assert (await sign_up(client, "x@example.com", website="bot")).status_code == 200

    limited = await sign_up(client, "late@example.com")

    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 3600
    assert confirmations(project, "late@example.com") == 0


async def test_the_per_address_rate_limit_holds_without_saying_so(
    client: httpx.AsyncClient, project: Project
) -> None:
    answers = {(await sign_up(client, "victim@example.com")).text for _ in range(6)}

    assert len(answers) == 1
    assert confirmations(project, "victim@example.com") == 3  # per_address_per_hour


@pytest.mark.parametrize(
    "case",
    ["no token", "expired token", "token for another purpose", "foreign page", "null origin"],
)
async def test_csrf_is_refused(
    client: httpx.AsyncClient, state: Serve, project: Project, case: str
) -> None:
    token = await form_token(client)
    headers = {}
    if case == "no token":
        token = ""
    elif case == "expired token":
        token = signing.sign("form", {"r": "abc"}, KEY, 60, now=time.time() - 3600)
    elif case == "token for another purpose":
        token = signing.sign("undo", {"r": "abc"}, KEY, 3600)
    elif case == "foreign page":
        headers = {"Origin": "https://evil.example"}
    else:
        headers = {"Origin": "null"}

    refused = await client.post(
        "/subscribe", data={"csrf": token, "email": "csrf@example.com"}, headers=headers
    )

    assert refused.status_code == 403
    assert state.book.get("csrf@example.com") is None
    assert confirmations(project, "csrf@example.com") == 0


async def test_a_post_from_the_clinic_site_or_this_app_is_accepted(
    client: httpx.AsyncClient, project: Project
) -> None:
    for origin in (SITE, "http://127.0.0.1:8080"):
        data = {"csrf": await form_token(client), "email": "ok@example.com"}
        answer = await client.post("/subscribe", data=data, headers={"Origin": origin})
        assert answer.status_code == 200


def _confirm_token(address: str, *, age: float = 0, key: bytes = KEY) -> str:
    data = {"a": address, "n": "", "t": "all", "r": "r1"}
    return signing.sign("confirm", data, key, 48 * 3600, now=time.time() - age)


def _altered() -> str:
    payload, mac = _confirm_token("mine@example.com").split(".")
    other = _confirm_token("victim@example.com").split(".")[0]
    assert payload != other
    return f"{other}.{mac}"


@pytest.mark.parametrize(
    "token",
    [
        _confirm_token("victim@example.com", key=b"a-forger-guessing-the-key-0123456789"),
        _altered(),
        _confirm_token("victim@example.com", age=49 * 3600),
    ],
    ids=["forged", "altered", "expired"],
)
async def test_forged_altered_and_expired_confirmation_links_are_refused(
    client: httpx.AsyncClient, state: Serve, token: str
) -> None:
    page = await client.get(f"/confirm?token={token}")
    posted = await client.post("/confirm", data={"token": token, "csrf": await form_token(client)})

    assert page.status_code == posted.status_code == 400
    assert state.book.get("victim@example.com") is None


async def test_an_expired_link_says_so(client: httpx.AsyncClient) -> None:
    page = await client.get(f"/confirm?token={_confirm_token('a@example.com', age=49 * 3600)}")

    assert page.status_code == 400
    assert "expired" in page.text


async def test_an_invalid_address_is_shown_again_with_a_message(
    client: httpx.AsyncClient, project: Project
) -> None:
    answer = await sign_up(client, "not an address")

    assert answer.status_code == 400
    assert "valid email address" in answer.text
    assert project.sink.handler.count() == 0


async def test_a_large_body_is_refused_unread(client: httpx.AsyncClient, state: Serve) -> None:
    data = {"csrf": await form_token(client), "email": "big@example.com", "name": "x" * 100_000}

    assert (await client.post("/subscribe", data=data)).status_code == 413
    assert state.book.get("big@example.com") is None


async def test_a_failing_mail_server_leaves_the_confirmation_failed_in_the_ledger(
    client: httpx.AsyncClient, state: Serve, project: Project
) -> None:
    project.sink.handler.rcpt_replies["nobody@example.com"] = ["550 5.1.1 no such user"]

    answer = await sign_up(client, "nobody@example.com")

    assert answer.status_code == 200  # the same answer: the person sees no difference
    [delivery] = Ledger.history(state.ledger, notice_id="signup")
    assert delivery.state == "failed"
    assert "550" in (delivery.error or "")
