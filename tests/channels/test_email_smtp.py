"""The SMTP transport against a real SMTP server (aiosmtpd on 127.0.0.1).

Each test sends realistic messages and checks what the server received and what outcome
each message got: pooled and pipelined sending, 4xx/5xx replies, dropped connections, a
server that is down, and logging in.
"""

from __future__ import annotations

import socket
from dataclasses import replace
from typing import Any

import pytest

from broadcaster.channels.email.message import Envelope, Prepared, Recipient, Sender
from broadcaster.channels.email.smtp import DOWN_RETRY, SETUP_RETRY, SmtpSettings, SmtpTransport
from broadcaster.channels.email.transport import Outcome
from broadcaster.errors import NoReply, PermanentError, RetryableError

from .conftest import SmtpSink

RENDERED = {
    "subject": "Glow Aesthetics closed 26 Mar (Tue) – 27 Mar (Wed)",
    "text": "Hello [[name|there]],\n\nAll our outlets will be closed.\n.\n..a line with dots\n",
    "html": "<p>Hello [[name|there]],</p><p>All our outlets will be closed.</p>",
}
SENDER = Sender("Glow Aesthetics <hello@glow-aesthetics.example>")


def envelopes(count: int, prefix: str = "user") -> list[Envelope]:
    prepared = Prepared(RENDERED, SENDER)
    return [
        prepared.build(
            i,
            f"closure-2024-03-26/announce/email/{prefix}{i}@example.com/0",
            Recipient(
                f"{prefix}{i}@example.com",
                f"Subscriber {i}",
                f"https://www.glow-aesthetics.example/unsubscribe?token=t{i}",
                "mailto:hello@glow-aesthetics.example?subject=unsubscribe",
            ),
        )
        for i in range(count)
    ]


def transport(sink: SmtpSink, **overrides: Any) -> SmtpTransport:
    settings = SmtpSettings("127.0.0.1", sink.port, "none", "glow-aesthetics.example", timeout=5.0)
    return SmtpTransport(replace(settings, **overrides))


async def send_all(smtp: SmtpTransport, batch: list[Envelope]) -> dict[str, Outcome]:
    outcomes = {e.recipient: o async for e, o in smtp.send_many(batch)}
    await smtp.aclose()
    return outcomes


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one-at-a-time"])
async def test_every_message_arrives_once_over_the_pool(sink: SmtpSink, pipelining: bool) -> None:
    sink.handler.pipelining = pipelining
    batch = envelopes(23)
    outcomes = await send_all(transport(sink, connections=3, messages_per_connection=5), batch)

    assert all(isinstance(o, dict) for o in outcomes.values()), outcomes
    assert sink.handler.per_address() == {e.recipient: 1 for e in batch}
    receipt = outcomes["user7@example.com"]
    assert isinstance(receipt, dict)
    assert receipt["message_id"] == batch[7].message_id
    assert receipt["reply"].startswith("250 2.0.0 Ok")
    # at most 5 messages per connection: 23 messages need at least 5 connections
    assert sink.handler.connections >= 5
    received = sink.handler.messages()["user7@example.com"]
    assert received.mail_from == "hello@glow-aesthetics.example"
    body = received.message.get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    assert ".\n..a line with dots\n" in text  # dots stuffed on the wire, unstuffed by the server


async def test_the_pool_keeps_its_connections_between_batches(sink: SmtpSink) -> None:
    smtp = transport(sink, connections=2)
    for start in range(0, 12, 4):
        outcomes = [o async for _e, o in smtp.send_many(envelopes(12)[start : start + 4])]
        assert all(isinstance(o, dict) for o in outcomes)
    await smtp.aclose()
    assert sink.handler.count() == 12
    assert sink.handler.connections == 2


@pytest.mark.parametrize(
    ("reply", "error", "retry_after"),
    [
        ("451 4.3.0 Temporary local problem", RetryableError, None),
        ("452 4.5.3 Too many recipients", RetryableError, None),
        ("550 5.1.1 No such user here", PermanentError, None),
        ("553 5.1.3 Bad recipient address syntax", PermanentError, None),
        ("554 5.7.1 Relay access denied", RetryableError, SETUP_RETRY),
    ],
)
async def test_a_refused_recipient_fails_alone(
    sink: SmtpSink, reply: str, error: type[Exception], retry_after: float | None
) -> None:
    sink.handler.rcpt_replies["user3@example.com"] = [reply]
    sink.handler.pipelining = True
    batch = envelopes(8)
    outcomes = await send_all(transport(sink, connections=2), batch)

    refused = outcomes.pop("user3@example.com")
    assert type(refused) is error
    assert isinstance(refused, RetryableError | PermanentError)
    setup = " -- the sending setup (relay, login, SPF/DKIM) needs fixing, not this recipient"
    assert refused.message == f"RCPT refused: {reply}" + (setup if retry_after else "")
    assert getattr(refused, "retry_after", None) == retry_after
    assert all(isinstance(o, dict) for o in outcomes.values())
    assert set(sink.handler.per_address()) == {e.recipient for e in batch} - {"user3@example.com"}


async def test_a_refused_message_content_fails_alone(sink: SmtpSink) -> None:
    sink.handler.data_replies["user1@example.com"] = "554 5.6.0 Message content rejected"
    outcomes = await send_all(transport(sink, connections=1), envelopes(4))

    assert isinstance(outcomes["user1@example.com"], PermanentError)
    assert "message refused: 554 5.6.0" in str(outcomes["user1@example.com"])
    assert sink.handler.count() == 3


async def test_after_a_refusal_the_connection_carries_on(sink: SmtpSink) -> None:
    # one connection, pipelined: the refused transaction is reset and the next goes through
    for address in ("user0@example.com", "user2@example.com", "user5@example.com"):
        sink.handler.rcpt_replies[address] = ["550 5.1.1 unknown"]
    outcomes = await send_all(transport(sink, connections=1), envelopes(6))

    assert [type(outcomes[f"user{i}@example.com"]).__name__ for i in range(6)] == [
        "PermanentError",
        "dict",
        "PermanentError",
        "dict",
        "dict",
        "PermanentError",
    ]
    assert sink.handler.connections == 1


async def test_a_dropped_connection_reconnects_and_carries_on(sink: SmtpSink) -> None:
    sink.handler.drop_at_rcpt = {"user4@example.com", "user9@example.com"}
    batch = envelopes(14)
    outcomes = await send_all(transport(sink, connections=2), batch)

    assert all(isinstance(o, dict) for o in outcomes.values()), outcomes
    assert sink.handler.per_address() == {e.recipient: 1 for e in batch}
    assert sink.handler.connections >= 4  # two originals, two replacements


async def test_a_message_lost_after_its_content_is_never_resent(sink: SmtpSink) -> None:
    sink.handler.drop_after_data = {"user2@example.com"}
    batch = envelopes(6)
    outcomes = await send_all(transport(sink, connections=1), batch)

    lost = outcomes.pop("user2@example.com")
    assert isinstance(lost, NoReply)  # in the ledger: unknown, as on every other channel
    assert lost.message.startswith("unconfirmed: ")  # then how the line died, as the OS saw it
    assert lost.message.endswith(
        " after the message was sent; it may have arrived, so it is not sent again"
    )
    assert all(isinstance(o, dict) for o in outcomes.values())
    # the server did keep it: exactly one copy, and everyone else got theirs
    assert sink.handler.per_address() == {e.recipient: 1 for e in batch}


async def test_a_server_that_is_down_fails_the_batch_fast_and_retryably() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket closes
    smtp = SmtpTransport(
        SmtpSettings("127.0.0.1", port, "none", helo="glow.example", connections=2, timeout=2.0)
    )
    outcomes = [o async for _e, o in smtp.send_many(envelopes(30))]

    assert len(outcomes) == 30
    assert all(isinstance(o, RetryableError) for o in outcomes)
    first = [o for o in outcomes if isinstance(o, RetryableError) and o.retry_after is None]
    assert 1 <= len(first) <= 2  # one real attempt per connection, then the pool rests
    assert all("cannot connect to SMTP 127.0.0.1" in str(o) for o in outcomes)
    assert sum(o.retry_after == DOWN_RETRY for o in outcomes if isinstance(o, RetryableError)) >= 28


async def test_login_with_the_right_password(sink: SmtpSink) -> None:
    sink.handler.password = "s3cret-password"
    smtp = transport(sink, username="hello@glow-aesthetics.example", password="s3cret-password")
    assert "logged in as hello@glow-aesthetics.example" in await smtp.check()
    outcomes = await send_all(smtp, envelopes(3))
    assert all(isinstance(o, dict) for o in outcomes.values())
    assert sink.handler.count() == 3


async def test_a_wrong_password_retries_later_and_sends_nothing(sink: SmtpSink) -> None:
    sink.handler.password = "s3cret-password"
    smtp = transport(sink, username="hello@glow-aesthetics.example", password="wrong")
    outcomes = await send_all(smtp, envelopes(3))

    assert all(isinstance(o, RetryableError) for o in outcomes.values())
    assert any("BROADCAST_SMTP_PASSWORD" in str(o) for o in outcomes.values())
    assert "wrong" not in " ".join(str(o) for o in outcomes.values())
    assert sink.handler.count() == 0


async def test_check_describes_the_server_without_sending(sink: SmtpSink) -> None:
    description = await transport(sink).check()
    assert description == f"SMTP 127.0.0.1:{sink.port} (none; PIPELINING)"
    assert sink.handler.count() == 0
