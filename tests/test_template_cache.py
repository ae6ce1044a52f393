"""Compiled templates are kept between runs, and never used for a text or a setup they were
not compiled from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest

from broadcaster.render import BUILTIN_TEMPLATES, language_environment, template_loader
from broadcaster.template_cache import TemplateCache


class Counting(jinja2.Environment):
    """An environment that counts what it had to compile (the rest came from the cache)."""

    compiled = 0

    def compile(self, *args: Any, **kwargs: Any) -> Any:
        type(self).compiled += 1
        return super().compile(*args, **kwargs)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/closure.txt").write_text("{% if open %}\nOpen{% endif %} again.\n")
    return tmp_path / "templates"


def environment(folder: Path, cache: TemplateCache, **options: Any) -> Counting:
    setup = {"trim_blocks": True, **options}
    return Counting(loader=jinja2.FileSystemLoader(folder), bytecode_cache=cache, **setup)


def test_a_template_is_compiled_once_then_read_back(folder: Path, tmp_path: Path) -> None:
    cache = TemplateCache(str(tmp_path))
    Counting.compiled = 0
    first = environment(folder, cache).get_template("closure.txt").render(open=True)
    second = environment(folder, cache).get_template("closure.txt").render(open=True)
    assert first == second == "Open again."
    assert Counting.compiled == 1
    assert len(list(tmp_path.glob("broadcaster-*.cache"))) == 1


def test_a_changed_text_is_compiled_again(folder: Path, tmp_path: Path) -> None:
    cache = TemplateCache(str(tmp_path))
    environment(folder, cache).get_template("closure.txt").render(open=True)
    (folder / "closure.txt").write_text("Closed.")
    assert environment(folder, cache).get_template("closure.txt").render() == "Closed."


def test_code_compiled_under_another_setup_is_not_used(folder: Path, tmp_path: Path) -> None:
    """Without trim_blocks the line break after the tag stays: the cached code must not
    be the one compiled with it."""
    cache = TemplateCache(str(tmp_path))
    environment(folder, cache).get_template("closure.txt").render(open=True)
    kept = environment(folder, cache, trim_blocks=False).get_template("closure.txt")
    assert kept.render(open=True) == "\nOpen again."


def test_a_damaged_or_unwritable_cache_only_costs_time(folder: Path, tmp_path: Path) -> None:
    cache = TemplateCache(str(tmp_path))
    environment(folder, cache).get_template("closure.txt")
    (stored,) = tmp_path.glob("broadcaster-*.cache")
    stored.write_bytes(stored.read_bytes()[:40])
    assert environment(folder, cache).get_template("closure.txt").render(open=False) == " again."
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("")
    unwritable = TemplateCache(str(blocked))
    assert environment(folder, unwritable).get_template("closure.txt").render(open=True)


def test_broadcasters_environments_share_one_cache() -> None:
    env = language_environment(template_loader(None), None)
    assert isinstance(env.bytecode_cache, TemplateCache)
    assert env.get_template("_default/closure.txt").filename == str(
        BUILTIN_TEMPLATES / "_default/closure.txt"
    )
