"""`broadcast init [DIR]`: a starter project from the installed package alone, never
overwriting anything, and always the same files as the checkout's own example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from broadcaster.config import Secrets
from broadcaster.init_cli import EXAMPLE_NOW, FILES, STARTER
from tests.commands import broadcast
from tests.conftest import ROOT


def test_the_starter_is_the_checkouts_example_byte_for_byte() -> None:
    """One source of truth: the package ships copies, and they may never drift."""
    for name, source in FILES.items():
        shipped = (STARTER / source).read_bytes()
        assert shipped == (ROOT / name).read_bytes(), (
            f"{name} and broadcaster/starter/{source} differ"
        )


def test_every_starter_file_in_the_package_is_written() -> None:
    shipped = {p.relative_to(STARTER).as_posix() for p in STARTER.rglob("*") if p.is_file()}
    assert shipped == set(FILES.values())


def test_env_example_lists_every_secret_and_nothing_else() -> None:
    listed = set(
        re.findall(r"^# (BROADCAST_[A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    expected = {f"BROADCAST_{name.upper()}" for name in Secrets.model_fields}
    assert listed == expected


def test_init_writes_a_project_that_validates_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = broadcast("init", "clinic")
    assert code == 0, output
    for name in FILES:
        assert f"wrote {Path('clinic') / name}" in output
        assert (tmp_path / "clinic" / name).is_file()
    assert "cd clinic" in output and f"broadcast run --now {EXAMPLE_NOW}" in output

    monkeypatch.chdir(tmp_path / "clinic")
    assert broadcast("validate", "--now", EXAMPLE_NOW)[0] == 0
    code, output = broadcast("run", "--now", EXAMPLE_NOW)
    assert code == 0, output
    assert (tmp_path / "clinic/site/notices/banner.json").is_file()
    assert len(list((tmp_path / "clinic/var/outbox/new").iterdir())) == 12  # 6 subscribers x 2


def test_init_into_the_current_folder_says_no_cd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = broadcast("init")
    assert code == 0, output
    assert (tmp_path / "config/broadcaster.yaml").is_file()
    assert "cd " not in output


def test_init_never_overwrites_and_names_what_it_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config/broadcaster.yaml").write_text("site: {name: Mine}\n", encoding="utf-8")
    (tmp_path / ".env.example").write_text("# my own notes\n", encoding="utf-8")

    code, output = broadcast("init")
    assert code == 0, output
    assert (tmp_path / "config/broadcaster.yaml").read_text() == "site: {name: Mine}\n"
    assert (tmp_path / ".env.example").read_text() == "# my own notes\n"
    assert "kept  config/broadcaster.yaml (exists; not overwritten)" in output
    assert "kept  .env.example (exists; not overwritten)" in output
    assert "wrote config/subscribers.csv" in output

    code, output = broadcast("init")  # again: everything is kept, which is fine
    assert code == 0, output
    assert "wrote" not in output and output.count("kept") == len(FILES)


def test_a_file_where_the_folder_should_be_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("clinic").write_text("not a folder\n", encoding="utf-8")
    code, output = broadcast("init", "clinic")
    assert code == 2
    assert output.startswith("error clinic/config/broadcaster.yaml: cannot write")
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1
