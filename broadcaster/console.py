"""What the ``broadcast`` command prints, and how a failure reaches an operator.

Two rules, both learnt the hard way:

- Text that comes from a config, a feed or a platform is printed *as text*: never as rich
  markup (``[bold]``) or an emoji code (``:100:`` in ``broadcaster.yaml:100:`` became 💯).
  Only the labels this module adds are styled.
- A failure an operator can cause (:class:`ConfigError`, :class:`SetupError`, an ``OSError``
  such as a folder that cannot be written or a full disk, a database that is down) is one line
  with exit status 2. Anything else is a bug: one line asking for a report, exit 70
  (``EX_SOFTWARE``), and the traceback only with ``--debug``. So cron can tell "fix the
  config" (2) from "a delivery failed" (1) from "report a bug" (70).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterable
from typing import Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperArgument, TyperGroup
from typer.exceptions import TyperException

from broadcaster.errors import ConfigError, SetupError

#: exit status of each outcome, as the README documents them
EXIT_DELIVERY_FAILED = 1
EXIT_CONFIG = 2
EXIT_BUG = 70
EXIT_INTERRUPTED = 130

# Tables are read by people and by scripts: when not on a terminal, do not squeeze them.
WIDTH = None if sys.stdout.isatty() else 160
out = Console(width=WIDTH, emoji=False, highlight=False)
err = Console(stderr=True, width=WIDTH, emoji=False, highlight=False)

#: secrets to hide from anything printed (filled when the secrets are read)
_secrets: list[str] = []


def hide(secrets: Iterable[str]) -> None:
    """Never print these values, even inside an unexpected error's text."""
    _secrets.extend(s for s in secrets if s)
    _secrets.sort(key=len, reverse=True)


def redact(text: str) -> str:
    from broadcaster.logs import BOT_TOKEN_IN_URL

    for secret in _secrets:
        text = text.replace(secret, "***")
    return BOT_TOKEN_IN_URL.sub("/bot***", text)


def plain(text: object, style: str = "") -> Text:
    """A table cell or line that is shown exactly as typed."""
    return Text(redact(str(text)), style=style)


def say(label: str, style: str, message: str) -> None:
    """``error config/broadcaster.yaml:12: closures[0].end: must not be before start``."""
    line = Text.assemble((label, style), " ", redact(message))
    err.print(line, soft_wrap=True)


def error(message: str) -> None:
    say("error", "bold red", message)


def warning(message: str) -> None:
    say("warning", "yellow", message)


def report_failure(exc: BaseException, *, debug: bool) -> int:
    """Print one failure the way an operator needs it; return the exit status."""
    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            error(str(problem))
        return EXIT_CONFIG
    if isinstance(exc, SetupError):
        error(str(exc))
        return EXIT_CONFIG
    if isinstance(exc, KeyboardInterrupt):
        error("interrupted")
        return EXIT_INTERRUPTED
    environment = _environment_problem(exc)
    if environment is not None:
        error(environment)
        return EXIT_CONFIG
    if debug:
        text = "".join(traceback.format_exception(exc))
        err.print(Text(redact(text)), soft_wrap=True)
    error(
        f"broadcaster hit a bug: {type(exc).__name__}: {exc}. Nothing more was sent. "
        + (
            "Please report it with the traceback above."
            if debug
            else "Run the same command with --debug and report it with the traceback."
        )
    )
    return EXIT_BUG


def operator_problem(exc: BaseException) -> str | None:
    """What an operator must fix, in one line, or None when ``exc`` is a bug."""
    if isinstance(exc, (ConfigError, SetupError)):
        return str(exc)
    return _environment_problem(exc)


def _environment_problem(exc: BaseException) -> str | None:
    """The machine said no (a file, a folder, a disk, the database): what and what to do."""
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else ""
        reason = exc.strerror or str(exc)
        hint = _OS_HINTS.get(type(exc).__name__, "check the path, its folder and the disk")
        return f"{where}: {reason} ({hint})" if where else f"{reason} ({hint})"
    if type(exc).__module__.startswith("sqlalchemy") and type(exc).__name__ in _DB_ERRORS:
        original = getattr(exc, "orig", None) or exc
        first_line = str(original).strip().splitlines()[0] if str(original).strip() else ""
        return (
            f"database: {first_line or type(exc).__name__} (is the database running and "
            "reachable, and is the ledger not locked by another program?)"
        )
    return None


_OS_HINTS = {
    "PermissionError": "check that this user may write there",
    "FileNotFoundError": "check the path",
    "IsADirectoryError": "a folder is in the way of a file",
    "NotADirectoryError": "a file is in the way of a folder",
}
_DB_ERRORS = {"OperationalError", "InterfaceError", "DatabaseError", "ArgumentError"}


class GuardedGroup(TyperGroup):
    """Every command runs inside one guard: an operator's mistake is one line and exit 2, a
    bug is one line and exit 70 (the traceback only with ``--debug``). Never a traceback
    for something the operator can fix."""

    debug = False

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        for param in getattr(command, "params", []):
            if isinstance(param, TyperArgument):
                param.__class__ = _Argument
        return command

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise  # typer's own: an exit status, or a usage error it prints itself
        except (Exception, KeyboardInterrupt) as exc:
            code = report_failure(exc, debug=GuardedGroup.debug)
            raise typer.Exit(code) from None


class _Argument(TyperArgument):
    """An argument whose help shows its name (``NOTICE_ID``), not also a type tag (``<str>``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None
