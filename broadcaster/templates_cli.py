"""``broadcast templates``: which template each message is read from, and copying a built-in
one into the admin's folder to edit (an override is one file, never a copy of the tree)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.table import Table

from broadcaster.cli_common import ConfigOpt
from broadcaster.console import GuardedGroup, out, plain
from broadcaster.errors import SetupError

if TYPE_CHECKING:  # imported by the commands: `broadcast --help` stays light
    from broadcaster.config import Loaded

templates_app = typer.Typer(
    cls=GuardedGroup,
    no_args_is_help=True,
    help="The message templates: built-in ones and your overrides.",
)


def _loaded(config: str | None) -> Loaded:
    from broadcaster.cli_common import load_config

    loaded, _secrets = load_config(config)
    return loaded


def _overrides(loaded: Loaded) -> Path | None:
    return loaded.config.templates


@templates_app.command("list")
def list_templates(
    config: ConfigOpt = None,
) -> None:
    """Every template, and the file it is read from (yours or the built-in one)."""
    from broadcaster.render import BUILTIN_TEMPLATES, template_sources

    overrides = _overrides(_loaded(config))
    table = Table("template", "read from")
    for name, file in template_sources(overrides).items():
        source = "built-in" if file.is_relative_to(BUILTIN_TEMPLATES) else str(file)
        table.add_row(plain(name), plain(source))
    out.print(table)
    if overrides is None:
        out.print(plain("no overrides folder: set templates: in the config to use your own"))


@templates_app.command("copy")
def copy_template(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="e.g. email/closure.txt (see `templates list`)")
    ],
    config: ConfigOpt = None,
) -> None:
    """Put a built-in template into your templates folder, to edit; never overwrites."""
    from broadcaster.render import template_sources

    loaded = _loaded(config)
    overrides = _overrides(loaded)
    if overrides is None:
        _fail(f'{loaded.path}: templates: not set; add `templates: "templates"` to the config')
    builtin = template_sources(None).get(name)
    if builtin is None:
        _fail(f"no built-in template {name!r}; see `broadcast templates list`")
    target = overrides / name
    if target.exists():
        _fail(f"{target} exists already: edit it, or delete it to start again from the built-in")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(builtin, target)
    out.print(plain(f"copied {name} to {target}: edit it there"))


def _fail(message: str) -> NoReturn:
    raise SetupError("templates", message)
