"""No token, password or session token appears in any output, log line, error or history.

The Telegram token travels in every URL path, so this is checked with httpx's own logging at
DEBUG too; the other credentials travel in headers and bodies. Every text a person or a log
collector could see is gathered and grepped for each secret.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from broadcaster.channels.bluesky import BlueskyChannel
from broadcaster.channels.mastodon import MastodonChannel
from broadcaster.channels.telegram import TelegramChannel
from broadcaster.cli import app
from broadcaster.errors import DeliveryError
from broadcaster.ledger import Ledger
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.conftest import running
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.support import Fakes, MemoryStore, article, configure, outgoing
from tests.fakes.telegram import FakeTelegram

TELEGRAM_TOKEN = "987654321:AAcanaryTELEGRAMtokenLEAKxxxxxxxxxxx"
MASTODON_TOKEN = "canary-MASTODON-token-LEAK"
BLUESKY_PASSWORD = "cana-rybl-uesk-yLEA"
WRONG = {
    "BROADCAST_TELEGRAM_TOKEN": "111111111:AAwrongTELEGRAMtokenLEAKyyyyyyyyyyyy",
    "BROADCAST_MASTODON_TOKEN": "wrong-MASTODON-token-LEAK",
    "BROADCAST_BLUESKY_APP_PASSWORD": "wron-gblu-esky-LEAK",
}
DEMO_NOW = "2024-03-20T09:00:00+08:00"


@pytest.fixture
def fakes(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fakes]:
    with (
        running(FakeTelegram(token=TELEGRAM_TOKEN)) as tg,
        running(FakeMastodon(token=MASTODON_TOKEN)) as masto,
        running(FakeBluesky(password=BLUESKY_PASSWORD)) as bsky,
    ):
        found = Fakes(tg, masto, bsky)
        configure(project, found)
        for name, value in found.secrets().items():
            monkeypatch.setenv(name, value)
        yield found


def secrets(fakes: Fakes) -> list[str]:
    """Every credential in play, including the Bluesky session tokens the fake handed out."""
    sessions = [*fakes.bsky.fake.access_tokens, *fakes.bsky.fake.refresh_tokens]
    sessions += fakes.bsky.fake.revoked_refresh_tokens
    fragments = [s.split(".")[2] for s in sessions]  # the signatures, the unguessable part
    return [TELEGRAM_TOKEN, MASTODON_TOKEN, BLUESKY_PASSWORD, *WRONG.values(), *fragments]


def assert_clean(text: str, fakes: Fakes) -> None:
    leaked = [secret for secret in secrets(fakes) if secret in text]
    assert leaked == [], f"secrets leaked: {leaked}"
    assert "AAcanary" not in text and "AAwrong" not in text  # not even part of a bot token


def test_the_cli_never_shows_a_secret(fakes: Fakes, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def broadcast(*args: str) -> int:
        result = CliRunner().invoke(app, list(args))
        seen.append(result.output)
        if result.exception and not isinstance(result.exception, SystemExit):
            seen.append(repr(result.exception))
        return result.exit_code

    assert broadcast("channels", "check") == 0
    fakes.tg.fake.fail_with_429(retry_after=1)
    fakes.tg.fake.drop_connection(on="sendPhoto")  # permanent for Telegram: error text shown
    fakes.masto.fake.fail_after_create(then="drop")
    fakes.bsky.fake.fail_with_5xx(502, times=None, on="createRecord")
    broadcast("run", "--now", DEMO_NOW, "--log-format", "json")
    fakes.bsky.fake.clear_faults()
    fakes.bsky.fake.expire_access_tokens()
    broadcast("run", "--now", "2024-03-20T09:30:00+08:00")
    for name, value in WRONG.items():  # revoked or mistyped credentials
        monkeypatch.setenv(name, value)
    assert broadcast("channels", "check") == 1
    broadcast("send", "closure-2024-03-26", "--force", "--now", DEMO_NOW)
    broadcast("history", "--json")
    broadcast("history", "--limit", "100")
    broadcast("plan", "--now", DEMO_NOW)
    broadcast("validate")
    ledger = Ledger("sqlite:///var/broadcaster.db")
    try:
        rows = [json.dumps([d.error, d.receipt, d.target]) for d in ledger.history(limit=500)]
    finally:
        ledger.close()

    everything = "\n".join(seen + rows)
    assert "Unauthorized (check BROADCAST_TELEGRAM_TOKEN)" in everything  # errors were shown
    assert "Telegram may have posted it" in everything
    assert fakes.bsky.fake.posts and fakes.masto.fake.statuses  # and the runs did post
    assert_clean(everything, fakes)


async def test_logs_at_debug_and_errors_never_carry_a_secret(
    fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    """With no redacting handler at all (pytest's own), httpx's DEBUG/INFO lines included."""
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    async with httpx.AsyncClient(timeout=5.0, verify=False) as http:
        store = MemoryStore()
        tg = TelegramChannel(
            http, token=TELEGRAM_TOKEN, chat_id="@glowaesthetics", api_url=fakes.tg.url, store=store
        )
        masto = MastodonChannel(http, token=MASTODON_TOKEN, instance=fakes.masto.url, store=store)
        bsky = BlueskyChannel(
            http,
            handle=fakes.bsky.fake.handle,
            password=BLUESKY_PASSWORD,
            service=fakes.bsky.url,
            store=store,
        )
        for channel in (tg, masto, bsky):
            await channel.prepare()
            errors.append(await channel.check())
            await channel.send(
                channel.build(outgoing("Closed on 26 Mar.", part=channel.limits.part))
            )
            errors.append(
                repr(channel.build(article("New\n\nhttps://x.example/a", part=channel.limits.part)))
            )
        fakes.tg.fake.fail_with_5xx(502)
        fakes.bsky.fake.expire_access_tokens()
        fakes.masto.fake.fail_with_429(retry_after=5)
        for channel in (tg, masto, bsky):
            try:
                await channel.send(
                    channel.build(outgoing("Again", part=channel.limits.part, seq=1))
                )
            except DeliveryError as exc:
                errors += [str(exc), repr(exc), exc.message]
        with running(FakeTelegram()) as gone:
            url = gone.url
        for token in (TELEGRAM_TOKEN, WRONG["BROADCAST_TELEGRAM_TOKEN"]):
            dead = TelegramChannel(http, token=token, chat_id="@x", api_url=url, store=store)
            try:
                await dead.send(dead.build(outgoing("x", part="html")))
            except DeliveryError as exc:
                errors += [str(exc), repr(exc)]
    assert "/bot***/sendMessage" in caplog.text  # httpx did log the URL, redacted
    assert len(errors) >= 8
    assert_clean(caplog.text + "\n".join(errors), fakes)
