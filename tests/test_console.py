"""What reaches the operator's terminal: text as typed, one line per failure, and a
traceback only when asked for (``--debug``) and only for a real bug."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster import console
from tests.commands import broadcast

NOW = "2024-03-20T09:00:00+08:00"


def test_a_problem_on_line_100_is_not_drawn_as_an_emoji(project: Path) -> None:
    config = project / "config/broadcaster.yaml"
    padding = "# padding\n" * 99
    config.write_text(padding + "colour: red\n" + config.read_text(encoding="utf-8"))
    code, output = broadcast("validate")
    assert code == 2
    assert "config/broadcaster.yaml:100: colour: unknown key" in output
    assert "💯" not in output


def test_text_from_the_config_is_shown_as_typed(project: Path) -> None:
    config = project / "config/broadcaster.yaml"
    text = config.read_text(encoding="utf-8")
    reason = "our [bold]team[/bold] day :smile: [red]"
    config.write_text(text.replace("our annual team bonding event", reason), encoding="utf-8")
    code, output = broadcast("preview", "closure-2024-03-26", "--channel", "banner")
    assert code == 0, output
    assert reason in output
    assert "😄" not in output


def test_a_bug_is_one_line_that_asks_for_a_report(capsys: pytest.CaptureFixture[str]) -> None:
    code = console.report_failure(RuntimeError("the ledger said 42"), debug=False)
    printed = capsys.readouterr().err
    assert code == console.EXIT_BUG == 70
    assert printed.startswith("error broadcaster hit a bug: RuntimeError: the ledger said 42.")
    assert "--debug" in printed and "Traceback" not in printed


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        raise RuntimeError("the ledger said 42")
    except RuntimeError as exc:
        code = console.report_failure(exc, debug=True)
    printed = capsys.readouterr().err
    assert code == 70
    assert "Traceback (most recent call last)" in printed
    assert "test_debug_shows_the_traceback" in printed


def test_a_secret_never_shows_even_in_a_bug_report(capsys: pytest.CaptureFixture[str]) -> None:
    console.hide(["tg-secret-1234567890"])
    try:
        raise RuntimeError("POST https://api.telegram.org/bot123:tg-secret-1234567890/send")
    except RuntimeError as exc:
        console.report_failure(exc, debug=True)
    printed = capsys.readouterr().err
    assert "tg-secret-1234567890" not in printed
    assert "bot123:***/send" in printed


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            PermissionError(13, "Permission denied", "site/notices/banner.json"),
            "site/notices/banner.json: Permission denied (check that this user may write there)",
        ),
        (
            OSError(28, "No space left on device", "var/broadcaster.db"),
            "var/broadcaster.db: No space left on device",
        ),
    ],
)
def test_the_machine_saying_no_is_an_operator_problem(
    exc: OSError, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert console.report_failure(exc, debug=False) == console.EXIT_CONFIG
    printed = capsys.readouterr().err
    assert printed == f"error {expected}" + printed.removeprefix(f"error {expected}")
    assert printed.count("\n") == 1


def test_debug_may_follow_the_command(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from broadcaster import cli

    argv = sys.argv
    sys.argv = ["broadcast", "validate", "--debug"]
    try:
        with pytest.raises(SystemExit) as exit_:
            cli.main()
    finally:
        sys.argv = argv
    assert exit_.value.code == 0
    assert "ok config/broadcaster.yaml" in capsys.readouterr().out
