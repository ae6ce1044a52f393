"""A broken template, through the `broadcast` command: `validate` names it, `run` and `send`
refuse to start (exit 2, nothing sent or written), and a template that a feed's text trips
mid-run fails only that message on that channel."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.commands import broadcast, history
from tests.languages import english_only

DEMO_NOW = "2024-03-20T09:00:00+08:00"
#: a correction: it goes out only after an announced closure moves, so it is never due today
UPDATE = "templates/email/closure-update.txt"


def override(project: Path, name: str, text: str) -> None:
    file = project / "templates" / name
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")


def edit_config(project: Path, old: str, new: str) -> None:
    config = project / "config/broadcaster.yaml"
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new, 1), encoding="utf-8")


def nothing_went_out(project: Path) -> bool:
    """No banner file, no email, and no ledger written."""
    return not any((project / p).exists() for p in ("site", "var/outbox", "var/broadcaster.db"))


def test_validate_names_a_syntax_error_by_file_and_line(project: Path) -> None:
    override(project, "email/closure.txt", "Dear customer,\nClosed for {{ reason ) }}.\n")
    code, output = broadcast("validate", "--now", DEMO_NOW)
    assert code == 2, output
    assert "error templates/email/closure.txt:2: syntax error: unexpected ')'" in output
    assert "Traceback" not in output


def test_an_undefined_variable_on_an_occasion_not_due_fails_validate(project: Path) -> None:
    override(project, "email/closure-update.txt", "Our closure moved.\n\n{{ nosuch }}\n")
    code, output = broadcast("validate", "--now", DEMO_NOW)
    assert code == 2, output
    assert output.strip().splitlines() == [
        f"error {UPDATE}:3: 'nosuch' is undefined (rendering closure-2024-03-26 update for email)"
    ]


@pytest.mark.parametrize(
    "command",
    [["run", "--now", DEMO_NOW], ["send", "closure-2024-03-26", "--now", DEMO_NOW]],
    ids=["run", "send"],
)
def test_run_and_send_refuse_a_broken_template_before_anything_goes_out(
    project: Path, command: list[str]
) -> None:
    override(project, "email/closure-update.txt", "Our closure moved.\n\n{{ nosuch }}\n")
    code, output = broadcast(*command)
    assert code == 2, output
    assert f"error {UPDATE}:3: 'nosuch' is undefined" in output
    assert "Traceback" not in output
    assert nothing_went_out(project)  # the banner's closure was due: it was not published
    assert history() == []


def test_a_misspelt_override_is_a_warning_and_the_rest_validates(project: Path) -> None:
    override(project, "email/closure-remnd.txt", "See you soon!\n")
    code, output = broadcast("validate", "--now", DEMO_NOW)
    assert code == 0, output
    assert (
        "warning templates/email/closure-remnd.txt: never used: no message is looked up as "
        "email/closure-remnd.txt (did you mean email/closure-remind.txt?)"
    ) in output


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_misspelt_channel_under_lifecycle_stops_everything(project: Path, command: str) -> None:
    edit_config(project, "\nchannels:\n", "\nlifecycle:\n  remind: [telegarm]\n\nchannels:\n")
    line = (project / "config/broadcaster.yaml").read_text().splitlines().index("lifecycle:") + 2
    code, output = broadcast(command, "--now", DEMO_NOW)
    assert code == 2, output
    assert (
        f"config/broadcaster.yaml:{line}: lifecycle.remind[0]: unknown channel 'telegarm' "
        "(did you mean telegram?)"
    ) in output
    assert nothing_went_out(project)


def test_a_feed_article_that_trips_a_template_fails_only_that_message(project: Path) -> None:
    """The config's own article has an image, so `run` starts; the feed's newest post has none,
    and the email template assumed one. That one email fails, for every subscriber, with the
    template's file and line; the banner and the other emails go out."""
    english_only(project)  # the override is English: every subscriber reads it
    edit_config(
        project,
        "      published: 2024-03-20T08:00:00+08:00\n",
        "      published: 2024-03-20T08:00:00+08:00\n"
        '      image: "https://www.glow-aesthetics.example/images/botox-depression.jpg"\n',
    )
    feed = project / "config/sample-feed.xml"
    feed.write_text(
        feed.read_text(encoding="utf-8").replace(
            "Mon, 04 Mar 2024 10:00:00", "Wed, 20 Mar 2024 07:00:00"
        ),
        encoding="utf-8",
    )
    override(project, "email/article.txt", "{{ title }}\nPhoto: {{ image.rsplit('/', 1)[1] }}\n")
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 1, output
    assert "Traceback" not in output
    rows = history()
    failed = {r["target"]: r["error"] for r in rows if r["state"] == "failed"}
    subscribers = len((project / "config/subscribers.csv").read_text().splitlines()) - 1
    assert len(failed) == subscribers
    assert {r["notice"] for r in rows if r["state"] == "failed"} == {
        "article-uses-of-botox-in-singapore"
    }
    assert set(failed.values()) == {
        "templates/email/article.txt:2: 'None' has no attribute 'rsplit' (fix the template, "
        "then: broadcast send article-uses-of-botox-in-singapore --channel email --force)"
    }
    sent = {(r["notice"], r["channel"]) for r in rows if r["state"] == "sent"}
    assert sent == {
        ("closure-2024-03-26", "banner"),
        ("banner:state", "banner"),
        ("closure-2024-03-26", "email"),
        ("article-botox-depression", "email"),
    }
    assert (project / "site/notices/banner.json").is_file()
    code, output = broadcast("status", "--json")
    assert code == 3 and "templates/email/article.txt:2" in output
