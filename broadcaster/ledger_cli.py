"""The commands that read and settle the ledger: ``history``, ``status``, ``resolve`` and
``unsubscribe``. Registered on ``broadcast`` by :mod:`broadcaster.cli`.

The ledger (SQLAlchemy) is loaded by the command that runs, never by ``--help``; so are
``load_config`` and the other forwarders of :mod:`broadcaster.cli`, which imports this module.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from broadcaster.cli_common import STYLE, ConfigOpt, NowOpt, add_row
from broadcaster.console import out, plain
from broadcaster.errors import SetupError


def history(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, one delivery each")] = False,
    limit: Annotated[int, typer.Option(metavar="N", help="How many rows (newest first)")] = 50,
    channel: Annotated[str | None, typer.Option(metavar="NAME", help="Only this channel")] = None,
    notice: Annotated[str | None, typer.Option(metavar="ID", help="Only this notice")] = None,
    state: Annotated[
        str | None,
        typer.Option(metavar="STATE", help="sent, retry, failed, unknown, claimed or sending"),
    ] = None,
    before: Annotated[
        int | None,
        typer.Option(metavar="ID", help="Only ids below this one: the next page of a long history"),
    ] = None,
) -> None:
    """The ledger: what went where and when, with receipts.

    Newest first; page with --before and the last id shown."""
    from broadcaster.cli_common import load_config, open_ledger
    from broadcaster.ledger import OWNED

    loaded, secrets = load_config(config)
    ledger = open_ledger(loaded, secrets)
    try:
        rows = ledger.history(
            limit=limit, before_id=before, channel=channel, notice_id=notice, state=state
        )
    finally:
        ledger.close()
    if as_json:
        for d in rows:
            out.print_json(json.dumps(_delivery_json(d)), indent=None)
        return
    table = Table(
        "id", "notice", "occasion", "channel", "target", "state", "time", "receipt / error"
    )
    for d in rows:
        add_row(
            table,
            str(d.id),
            d.notice_id,
            d.occasion,
            d.channel,
            d.target,
            plain(d.state, STYLE.get(d.state if d.state not in OWNED else "in progress", "")),
            d.updated_at.isoformat(timespec="seconds"),
            (d.error or json.dumps(d.receipt or {}, ensure_ascii=False))[:80],
        )
    out.print(table)


def unsubscribe(
    address: Annotated[
        str | None, typer.Argument(metavar="ADDRESS", help="The address to stop emailing")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="TOKEN",
            help="Or: the token from an unsubscribe link (checked first)",
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Never email an address again.

    What the website does when its unsubscribe link is used."""
    from broadcaster.channels.email.tokens import address_to_suppress
    from broadcaster.cli_common import load_config, open_ledger

    loaded, secrets = load_config(config)
    secret = secrets.email_unsubscribe_secret
    try:
        target = address_to_suppress(address, token, secret.get_secret_value() if secret else None)
    except ValueError as exc:
        raise SetupError("unsubscribe", str(exc)) from None
    ledger = open_ledger(loaded, secrets)
    try:
        added = ledger.suppress([target], "unsubscribe link" if token else "broadcast unsubscribe")
        reason, since = ledger.suppression(target) or ("", None)
    finally:
        ledger.close()
    if added:
        out.print(
            f"unsubscribed {target}: no email will be sent to it again",
            highlight=False,
            soft_wrap=True,
        )
    else:
        when = since.isoformat(timespec="seconds") if since else "?"
        out.print(
            f"{target} was already unsubscribed ({reason}, {when})", highlight=False, soft_wrap=True
        )


def status(
    config: ConfigOpt = None,
    now: NowOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document")] = False,
) -> None:
    """Per channel: sent, in flight, retrying, failed, unknown.

    With the next attempt and the last error.

    Exit 0 all good, 1 waiting for retries or a channel paused, 3 needs a person.
    """
    from broadcaster.cli_common import load_config, open_ledger, parse_now
    from broadcaster.status import channel_statuses, exit_code

    loaded, secrets = load_config(config)
    ledger = open_ledger(loaded, secrets)
    try:
        statuses = channel_statuses(ledger, parse_now(now, loaded))
    finally:
        ledger.close()
    code = exit_code(statuses)
    if as_json:
        out.print_json(json.dumps({"exit": code, "channels": [s.as_json() for s in statuses]}))
        raise typer.Exit(code)
    shown = ("sent", "claimed", "sending", "retry", "failed", "unknown")
    table = Table("channel", *shown, "next attempt", "last error")
    for s in statuses:
        data = s.as_json()
        add_row(
            table,
            s.health.channel,
            *(str(data[k]) for k in shown),
            data["next_attempt_at"] or "",
            (s.paused + "; " if s.paused else "") + (data["last_error"] or "")[:80],
        )
    out.print(table)
    out.print(
        {
            0: "ok",
            1: "healing: retries pending or a channel paused",
            3: "needs a person: failed or unknown deliveries",
        }[code]
    )
    raise typer.Exit(code)


def resolve(
    delivery_id: Annotated[
        int,
        typer.Argument(metavar="ID", help="The id shown by `broadcast history --state unknown`"),
    ],
    sent: Annotated[bool, typer.Option("--sent", help="It did go out: record it as sent")] = False,
    resend: Annotated[
        bool, typer.Option("--resend", help="It did not: send it on the next pass")
    ] = False,
    config: ConfigOpt = None,
    now: NowOpt = None,
) -> None:
    """Settle an unknown (or failed) delivery by hand.

    Who settled it, and when, is recorded."""
    from broadcaster.cli_common import load_config, open_ledger, parse_now

    if sent == resend:
        raise SetupError("resolve", "say either --sent or --resend")
    loaded, secrets = load_config(config)
    ledger = open_ledger(loaded, secrets)
    try:
        delivery = ledger.resolve(
            delivery_id, sent=sent, who=_operator(), now=parse_now(now, loaded)
        )
    except (LookupError, ValueError) as exc:
        raise SetupError("resolve", str(exc)) from None
    finally:
        ledger.close()
    out.print(
        f"delivery {delivery.id} ({delivery.notice_id} {delivery.occasion} on {delivery.channel} to {delivery.target}): {delivery.state}, by {delivery.resolved_by}"
    )


def _operator() -> str:
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _delivery_json(d: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "notice": d.notice_id,
        "occasion": d.occasion,
        "channel": d.channel,
        "target": d.target,
        "seq": d.seq,
        "state": d.state,
        "attempts": d.attempts,
        "time": d.updated_at.isoformat(),
        "next_attempt_at": d.next_attempt_at.isoformat() if d.next_attempt_at else None,
        "receipt": d.receipt,
        "error": d.error,
        "resolved_by": d.resolved_by,
    }
