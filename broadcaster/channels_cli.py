"""``broadcast channels``: the channels broadcaster posts to, checked without posting.

Registered on ``broadcast`` by :mod:`broadcaster.cli`; the channels and the dispatcher are
loaded by the command that runs, never by ``--help``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from broadcaster.cli_common import STYLE, ConfigOpt, add_row
from broadcaster.console import GuardedGroup, out, plain
from broadcaster.errors import DeliveryError

if TYPE_CHECKING:
    from broadcaster.channels.base import Channel, Skipped

channels_app = typer.Typer(
    cls=GuardedGroup, no_args_is_help=True, help="The channels broadcaster posts to."
)


@channels_app.command("check")
def channels_check(config: ConfigOpt = None) -> None:
    """Check each configured channel's credentials, posting nothing.

    Exit 1 if a check failed."""
    import asyncio

    from broadcaster.channels import known_channels
    from broadcaster.channels.base import Channel
    from broadcaster.cli_common import load_config

    loaded, secrets = load_config(config)

    async def go() -> list[tuple[str, str, str]]:
        from broadcaster.runtime import dispatcher

        async with dispatcher(loaded, secrets) as d:
            try:
                return list(await asyncio.gather(*(_check_one(c) for c in d.channels)))
            finally:
                await asyncio.gather(*(c.aclose() for c in d.channels if isinstance(c, Channel)))

    results = asyncio.run(go())
    configured = {name for name, _status, _detail in results}
    results += [
        (name, "skipped", f"not configured (add channels.{name})")
        for name in known_channels()
        if name not in configured
    ]
    table = Table("channel", "status", "detail")
    for name, status, detail in results:
        add_row(table, name, plain(status, STYLE.get(status, "green")), detail)
    out.print(table)
    raise typer.Exit(1 if any(status == "failed" for _n, status, _d in results) else 0)


async def _check_one(channel: Channel | Skipped) -> tuple[str, str, str]:
    from broadcaster.channels.base import Skipped

    if isinstance(channel, Skipped):
        return channel.name, "skipped", channel.reason
    try:
        return channel.name, "ok", await channel.check()
    except DeliveryError as exc:
        return channel.name, "failed", exc.message
