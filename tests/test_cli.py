"""The README's demo, end to end through the `broadcast` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.commands import broadcast, history

DEMO_NOW = "2024-03-20T09:00:00+08:00"


def banner(project: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((project / "site/notices/banner.json").read_text(encoding="utf-8"))


def test_validate_accepts_the_example_and_warns_about_the_duplicate_article(project: Path) -> None:
    code, output = broadcast("validate")
    assert code == 0, output
    assert "ok config/broadcaster.yaml" in output
    assert "botox-depression appears 2 times" in output


def test_run_publishes_the_banner_once_however_often_it_runs(project: Path) -> None:
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    assert [n["id"] for n in banner(project)["notices"]] == ["closure-2024-03-26"]
    for name in ("banner.json", "banner.html", "banner.js"):
        assert (project / "site/notices" / name).is_file()
    first = history()
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0 and "already sent" in output
    assert " sent " not in output.replace("already sent", "")
    assert history() == first  # nothing new in the ledger
    banner_rows = [
        (r["notice"], r["occasion"], r["state"]) for r in first if r["channel"] == "banner"
    ]
    # the state the banner shows (one write), and when the closure first appeared on it
    assert sorted(banner_rows) == [
        ("banner:state", "publish", "sent"),
        ("closure-2024-03-26", "banner", "sent"),
    ]


def test_history_pages_with_before_the_last_id_shown(project: Path) -> None:
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    everything = [r["id"] for r in history()]
    pages: list[int] = []
    before: list[str] = []
    while True:
        code, output = broadcast("history", "--json", "--limit", "5", *before)
        page = [json.loads(line)["id"] for line in output.splitlines()]
        if not page:
            break
        pages += page
        before = ["--before", str(page[-1])]
    assert len(everything) > 5 and pages == everything


def test_the_seed_page_closure_entered_twice_shows_once(project: Path) -> None:
    config = project / "config/broadcaster.yaml"
    text = config.read_text(encoding="utf-8")
    entry = (
        '  - start: 2024-03-26\n    end: 2024-03-27\n    reason: "our annual team bonding event"\n'
    )
    config.write_text(text.replace(entry, entry + entry), encoding="utf-8")
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    assert len(banner(project)["notices"]) == 1
    assert "Our outlets will be closed" in (project / "site/notices/banner.html").read_text(
        encoding="utf-8"
    )


def test_the_banner_is_gone_once_the_clinic_reopens(project: Path) -> None:
    broadcast("run", "--now", DEMO_NOW)
    code, output = broadcast("run", "--now", "2024-03-28T00:00:00+08:00")
    assert code == 0, output
    assert banner(project)["notices"] == []
    assert (project / "site/notices/banner.html").read_text(encoding="utf-8") == ""
    assert "stale" in output


def test_plan_shows_what_would_happen_and_sends_nothing(project: Path) -> None:
    code, output = broadcast("plan", "--now", DEMO_NOW)
    assert code == 0, output
    assert "closure-2024-03-26" in output and "due" in output
    assert not (project / "site").exists()
    code, output = broadcast("plan", "--now", "2024-03-10T09:00:00+08:00")
    assert "upcoming" in output


def test_an_unreachable_feed_is_reported_and_the_rest_goes_out(project: Path) -> None:
    config = project / "config/broadcaster.yaml"
    config.write_text(
        config.read_text().replace("config/sample-feed.xml", "config/missing-feed.xml")
    )
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    assert "feed config/missing-feed.xml: unreachable (no such file)" in output
    assert banner(project)["notices"][0]["id"] == "closure-2024-03-26"


def test_a_malformed_feed_is_reported(project: Path) -> None:
    (project / "config/sample-feed.xml").write_text(
        "<rss><channel><item><title>broken", encoding="utf-8"
    )
    code, output = broadcast("validate")
    assert code == 0
    assert "feed config/sample-feed.xml" in output


def test_send_pushes_a_notice_now_but_still_once(project: Path) -> None:
    code, output = broadcast("send", "closure-2024-03-26", "--now", "2024-03-01T09:00:00+08:00")
    assert code == 0, output
    assert banner(project)["notices"][0]["id"] == "closure-2024-03-26"
    code, output = broadcast("send", "closure-2024-03-26", "--now", "2024-03-01T09:00:00+08:00")
    assert "already sent" in output


def test_send_refuses_unknown_notices_and_channels(project: Path) -> None:
    code, output = broadcast("send", "closure-2099-01-01", "--now", DEMO_NOW)
    assert (
        code == 2 and "no notice 'closure-2099-01-01'" in output and "closure-2024-03-26" in output
    )
    code, output = broadcast("send", "closure-2024-03-26", "--channel", "fax", "--now", DEMO_NOW)
    assert code == 2 and "--channel: fax is not configured" in output


def test_preview_prints_the_rendered_messages(project: Path) -> None:
    code, output = broadcast("preview", "closure-2024-03-26")
    assert code == 0, output
    assert "Our outlets will be closed from 26 Mar (Tue) to 27 Mar (Wed)" in output
    assert "<strong>26 Mar (Tue)</strong>" in output


@pytest.mark.parametrize("command", ["validate", "plan", "run", "history"])
def test_every_command_reports_a_bad_config_with_exit_2(project: Path, command: str) -> None:
    (project / "config/broadcaster.yaml").write_text(
        "site:\n  name: Glow\n  url: https://g.example\n  colour: red\n"
    )
    code, output = broadcast(command)
    assert code == 2
    assert "config/broadcaster.yaml:4: site.colour: unknown key" in output


def test_sending_one_notice_keeps_the_others_on_the_banner(project: Path) -> None:
    config = project / "config/broadcaster.yaml"
    other = '  - start: 2024-03-22\n    reason: "a staff training day"\n    outlets: ["Orchard"]\n'
    config.write_text(config.read_text().replace("\narticles:", "\n" + other + "articles:", 1))
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 0, output
    assert len(banner(project)["notices"]) == 2
    code, output = broadcast("send", "closure-2024-03-26", "--force", "--now", DEMO_NOW)
    assert code == 0, output
    assert sorted(n["id"] for n in banner(project)["notices"]) == [
        "closure-2024-03-22-orchard",
        "closure-2024-03-26",
    ]


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_subscriber_list_that_cannot_be_read_stops_everything(
    project: Path, command: str
) -> None:
    config = project / "config/broadcaster.yaml"
    text = config.read_text()
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "subscribers.csv" in row)
    config.write_text(text.replace("config/subscribers.csv", "config/nope.csv"))
    code, output = broadcast(command, "--now", DEMO_NOW)
    assert code == 2
    assert (
        f"config/broadcaster.yaml:{line}: channels.email.subscribers: config/nope.csv: "
        "cannot read: No such file or directory"
    ) in output
    assert not (project / "site").exists() and not (project / "var/outbox").exists()
