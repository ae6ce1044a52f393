"""The Apprise channel with the real apprise package, notifying a receiver on 127.0.0.1.

No mocks: Apprise's own json:// and form:// plugins make real HTTP requests to the local
receiver, and `broadcast run` shows the ledger keeping each URL to one message per notice.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from broadcaster.channels.apprise_channel import (
    INSTALL_HINT,
    AppriseChannel,
    apprise_channel,
    split_urls,
)
from broadcaster.channels.base import Skipped
from broadcaster.cli import app
from broadcaster.errors import RetryableError, SetupError
from tests.commands import broadcast
from tests.fakes.conftest import Running, running
from tests.fakes.support import outgoing
from tests.fakes.webhook_receiver import WebhookReceiver

pytest.importorskip("apprise")

Receiver = Running[WebhookReceiver]
PASSWORD = "s3cret-apprise-password"
DEMO_NOW = "2024-03-20T09:00:00+08:00"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running(WebhookReceiver(require_signature=False)) as r:
        yield r


def json_url(receiver: Receiver, path: str = "/notify", options: str = "") -> str:
    return f"json://user:{PASSWORD}@{receiver.url.removeprefix('http://')}{path}{options}"


def make(*urls: str) -> AppriseChannel:
    channel = apprise_channel(list(urls), "Glow Aesthetics")
    assert isinstance(channel, AppriseChannel), channel
    return channel


async def notify(channel: AppriseChannel, text: str, target: int = 0) -> dict[str, object]:
    key = channel.targets()[target].key
    return await channel.send(channel.build(outgoing(text, channel="apprise", target=key)))


# Sending ---------------------------------------------------------------------------------------


async def test_a_json_url_posts_the_text_with_the_site_as_title(receiver: Receiver) -> None:
    channel = make(json_url(receiver))
    receipt = await notify(channel, "Our outlets will be closed from 26 Mar (Tue).")
    (got,) = receiver.fake.deliveries
    assert got.path == "/notify"
    assert got.document["title"] == "Glow Aesthetics"
    assert got.document["message"] == "Our outlets will be closed from 26 Mar (Tue)."
    assert got.headers["authorization"].startswith("Basic ")
    assert receipt["service"] == "JSON" and PASSWORD not in str(receipt)


async def test_a_form_url_posts_form_fields(receiver: Receiver) -> None:
    channel = make(f"form://{receiver.url.removeprefix('http://')}/form")
    await notify(channel, "Closed 26 Mar.")
    (got,) = receiver.fake.deliveries
    assert got.document["message"] == "Closed 26 Mar." and got.path == "/form"


async def test_a_refusal_is_retryable_and_says_why(receiver: Receiver) -> None:
    receiver.fake.answer("/notify", 500)
    channel = make(json_url(receiver))
    with pytest.raises(RetryableError) as caught:
        await notify(channel, "Closed 26 Mar.")
    message = caught.value.message
    assert "JSON" in message and "did not accept" in message
    assert "reports only success or failure, so it is retried" in message
    assert PASSWORD not in message and "****" in message


async def test_an_unreachable_service_is_retryable() -> None:
    with running(WebhookReceiver(require_signature=False)) as gone:
        url = json_url(gone)
    with pytest.raises(RetryableError, match="did not accept"):
        await notify(make(url), "Closed 26 Mar.")


# Targets and configuration --------------------------------------------------------------------


def test_each_url_is_a_target_keyed_by_its_identity_not_its_options(receiver: Receiver) -> None:
    plain, other_path = json_url(receiver), json_url(receiver, "/other")
    keys = [t.key for t in make(plain, other_path).targets()]
    assert len(set(keys)) == 2 and all(k.startswith("json#") for k in keys)
    assert make(json_url(receiver, options="?image=no")).targets()[0].key == keys[0]
    assert all(PASSWORD not in k for k in keys)
    shown = make(plain).targets()[0].fields["service"]
    assert PASSWORD not in shown and shown.startswith("json://user:****@127.0.0.1")


@pytest.mark.parametrize(
    ("urls", "reason"),
    [
        ([], "no URLs: set channels.apprise.urls or BROADCAST_APPRISE_URLS"),
        (
            ["json://127.0.0.1/ok", "notaservice://user:hunter22222@x"],
            "URL #2 (notaservice://...) is not a valid Apprise URL",
        ),
    ],
)
def test_unusable_configuration_is_skipped_with_a_reason(urls: list[str], reason: str) -> None:
    skipped = apprise_channel(urls, "Glow")
    assert isinstance(skipped, Skipped) and reason in skipped.reason
    assert "hunter22222" not in skipped.reason


def test_without_the_package_the_config_is_refused_with_the_install_line(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # as if not installed
    config = project / "config/broadcaster.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("channels:\n", 'channels:\n  apprise:\n    urls: ["json://127.0.0.1/x"]\n', 1),
        encoding="utf-8",
    )
    line = text.splitlines().index("channels:") + 2
    for command in ("validate", "run"):
        code, output = broadcast(command, "--now", "2024-03-20T09:00:00+08:00")
        assert code == 2
        assert output.strip() == (
            f"error config/broadcaster.yaml:{line}: channels.apprise: the apprise package is "
            "not installed: pip install 'broadcaster[apprise]' (or remove channels.apprise)"
        )
    assert not (project / "site").exists() and not (project / "var/outbox").exists()


def test_a_broken_installation_is_a_setup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # `import apprise` raises ImportError
    with pytest.raises(SetupError) as caught:
        apprise_channel(["json://127.0.0.1/x"], "Glow")
    assert caught.value.where == "channels.apprise" and caught.value.hint == INSTALL_HINT


def test_the_environment_variable_takes_spaces_commas_and_newlines() -> None:
    assert split_urls("json://a/x, form://b/y\nslack://c/d  ") == [
        "json://a/x",
        "form://b/y",
        "slack://c/d",
    ]
    assert split_urls(None) == []


# Through `broadcast run`: exactly once per URL ----------------------------------------------------


def test_a_run_notifies_each_url_once_and_never_prints_it(
    project: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = project / "config/broadcaster.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "channels:\n", "channels:\n  apprise:\n    urls: []\n", 1
        ),
        encoding="utf-8",
    )
    urls = f"{json_url(receiver, '/slack-like')} {json_url(receiver, '/discord-like')}"
    monkeypatch.setenv("BROADCAST_APPRISE_URLS", urls)
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(app, ["run", "--now", DEMO_NOW])
        assert result.exit_code == 0, result.output
        assert PASSWORD not in result.output
    paths = sorted(d.path for d in receiver.fake.deliveries)
    assert paths == ["/discord-like"] * 2 + ["/slack-like"] * 2  # closure + article, each once
    history = runner.invoke(app, ["history", "--json", "--channel", "apprise"]).output
    assert history.count('"state": "sent"') == 4 and PASSWORD not in history
