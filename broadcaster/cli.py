"""The ``broadcast`` command: validate, plan, run, worker, send, preview; the others are
registered here from modules of their own (ledger_cli: history, status, resolve,
unsubscribe; channels_cli, templates_cli, init_cli, db_cli, subscribers_cli, serve).

Exit status: 0 all went out (or nothing was due), 1 a delivery failed, 2 the config, a
template or the environment (database, folders, --now) is wrong -- in which case nothing was
sent or written --, 70 a bug in broadcaster (see :mod:`broadcaster.console`).
"""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.table import Table

from broadcaster import console, logs
from broadcaster.channels_cli import channels_app
from broadcaster.cli_common import (
    STYLE,
    ConfigOpt,
    LogOpt,
    NowOpt,
    add_row,
    load_config,
    parse_now,
)
from broadcaster.console import GuardedGroup, out, plain
from broadcaster.db_cli import db_app
from broadcaster.errors import ConfigError, ConfigProblem, SetupError
from broadcaster.init_cli import init
from broadcaster.ledger_cli import history, resolve, status, unsubscribe
from broadcaster.serve.run import serve_command
from broadcaster.subscribers_cli import subscribers_app
from broadcaster.templates_cli import templates_app

# Start-up in the time of a blink: ``broadcast --help`` loads typer and rich only. Everything
# heavier (pydantic, SQLAlchemy, the channels, jinja2, feed parsing) is imported by the command
# that uses it, through the small forwarders below; tests/test_startup.py keeps it so.
if TYPE_CHECKING:
    from broadcaster.config import Config, Loaded, Secrets
    from broadcaster.dispatch import Dispatcher
    from broadcaster.notices import Notices
    from broadcaster.report import Report

app = typer.Typer(
    cls=GuardedGroup,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Announce notices on every channel, each exactly once.\n\n"
    "Exit status: 0 done (or nothing due), 1 a delivery failed (it is retried or reported), "
    "2 the config, a template or the environment is wrong (nothing was sent), "
    "70 a bug in broadcaster (rerun with --debug for the traceback and report it).",
)
T = TypeVar("T")


def template_errors(config: Any) -> list[ConfigProblem]:
    from broadcaster.template_check import template_errors as errors

    return errors(config)


@app.callback()
def _options(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Show the traceback of an unexpected error, for a bug report."
        ),
    ] = False,
) -> None:
    GuardedGroup.debug = GuardedGroup.debug or debug


def _refuse_broken_templates(problems: list[ConfigProblem]) -> None:
    """A template error stops the command before anything is sent or written (exit 2)."""
    if problems:
        raise ConfigError(problems)


def _prove_templates(d: Dispatcher, notices: Notices) -> list[str]:
    """``validate``: every template against every notice, feed articles included; errors
    exit 2, the warnings are returned to be shown. The templates are loaded by the
    dispatcher's renderer: its dry run then renders with them as they are."""
    from broadcaster.template_check import template_findings

    findings = template_findings(d.config, notices.items, renderer=d.render.renderer)
    _refuse_broken_templates([f.as_config_problem() for f in findings if f.severity == "error"])
    return [str(f) for f in findings if f.severity == "warning"]


def _run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio  # not for --help: with it comes ssl (0.1 s, 9 MB)

    return asyncio.run(coro)


def _with_dispatcher(
    loaded: Loaded, secrets: Secrets, work: Callable[[Dispatcher], Coroutine[Any, Any, T]]
) -> T:
    async def go() -> T:
        from broadcaster.runtime import dispatcher

        async with dispatcher(loaded, secrets) as d:
            return await work(d)

    return _run(go())


@app.command()
def validate(config: ConfigOpt = None, now: NowOpt = None) -> None:
    """Check the config and templates; show warnings.

    Exit 0 when the config can be used, 2 (with every problem, by file and line) when not."""
    from broadcaster.checks import config_problems

    loaded, secrets = load_config(config)
    moment = parse_now(now, loaded)
    warnings = [str(f) for f in config_problems(loaded, moment) if f.severity == "warning"]

    async def go(d: Dispatcher) -> Report:
        gathered = await d.notices()  # the feeds are read once: the proof and the dry run
        warnings.extend(_prove_templates(d, gathered[0]))  # a template error: exit 2 here
        return await d.run(moment, dry_run=True, gathered=gathered)

    report = _with_dispatcher(loaded, secrets, go)
    warnings += [f"{loaded.path}: {d}" for d in report.duplicates]
    warnings += _subscriber_warnings(loaded.config)
    warnings += [f"{loaded.path}: {p}" for p in report.feed_problems]
    warnings += [
        f"{r.notice_id} {r.occasion} on {r.channel}: {r.length} > limit {r.limit}, will be shortened"
        for r in report.rows
        if r.length and r.limit and r.length > r.limit
    ]
    warnings += [
        f"{r.notice_id} {r.occasion} on {r.channel}: {r.detail}"
        for r in report.rows
        if r.detail.startswith("left out ") or r.detail.startswith("nothing left to post")
    ]
    for line in warnings:
        console.warning(line)
    out.print(
        plain("ok", "green")
        + plain(
            f" {loaded.path}: {len(loaded.config.closures)} closures, "
            f"{len(loaded.config.hours)} hours changes, "
            f"{len(loaded.config.articles.items)} articles, {len(loaded.config.articles.feeds)} feeds"
        ),
        soft_wrap=True,
    )


def _subscriber_warnings(config: Config) -> list[str]:
    """The email list's unreadable, invalid and repeated rows; the email channel's code (and
    its address checker) is imported only where email is configured."""
    if "email" not in config.channels.configured():
        return []
    from broadcaster.channels.email import subscriber_warnings

    return subscriber_warnings(config)


@app.command()
def plan(config: ConfigOpt = None, now: NowOpt = None) -> None:
    """What a run would do now, per notice and channel.

    Sends nothing (Google special hours are checked with validateOnly)."""
    loaded, secrets = load_config(config)
    moment = parse_now(now, loaded)

    async def go(d: Dispatcher) -> Report:
        d.check_publishers = True
        return await d.run(moment, dry_run=True)

    report = _with_dispatcher(loaded, secrets, go)
    _print_report(report, title=f"Plan at {moment.isoformat()}")


@app.command()
def run(config: ConfigOpt = None, now: NowOpt = None, log_format: LogOpt = "text") -> None:
    """One pass: everything due goes out once.

    Exit 0 when all went out, 1 when a delivery failed (it is retried or reported), 2 when the
    config, a template or the environment is wrong (then nothing was sent)."""
    loaded, secrets = load_config(config)
    logs.setup(secrets.all_values(), fmt=log_format)
    moment = parse_now(now, loaded)
    _refuse_broken_templates(template_errors(loaded.config))
    report = _with_dispatcher(loaded, secrets, lambda d: d.run(moment))
    _print_report(report, title=f"Run at {moment.isoformat()}")
    raise typer.Exit(report.exit_code())


@app.command()
def worker(
    config: ConfigOpt = None,
    log_format: LogOpt = "text",
    serve: Annotated[
        bool, typer.Option("--serve", help="Also run `broadcast serve` in this process.")
    ] = False,
) -> None:
    """Run until stopped: the daily pass and the feed poll.

    The daily pass runs at schedule.daily_at, the feed poll every schedule.feed_poll_minutes.
    SIGTERM or SIGINT finish the pass in hand, then exit 0."""
    from broadcaster.worker import run_worker

    if serve:
        from broadcaster.serve import require_extra

        require_extra()
    loaded, secrets = load_config(config)
    logs.setup(secrets.all_values(), level="INFO", fmt=log_format)
    _run(run_worker(loaded, secrets, serve=serve))


@app.command()
def send(
    notice_id: Annotated[
        str,
        typer.Argument(metavar="NOTICE_ID", help="e.g. closure-2024-03-26 (see `broadcast plan`)"),
    ],
    channel: Annotated[
        list[str] | None,
        typer.Option("--channel", metavar="NAME", help="Only this channel (repeatable)"),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Send again even if it went out before")
    ] = False,
    config: ConfigOpt = None,
    now: NowOpt = None,
) -> None:
    """Send one notice now, whatever its schedule.

    Still once per channel, unless --force."""
    from broadcaster.dispatch import Selection

    loaded, secrets = load_config(config)
    moment = parse_now(now, loaded)
    selection = Selection(
        frozenset({notice_id}), frozenset(channel) if channel else None, push=True, force=force
    )
    _refuse_broken_templates(template_errors(loaded.config))

    async def go(d: Dispatcher) -> Report:
        gathered = await d.notices()  # the feeds are read once: this check and the pass
        notices = gathered[0]
        if notices.get(notice_id) is None:
            _no_such_notice(notice_id, [n.id for n in notices.items])
        _check_channels(d, channel)
        return await d.run(moment, selection, gathered=gathered)

    report = _with_dispatcher(loaded, secrets, go)
    _print_report(report, title=f"Send {notice_id} at {moment.isoformat()}")
    raise typer.Exit(report.exit_code())


@app.command()
def preview(
    notice_id: Annotated[
        str,
        typer.Argument(metavar="NOTICE_ID", help="e.g. closure-2024-03-26 (see `broadcast plan`)"),
    ],
    channel: Annotated[
        list[str] | None,
        typer.Option("--channel", metavar="NAME", help="Only this channel (repeatable)"),
    ] = None,
    config: ConfigOpt = None,
    now: NowOpt = None,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Write one page showing the notice on every channel side by side, with lengths",
        ),
    ] = None,
) -> None:
    """Show a notice's messages exactly as each channel will get them."""
    loaded, secrets = load_config(config)
    _refuse_broken_templates(template_errors(loaded.config))

    async def go(d: Dispatcher) -> None:
        notices, _problems = await d.notices()
        notice = notices.get(notice_id)
        if notice is None:
            _no_such_notice(notice_id, [n.id for n in notices.items])
        _check_channels(d, channel)
        if html is not None:
            from broadcaster.preview_page import write_preview

            found = await write_preview(d, notice, channel, html, parse_now(now, loaded))
            shown = sum(len(p.messages) for p in found)
            out.print(plain(f"wrote {html}: {shown} messages on {len(found)} channels"))
            return
        for each in d.preview(notice, channel):
            out.rule(plain(f"{each.label} · {each.occasion}"))
            for part, text in each.message.items():
                out.print(plain(f"{part}:", "dim"))
                out.print(plain(text), soft_wrap=True)

    _with_dispatcher(loaded, secrets, go)


# the commands kept in modules of their own, in the order `broadcast --help` lists them
app.command()(history)
app.command()(unsubscribe)
app.add_typer(channels_app, name="channels")
app.add_typer(templates_app, name="templates")
app.command("init")(init)
app.add_typer(db_app, name="db")
app.add_typer(subscribers_app, name="subscribers")
app.command("serve")(serve_command)
app.command()(status)
app.command()(resolve)


def _no_such_notice(notice_id: str, known: list[str]) -> NoReturn:
    raise SetupError("notice", f"no notice {notice_id!r}; known: {', '.join(known) or 'none'}")


def _check_channels(d: Dispatcher, names: list[str] | None) -> None:
    known = {c.name for c in d.channels}
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        raise SetupError(
            "--channel",
            f"{', '.join(unknown)} is not configured; configured: {', '.join(sorted(known)) or 'none'}",
        )


def _print_report(report: Report, *, title: str) -> None:
    for problem in report.feed_problems:
        console.warning(str(problem))
    table = Table(title=title, title_justify="left")
    for column in ("notice", "occasion", "channel", "status", "count", "length", "detail"):
        table.add_column(column)
    for r in report.rows:
        length = (
            f"{r.length}/{r.limit}"
            if r.length is not None and r.limit
            else (str(r.length) if r.length else "")
        )
        add_row(
            table,
            r.notice_id,
            r.occasion,
            r.channel,
            plain(r.status, STYLE.get(r.status, "")),
            str(r.count),
            length,
            r.detail,
        )
    out.print(table)
    totals: dict[str, int] = {}
    for r in report.rows:
        totals[r.status] = totals.get(r.status, 0) + r.count
    out.print(
        ", ".join(f"{k}: {v}" for k, v in sorted(totals.items())) or "nothing to do",
        highlight=False,
    )


def main() -> None:
    """``broadcast``: ``--debug`` may stand anywhere on the line, not only before the command.

    When the command is done, the interpreter's shutdown runs the garbage collector over every
    object still alive -- the loaded code, pydantic's schemas, SQLAlchemy's tables -- to find
    nothing worth the search: 0.15 s of a one-second ``validate``. Frozen at exit, they are left
    to the operating system. Exit functions run before that collection, and after the command's
    own cleanup (files written, the ledger committed and closed); an object outside a cycle is
    still freed and finalized as usual.

    ``import httpx`` also imports httpx's own command-line client whenever what that needs is
    installed -- click, pygments, rich's progress bars, here because typer and rich are: 30 ms
    of every run that posts anything. This command never runs that client: marked missing,
    httpx falls back to its stub, in this process only (a program that imports broadcaster
    as a library keeps its httpx whole, and the ``httpx`` command is unaffected)."""
    atexit.register(gc.freeze)
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    args = sys.argv[1:]
    if "--debug" in args:
        args = ["--debug", *(a for a in args if a != "--debug")]
    app(args=args, prog_name="broadcast")
