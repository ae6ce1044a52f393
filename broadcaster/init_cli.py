"""``broadcast init [DIR]``: a starter project anywhere, from the installed package alone.

It writes the example clinic (``config/broadcaster.yaml`` with every option commented, its
subscriber list and sample feed), ``.env.example`` naming every secret by channel, and the
overrides folder ``templates/`` with its README -- the same files as the source checkout's,
shipped as package data in ``broadcaster/starter/`` (a test keeps the two byte-identical).

It never overwrites: a file that exists is kept and named, so running it again, or in a
folder that already has a config, is harmless. Exit 0 when every starter file is there
afterwards (written now or kept); 2 when one cannot be written (no permission, a file where
a folder should be), with nothing half-written.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from broadcaster.console import out, plain
from broadcaster.errors import SetupError

STARTER = Path(__file__).resolve().parent / "starter"
#: where each starter file goes (relative to DIR) -> where it is in the package. A dotfile
#: would need its own package-data pattern, so .env.example ships as env.example.
FILES = {
    "config/broadcaster.yaml": "config/broadcaster.yaml",
    "config/subscribers.csv": "config/subscribers.csv",
    "config/sample-feed.xml": "config/sample-feed.xml",
    ".env.example": "env.example",
    "templates/README.md": "templates/README.md",
}
#: the example clinic's closure is on 26-27 Mar 2024: this moment shows it being announced
EXAMPLE_NOW = "2024-03-20T09:00:00+08:00"


@dataclass
class Outcome:
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def init(
    directory: Annotated[
        Path, typer.Argument(help="Folder for the new project (created if missing)")
    ] = Path("."),
) -> None:
    """Write a starter project: the example config, .env.example and a templates/ folder.

    Never overwrites a file; exit 0 when every starter file is in place, 2 when one cannot
    be written.
    """
    outcome = write_starter(directory)  # a SetupError is one line, exit 2 (the CLI's guard)
    for name in outcome.written:
        out.print(plain(f"wrote {directory / name}"), soft_wrap=True)
    for name in outcome.kept:
        out.print(plain(f"kept  {directory / name} (exists; not overwritten)"), soft_wrap=True)
    out.print(plain(next_steps(directory)), soft_wrap=True)


def write_starter(directory: Path) -> Outcome:
    """Copy every starter file that is not there yet into ``directory``."""
    outcome = Outcome()
    for name, source in FILES.items():
        target = directory / name
        if target.exists() or target.is_symlink():
            outcome.kept.append(name)
            continue
        _copy_new(STARTER / source, target)
        outcome.written.append(name)
    return outcome


def _copy_new(source: Path, target: Path) -> None:
    """Create ``target`` (never replacing one that exists) with ``source``'s bytes; a file
    left half-written by a full disk is removed again."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("xb") as sink:
            try:
                with source.open("rb") as data:
                    shutil.copyfileobj(data, sink)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
    except OSError as exc:
        raise SetupError(
            str(target),
            f"cannot write: {exc.strerror or exc}",
            "choose a folder you can write to, or fix its permissions",
        ) from None


def next_steps(directory: Path) -> str:
    """What to do after init, as commands to type."""
    go = "" if directory.resolve() == Path.cwd().resolve() else f"  cd {directory}\n"
    return (
        "\nnext steps (the example's closure is in March 2024, hence --now):\n"
        f"{go}"
        "  broadcast validate\n"
        f"  broadcast plan --now {EXAMPLE_NOW}\n"
        f"  broadcast run --now {EXAMPLE_NOW}\n"
        "The run puts the banner in site/notices/ and the emails in var/outbox/. Then make\n"
        "config/broadcaster.yaml your own, copy .env.example to .env for the channels you use,\n"
        "and leave out --now. `broadcast templates copy NAME` puts a message's wording into\n"
        "templates/ to edit."
    )
