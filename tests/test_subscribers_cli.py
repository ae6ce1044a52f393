"""``broadcast subscribers`` (the database list) and ``broadcast serve``'s start-up errors."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands import broadcast

CONFIG = """\
site:
  name: "Glow Aesthetics"
  url: "https://www.glow-aesthetics.example"
database: "sqlite:///{root}/ledger.db"
{serve}"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "broadcaster.yaml"
    path.write_text(CONFIG.format(root=tmp_path, serve=""), encoding="utf-8")
    return path


def test_import_list_export_and_remove(config: Path, tmp_path: Path) -> None:
    source = tmp_path / "list.csv"
    source.write_text("Name,Email\nAnn,ANN@example.com\nBob,bob@example.com\n,not-an-address\n")

    code, output = broadcast("subscribers", "import", str(source), "-c", str(config))
    assert code == 0, output
    assert "2 added, 0 already there, 1 invalid" in output
    code, output = broadcast("subscribers", "import", str(source), "-c", str(config))
    assert "0 added, 2 already there" in output

    code, output = broadcast("subscribers", "list", "--json", "-c", str(config))
    rows = [json.loads(line) for line in output.splitlines()]
    assert [(r["email"], r["name"], r["status"], r["source"]) for r in rows] == [
        ("ann@example.com", "Ann", "confirmed", "import:list.csv"),
        ("bob@example.com", "Bob", "confirmed", "import:list.csv"),
    ]

    exported = tmp_path / "out.csv"
    code, output = broadcast("subscribers", "export", str(exported), "-c", str(config))
    assert code == 0, output
    table = list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8"))))
    assert [(r["email"], r["topics"]) for r in table] == [
        ("ann@example.com", "all"),
        ("bob@example.com", "all"),
    ]

    code, output = broadcast("subscribers", "remove", "Bob@Example.com", "-c", str(config))
    assert code == 0 and "removed bob@example.com" in output
    code, output = broadcast("subscribers", "remove", "bob@example.com", "-c", str(config))
    assert code == 2 and "not in the database list" in output


def test_each_subscribers_language_is_imported_listed_and_exported(
    config: Path, tmp_path: Path
) -> None:
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("  url:", "  languages: [en, zh, ms, ta]\n  url:", 1))
    source = tmp_path / "mailchimp.csv"
    source.write_text(
        "Email Address,First Name,Language\n"
        "wei@example.com,Wei,Chinese\n"
        "siti@example.com,Siti,ms_MY\n"
        "pierre@example.com,Pierre,fr\n"  # not the site's, kept for a language it may add
        "ann@example.com,Ann,\n",
        encoding="utf-8",
    )
    code, output = broadcast("subscribers", "import", str(source), "-c", str(config))
    assert code == 0, output

    code, output = broadcast("subscribers", "list", "--json", "-c", str(config))
    rows = [json.loads(line) for line in output.splitlines()]
    assert [(r["email"], r["language"]) for r in rows] == [
        ("ann@example.com", None),
        ("pierre@example.com", "fr"),
        ("siti@example.com", "ms"),
        ("wei@example.com", "zh"),
    ]
    code, output = broadcast("subscribers", "list", "-c", str(config))
    assert "language" in output and re.search(r"wei@example\.com\W+Wei\W+zh\W", output)

    exported = tmp_path / "out.csv"
    code, output = broadcast("subscribers", "export", str(exported), "-c", str(config))
    table = list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8"))))
    assert [(r["email"], r["language"]) for r in table] == [
        ("ann@example.com", ""),
        ("pierre@example.com", "fr"),
        ("siti@example.com", "ms"),
        ("wei@example.com", "zh"),
    ]


def test_serve_without_a_serve_section_or_its_secret_is_one_line_exit_2(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BROADCAST_SERVE_SECRET", raising=False)
    code, output = broadcast("serve", "-c", str(config))
    assert code == 2, output
    assert "has no serve: section" in output

    config.write_text(
        config.read_text() + 'serve:\n  public_url: "https://notices.example"\n', encoding="utf-8"
    )
    code, output = broadcast("serve", "-c", str(config))
    assert code == 2
    assert "BROADCAST_SERVE_SECRET: is not set" in output
    assert len(output.strip().splitlines()) == 1


def test_serve_without_the_extra_names_the_pip_command(config: Path) -> None:
    program = (
        "import sys; sys.modules['uvicorn'] = None; "
        "from broadcaster.cli import main; sys.argv = ['broadcast', 'serve']; main()"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    done = subprocess.run(
        [sys.executable, "-c", program, "-c", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )

    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "pip install 'broadcaster[serve]'" in done.stderr
