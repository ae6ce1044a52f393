"""Start-up: a command loads what it uses and nothing more.

``broadcast --help`` (and every command's first moment) costs what ``import broadcaster.cli``
costs, paid by every cron run, so the heavy packages -- SQLAlchemy, the channels' SDKs, image
and feed libraries -- must be imported by the command that needs them, not by the CLI module.
Each check runs in a fresh interpreter: this test process has long imported everything.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from broadcaster.plaintext import BS4_EXTRAS

REPO = Path(__file__).parent.parent

#: packages that cost tens of milliseconds to import and that `--help` never needs
HEAVY = (
    "sqlalchemy",
    "PIL",
    "oauthlib",
    "requests_oauthlib",
    "feedparser",
    "google",
    "bs4",
    "twitter_text",
    "email_validator",
    "pydantic",
    "pydantic_settings",
    "jinja2",
    "httpx",
    "aiosmtplib",
    "apprise",
    "rich.markdown",
    "asyncio",  # and with it ssl: a command that runs a loop imports it
)


def imported_by(code: str, cwd: Path | None = None) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code`` (a name marked
    missing, as broadcaster marks httpx's command-line client, is not loaded)."""
    probe = (
        f"{code}\nimport sys, json\n"
        "print(json.dumps(sorted(m for m, module in sys.modules.items() if module is not None)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=cwd,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def command(args: list[str]) -> str:
    """Code that runs ``broadcast <args>`` as the console script does, and checks it exits 0."""
    return (
        "import sys\n"
        f"sys.argv = ['broadcast', *{args!r}]\n"
        "from broadcaster.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code"
    )


def heavy_among(modules: set[str], packages: Sequence[str] = HEAVY) -> list[str]:
    return [p for p in packages if any(m == p or m.startswith(p + ".") for m in modules)]


def test_importing_the_cli_loads_no_heavy_package() -> None:
    assert heavy_among(imported_by("import broadcaster.cli")) == []


def test_help_is_printed_without_loading_a_heavy_package() -> None:
    code = (
        "import sys\n"
        "sys.argv = ['broadcast', '--help']\n"
        "from broadcaster.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass"
    )
    assert heavy_among(imported_by(code)) == []


def test_validating_the_example_config_loads_only_the_channels_it_configures(
    tmp_path: Path,
) -> None:
    """The example configures the banner and email: no card drawing (PIL), no OAuth (X), no
    Apprise, no Google client, and no PostgreSQL driver for its SQLite ledger; its feed's HTML
    is read without CSS selectors or an encoding detector. (The ledger is
    made first, as by any earlier run: creating it is a migration, which loads Alembic.)"""
    for folder in ("config", "templates"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    imported_by(
        "from broadcaster.cli import main\nimport sys\nsys.argv = ['broadcast', 'db', 'upgrade']\ntry:\n    main()\nexcept SystemExit:\n    pass",
        cwd=tmp_path,
    )
    assert (tmp_path / "var/broadcaster.db").is_file()
    loaded = imported_by(command(["validate"]), cwd=tmp_path)
    assert "broadcaster.channels.email" in loaded  # the probe did validate the config
    assert "bs4" in loaded  # and read the feed's HTML, with none of bs4's extras
    unused = ("PIL", "oauthlib", "apprise", "google", "sqlalchemy.dialects.postgresql", "psycopg")
    unused += BS4_EXTRAS
    assert heavy_among(loaded, unused) == []


#: what a config without feeds, email or anything else to read needs none of: feedparser and
#: the HTML parser read feeds, email_validator checks a subscriber list, and click and pygments
#: come only with httpx's own command-line client
NOT_WITHOUT_FEEDS = ("feedparser", "bs4", "soupsieve", "email_validator", "click", "pygments")

BANNER_ONLY = """\
site:
  name: "Glow Aesthetics"
  url: "https://www.glow-aesthetics.example"
  timezone: "Asia/Singapore"
  outlets: ["Orchard", "Tampines"]
closures:
  - start: 2024-03-26
    end: 2024-03-27
    reason: "our annual team bonding event"
channels:
  banner:
    output_dir: "site/notices"
database: "sqlite:///var/broadcaster.db"
"""


def test_a_config_without_feeds_or_email_loads_neither_for_validate_nor_for_a_run(
    tmp_path: Path,
) -> None:
    """Nor, where no message is measured and no date is written in a text, the regex module."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config/broadcaster.yaml").write_text(BANNER_ONLY, encoding="utf-8")
    nothing_measured = (*NOT_WITHOUT_FEEDS, "regex")  # grapheme counting, date checks
    for args, unused in (
        (["validate"], nothing_measured),
        (["run"], nothing_measured),  # the closure is over: nothing is due
        (["run", "--now", "2024-03-20T09:00"], NOT_WITHOUT_FEEDS),
    ):
        loaded = imported_by(command(args), cwd=tmp_path)
        assert "broadcaster.dispatch" in loaded  # the probe did run the command
        assert heavy_among(loaded, unused) == [], args
    assert (tmp_path / "site/notices/banner.json").is_file()  # the run did its work


def test_httpx_is_whole_without_its_command_line_client() -> None:
    """The ``broadcast`` command leaves out httpx's own CLI (cli.main): the client works."""
    code = command(["--help"]) + (
        "\nimport httpx\n"
        "transport = httpx.MockTransport(lambda request: httpx.Response(200, text='ok'))\n"
        "assert httpx.Client(transport=transport).get('https://example.org').text == 'ok'"
    )
    assert heavy_among(imported_by(code), ("click", "pygments")) == []


def test_a_program_importing_broadcaster_keeps_httpx_whole() -> None:
    """Only the command leaves httpx's CLI out: broadcaster used as a library changes nothing."""
    code = "import broadcaster.cli, httpx\nimport httpx._main"
    assert "httpx._main" in imported_by(code)


def test_bs4_is_loaded_without_its_extras_which_stay_importable() -> None:
    """Feed HTML is read without soupsieve and charset_normalizer (broadcaster.plaintext);
    whatever else the process runs may still import them."""
    code = (
        "from broadcaster.plaintext import html_to_text\n"
        "assert html_to_text('<p>Closed <b>Tue</b> &amp; Wed</p>') == 'Closed Tue & Wed'\n"
        "import sys\n"
        "loaded = [name for name in ('soupsieve', 'charset_normalizer') if name in sys.modules]\n"
        "assert loaded == [], loaded\n"
        "import soupsieve, charset_normalizer"
    )
    assert "soupsieve" in imported_by(code)


def test_the_objects_a_command_leaves_are_frozen_before_the_shutdown_collection() -> None:
    """What is alive when a command ends is not searched for garbage at shutdown (cli.main)."""
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        "sys.argv = ['broadcast', '--help']\n"
        "from broadcaster.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('frozen while running:', gc.get_freeze_count() > 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines()[-2:] == ["frozen while running: False", "frozen at exit: True"]
