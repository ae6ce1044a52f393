"""Facebook, Instagram, X and LinkedIn configured against their fakes, driven through
`broadcast`: the closure and the article go out once on each, a rerun posts nothing, and no
credential shows anywhere.

The banner folder is served by a local web server, as the clinic's website serves it, so the
fake Instagram fetches the notice card from where the card was written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from broadcaster.cli import app
from broadcaster.ledger import Ledger
from tests.commands import broadcast, history
from tests.fakes.conftest import Running, running
from tests.fakes.graph import FakeGraph, static_site
from tests.fakes.linkedin import FakeLinkedIn
from tests.fakes.server import serve
from tests.fakes.x import FakeX

DEMO_NOW = "2024-03-20T09:00:00+08:00"
LATER = "2024-03-20T09:10:00+08:00"
CLOSURE_START = "Our outlets will be closed from 26 Mar (Tue) to 27 Mar (Wed)"
CHANNELS = ("facebook", "instagram", "x", "linkedin")


@dataclass
class More:
    graph: Running[FakeGraph]
    x: Running[FakeX]
    linkedin: Running[FakeLinkedIn]
    website: str

    def secrets(self) -> dict[str, str]:
        x = self.x.fake
        return {
            "BROADCAST_FACEBOOK_TOKEN": self.graph.fake.page_token,
            "BROADCAST_INSTAGRAM_TOKEN": self.graph.fake.ig_token,
            "BROADCAST_X_CONSUMER_KEY": x.consumer_key,
            "BROADCAST_X_CONSUMER_SECRET": x.consumer_secret,
            "BROADCAST_X_ACCESS_TOKEN": x.access_token,
            "BROADCAST_X_ACCESS_TOKEN_SECRET": x.access_token_secret,
            "BROADCAST_LINKEDIN_TOKEN": self.linkedin.fake.token,
        }

    def counts(self) -> tuple[int, int, int, int]:
        graph = self.graph.fake
        return (
            len(graph.posts),
            len(graph.media),
            len(self.x.fake.tweets),
            len(self.linkedin.fake.posts),
        )


def configure(project: Path, more: More) -> None:
    """The example config with the four sections pointed at the fakes."""
    path = project / "config/broadcaster.yaml"
    graph = more.graph
    sections = (
        "channels:\n"
        f'  facebook:\n    page_id: "{graph.fake.page_id}"\n    api_url: "{graph.url}"\n'
        f'  instagram:\n    user_id: "{graph.fake.ig_user_id}"\n    api_url: "{graph.url}"\n'
        "    poll_seconds: 0.01\n    poll_attempts: 5\n"
        f'  x:\n    api_url: "{more.x.url}"\n'
        f'  linkedin:\n    organization: "5515715"\n    version: "202510"\n'
        f'    api_url: "{more.linkedin.url}"\n'
    )
    text = path.read_text(encoding="utf-8").replace("channels:\n", sections, 1)
    banner = '    output_dir: "site/notices"\n'
    text = text.replace(banner, f'{banner}    public_url: "{more.website}"\n', 1)
    path.write_text(text)


@pytest.fixture
def more(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[More]:
    with (
        running(FakeGraph()) as graph,
        running(FakeX()) as x,
        running(FakeLinkedIn()) as linkedin,
        serve(static_site(project / "site/notices")) as website,
    ):
        found = More(graph, x, linkedin, website)
        configure(project, found)
        for name, value in found.secrets().items():
            monkeypatch.setenv(name, value)
        yield found


def test_a_run_posts_the_closure_and_the_article_once_on_each(more: More, project: Path) -> None:
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    assert more.counts() == (2, 2, 2, 2)

    closure, article = more.graph.fake.posts
    assert closure["message"].startswith(CLOSURE_START) and closure["link"] is None
    assert article["message"].startswith("New on our blog") and article["link"].startswith(
        "https://"
    )

    cards = sorted((project / "site/notices/cards").iterdir())
    assert len(cards) == 2 and more.graph.fake.fetched == [
        f"{more.website}/cards/{c['image_url'].rsplit('/', 1)[1]}"
        for c in more.graph.fake.containers.values()
    ]
    captions = [c["caption"] for c in more.graph.fake.containers.values()]
    assert (
        captions[0].startswith(CLOSURE_START) and "Read it on our website: https://" in captions[1]
    )

    tweets = [t["text"] for t in more.x.fake.tweets]
    assert tweets[0].startswith(CLOSURE_START) and tweets[1].endswith("/")  # the link, whole

    li_closure, li_article = more.linkedin.fake.posts
    assert li_closure["visible"].startswith(CLOSURE_START.replace("(", "").replace(")", "")[:0])
    assert li_closure["visible"] == li_closure["body"]["commentary"].replace("\\", "")
    assert "(Tue)" in li_closure["visible"]  # escaped, so LinkedIn kept the whole text
    assert li_article["body"]["content"]["article"]["source"].startswith("https://")

    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    assert more.counts() == (2, 2, 2, 2)
    sent = sorted((r["channel"], r["state"]) for r in history() if r["channel"] in CHANNELS)
    assert sent == sorted((ch, "sent") for ch in CHANNELS for _ in range(2))


def test_an_outage_delays_only_that_platform(more: More) -> None:
    more.linkedin.fake.fail_with_5xx(502, times=None)
    more.graph.fake.fail_with_graph_error(
        32, "(#32) Page request limit reached", on="feed", times=None
    )
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 1
    assert more.counts() == (0, 2, 2, 0)
    states = {r["channel"]: r["state"] for r in history() if r["channel"] in CHANNELS}
    assert states == {"facebook": "retry", "instagram": "sent", "x": "sent", "linkedin": "retry"}

    more.linkedin.fake.clear_faults()
    more.graph.fake.armed.clear()
    code, output = broadcast("run", "--now", LATER)
    assert code == 0, output
    assert more.counts() == (2, 2, 2, 2)


def test_a_lost_instagram_publish_reply_does_not_publish_twice(more: More) -> None:
    more.graph.fake.fail_after_publish()
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output  # retried in the run: the container was PUBLISHED, so it is sent
    assert len(more.graph.fake.media) == 2 and len(more.graph.fake.containers) == 2


def test_channels_check_verifies_every_credential_without_posting(more: More) -> None:
    code, output = broadcast("channels", "check")
    assert code == 0, output
    assert "facebook: the token reads Page 'Glow Aesthetics'" in output
    assert "instagram: the token reads @glowaesthetics" in output
    assert "x: signed in as @glowaesthetics" in output
    assert "linkedin: the token may post for urn:li:organization:5515715" in output
    assert more.counts() == (0, 0, 0, 0)


def test_plan_shows_xs_weighted_limit(more: More) -> None:
    code, output = broadcast("plan", "--now", DEMO_NOW)
    assert code == 0, output
    assert "/280" in output and "/2200" in output and "/3000" in output
    assert more.counts() == (0, 0, 0, 0)


def test_without_secrets_the_four_are_skipped(more: More, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in more.secrets():
        monkeypatch.delenv(name)
    monkeypatch.setenv("BROADCAST_X_CONSUMER_KEY", more.x.fake.consumer_key)
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    assert "BROADCAST_FACEBOOK_TOKEN is not set" in output
    assert "BROADCAST_X_CONSUMER_SECRET" in output and "BROADCAST_X_CONSUMER_KEY," not in output
    assert more.counts() == (0, 0, 0, 0)


def test_instagram_without_a_public_url_is_a_config_error(more: More, project: Path) -> None:
    path = project / "config/broadcaster.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(f'    public_url: "{more.website}"\n', ""))
    code, output = broadcast("validate")
    assert code == 2
    assert "set channels.banner.public_url" in output and "instagram" in output


# No credential anywhere ---------------------------------------------------------------------


def test_no_credential_shows_in_output_logs_or_history(
    more: More, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # rich tables: long errors on one line each
    seen: list[str] = []

    def run(*args: str) -> int:
        result = CliRunner().invoke(app, list(args))
        seen.append(result.output)
        if result.exception and not isinstance(result.exception, SystemExit):
            seen.append(repr(result.exception))
        return result.exit_code

    assert run("channels", "check") == 0
    more.graph.fake.expire_token(more.graph.fake.page_token)
    more.x.fake.fail_with_429(retry_after=5)
    more.linkedin.fake.fail_with_5xx(500, times=None)
    run("run", "--now", DEMO_NOW, "--log-format", "json")
    wrong = {
        "BROADCAST_INSTAGRAM_TOKEN": "EAAGwrongINSTAGRAMtokenLEAK",
        "BROADCAST_X_CONSUMER_SECRET": "wrongXconsumerSECRETleakxxxxxxxx",
        "BROADCAST_X_ACCESS_TOKEN_SECRET": "wrongXtokenSECRETleakyyyyyyyyyyyy",
        "BROADCAST_LINKEDIN_TOKEN": "AQVwrongLINKEDINtokenLEAK",
    }
    for name, value in wrong.items():
        monkeypatch.setenv(name, value)
    more.linkedin.fake.clear_faults()
    assert run("channels", "check") == 1
    assert "Invalid access token" in seen[-1] and "Unauthorized" in seen[-1]
    run("send", "closure-2024-03-26", "--force", "--now", DEMO_NOW)
    run("history", "--json")
    run("plan", "--now", DEMO_NOW)
    ledger = Ledger("sqlite:///var/broadcaster.db")
    try:
        rows = [json.dumps([d.error, d.receipt, d.target]) for d in ledger.history(limit=500)]
    finally:
        ledger.close()
    everything = "\n".join(seen + rows)
    errors = "\n".join(rows)
    assert "re-authorise the Page token" in errors and "Internal Server Error" in errors
    assert "x: rate limit reached, waiting for its reset" in errors  # the run's 429
    assert "x: Unauthorized (check BROADCAST_X_CONSUMER_KEY" in errors  # the wrong secrets
    secrets = [*more.secrets().values(), *wrong.values()]
    secrets.remove(more.x.fake.consumer_key)  # public in every signed header, by design
    assert [s for s in secrets if s in everything] == []


def test_telegram_with_cards_sends_the_closure_as_its_card(
    more: More, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes.telegram import FakeTelegram

    with running(FakeTelegram()) as tg:
        path = project / "config/broadcaster.yaml"
        section = f'  telegram:\n    chat_id: "@glowaesthetics"\n    api_url: "{tg.url}"\n    cards: true\n'
        text = path.read_text(encoding="utf-8").replace(
            "  facebook:\n", section + "  facebook:\n", 1
        )
        path.write_text(text)
        monkeypatch.setenv("BROADCAST_TELEGRAM_TOKEN", tg.fake.token)
        code, output = broadcast("run", "--now", DEMO_NOW)
        assert code == 0, output
        closure, article = tg.fake.sent
    assert closure["method"] == "sendPhoto" and closure["photo"].startswith(
        f"{more.website}/cards/"
    )
    assert (project / "site/notices" / closure["photo"].removeprefix(more.website + "/")).is_file()
    assert article["method"] == "sendPhoto" and "/cards/" not in article["photo"]  # its own image
