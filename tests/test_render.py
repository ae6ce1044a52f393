"""Wording lives in templates; the default closure sentence is the seed's, exactly."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
import pytest

from broadcaster.config import Site
from broadcaster.notices import ClosureNotice
from broadcaster.render import (
    BUILTIN_TEMPLATES,
    Renderer,
    TemplateFault,
    TemplateMissing,
    template_fault,
)

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seed" / "clinic-page.txt"
SITE = Site(
    name="Glow Aesthetics",
    url="https://www.glow-aesthetics.example",
    timezone="Asia/Singapore",
    outlets=["Orchard", "Tampines"],
)
CLOSURE = ClosureNotice(
    "closure-2024-03-26",
    date(2024, 3, 26),
    date(2024, 3, 27),
    date(2024, 3, 28),
    "our annual team bonding event",
    ("Orchard", "Tampines"),
    True,
    7,
    1,
)
SENTENCE = (
    "Our outlets will be closed from 26 Mar (Tue) to 27 Mar (Wed) for our annual team bonding event. "
    "We will resume operations on 28 Mar (Thu)."
)


@pytest.fixture
def renderer() -> Renderer:
    return Renderer(SITE, None)


def test_default_closure_text_is_the_seed_sentence(renderer: Renderer) -> None:
    assert renderer.render(CLOSURE, "announce", "banner", ["text"])["text"] == SENTENCE
    if SEED.exists():
        assert SEED.read_text(encoding="utf-8").splitlines()[0] == SENTENCE


def test_one_outlet_and_one_day(renderer: Renderer) -> None:
    single = replace(
        CLOSURE,
        end=date(2024, 3, 26),
        resume=date(2024, 3, 27),
        outlets=("Orchard",),
        all_outlets=False,
    )
    assert renderer.render(single, "announce", "banner", ["text"])["text"] == (
        "Our Orchard outlet will be closed on 26 Mar (Tue) for our annual team bonding event. "
        "We will resume operations on 27 Mar (Wed)."
    )


def test_html_parts_escape_text_from_the_config(renderer: Renderer) -> None:
    hostile = replace(CLOSURE, reason='<script>alert(1)</script> & <img src=x onerror="alert(2)">')
    html = renderer.render(hostile, "banner", "banner", ["html"])["html"]
    assert "<script>" not in html and "<img" not in html
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x onerror=&#34;alert(2)&#34;&gt;"
        in html
    )
    assert "<strong>26 Mar (Tue)</strong>" in html


def test_channel_templates_override_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "telegram").mkdir()
    (tmp_path / "telegram" / "closure-remind.txt").write_text(
        "Tomorrow we are closed: {{ reason }}."
    )
    renderer = Renderer(SITE, tmp_path)
    assert (
        renderer.render(CLOSURE, "remind", "telegram", ["text"])["text"]
        == "Tomorrow we are closed: our annual team bonding event."
    )
    assert (
        renderer.render(CLOSURE, "announce", "telegram", ["text"])["text"] == SENTENCE
    )  # falls back to built-in


def test_a_misspelt_variable_is_an_error_not_a_hole(tmp_path: Path) -> None:
    (tmp_path / "banner").mkdir()
    (tmp_path / "banner" / "closure.txt").write_text("Closed for {{ reasn }}")
    with pytest.raises(jinja2.UndefinedError, match="reasn"):
        Renderer(SITE, tmp_path).render(CLOSURE, "announce", "banner", ["text"])


def test_a_missing_part_names_the_files_tried(renderer: Renderer) -> None:
    with pytest.raises(TemplateMissing, match=r"banner/closure-announce\.subject\.txt"):
        renderer.render(CLOSURE, "announce", "banner", ["subject"])


def test_a_custom_message_replaces_the_default_sentence_everywhere(renderer: Renderer) -> None:
    custom = replace(CLOSURE, message="Closed 26–27 Mar (Tue–Wed) for <team day>. Back Thu!")
    banner = renderer.render(custom, "banner", "banner", ["text", "html"])
    assert banner == {
        "text": "Closed 26–27 Mar (Tue–Wed) for <team day>. Back Thu!",
        "html": "<p>Closed 26–27 Mar (Tue–Wed) for &lt;team day&gt;. Back Thu!</p>",
    }
    remind = renderer.render(custom, "remind", "telegram", ["text"])["text"]
    assert remind == "Reminder: Closed 26–27 Mar (Tue–Wed) for <team day>. Back Thu!"
    assert custom.fingerprint() != CLOSURE.fingerprint()  # a new message is a new version


@pytest.mark.parametrize(
    "channel", sorted(p.name for p in BUILTIN_TEMPLATES.iterdir() if p.is_dir())
)
@pytest.mark.parametrize("occasion", ["announce", "remind", "banner", "update", "cancel", "reopen"])
def test_every_html_template_escapes_hostile_text(
    renderer: Renderer, channel: str, occasion: str
) -> None:
    hostile = replace(
        CLOSURE,
        reason="<script>alert(1)</script>",
        outlets=("Orchard", "<b>Evil</b>"),
        all_outlets=False,
    )
    try:
        html = renderer.render(hostile, occasion, channel, ["html"], {"previous": None})["html"]
    except TemplateMissing:
        return  # this channel has no HTML part for this occasion
    assert "<script>" not in html and "<b>Evil</b>" not in html
    assert "&lt;b&gt;Evil&lt;/b&gt;" in html  # every occasion names the outlets
    # and all but a cancellation and the reopening give the reason
    shows_reason = occasion not in ("cancel", "reopen")
    assert ("&lt;script&gt;alert(1)&lt;/script&gt;" in html) is shows_reason


@pytest.mark.parametrize(
    "channel", sorted(p.name for p in BUILTIN_TEMPLATES.iterdir() if p.is_dir())
)
@pytest.mark.parametrize("occasion", ["announce", "remind", "banner", "update", "cancel", "reopen"])
def test_a_reason_typed_with_a_full_stop_ends_its_sentence_once(
    renderer: Renderer, channel: str, occasion: str
) -> None:
    friday = replace(CLOSURE, reason="Good Friday.")
    extra = {"previous": friday.context()}
    for part in ("text", "html", "subject"):
        try:
            text = renderer.render(friday, occasion, channel, [part], extra)[part]
        except TemplateMissing:
            continue
        assert "Good Friday.." not in text and " ." not in text, (part, text)


def test_the_default_sentence_with_a_reason_typed_with_a_full_stop(renderer: Renderer) -> None:
    friday = replace(CLOSURE, reason="Good Friday.")
    assert renderer.render(friday, "announce", "banner", ["text"])["text"] == SENTENCE.replace(
        "our annual team bonding event", "Good Friday"
    )


# -- where a template went wrong ---------------------------------------------------------------


def fault_of(renderer: Renderer, channel: str = "banner") -> TemplateFault | None:
    try:
        renderer.render(CLOSURE, "announce", channel, ["text"])
    except Exception as exc:
        return template_fault(exc, renderer.template_dir)
    raise AssertionError("rendered without an error")


def test_a_rendering_error_names_the_template_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "banner").mkdir()
    (tmp_path / "banner" / "closure.txt").write_text("Closed\n\nfor {{ reasn }}\n")
    fault = fault_of(Renderer(SITE, tmp_path))
    assert fault == TemplateFault(f"{tmp_path}/banner/closure.txt", 3, "'reasn' is undefined")


def test_an_error_in_a_built_in_macro_names_it_and_the_caller(tmp_path: Path) -> None:
    (tmp_path / "banner").mkdir()
    (tmp_path / "banner" / "closure.txt").write_text(
        '{% from "_default/_macros.txt" import dates %}\n{{ dates(previous) }}\n'
    )
    fault = fault_of(Renderer(SITE, tmp_path))
    assert fault is not None and fault.file == "broadcaster built-in _default/_macros.txt"
    assert fault.message == f"'previous' is undefined (from {tmp_path}/banner/closure.txt:2)"


def test_a_filter_given_the_wrong_value_is_the_templates_fault(tmp_path: Path) -> None:
    (tmp_path / "banner").mkdir()
    (tmp_path / "banner" / "closure.txt").write_text("Closed on {{ reason|day }}\n")
    fault = fault_of(Renderer(SITE, tmp_path))
    assert fault == TemplateFault(
        f"{tmp_path}/banner/closure.txt",
        1,
        "TypeError: day needs a date, not str 'our annual team bonding event'",
    )


def test_a_missing_template_is_located_in_the_overrides_folder(tmp_path: Path) -> None:
    with pytest.raises(TemplateMissing) as caught:
        Renderer(SITE, tmp_path).render(CLOSURE, "announce", "banner", ["subject"])
    fault = template_fault(caught.value, tmp_path)
    assert fault is not None and fault.file == str(tmp_path) and fault.line is None
    assert fault.message.startswith("no template for banner closure announce subject: tried")


def test_an_error_outside_any_template_is_not_a_template_fault(tmp_path: Path) -> None:
    """A bug in the code stays a bug: it is raised, never recorded as a template's mistake."""
    with pytest.raises(KeyError) as caught:
        SITE.model_dump()["no such key"]
    assert template_fault(caught.value, tmp_path) is None


def test_a_message_template_is_found_on_disk_once_per_renderer(
    renderer: Renderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass looks each message up again and again (the proof, the pass itself): the names
    tried on disk are tried once; a correction's versions share the occasion's template."""
    tried: list[str] = []
    get_source = jinja2.FileSystemLoader.get_source

    def counting(self: jinja2.FileSystemLoader, env: jinja2.Environment, name: str) -> Any:
        tried.append(name)
        return get_source(self, env, name)

    monkeypatch.setattr(jinja2.FileSystemLoader, "get_source", counting)
    first = renderer.template("closure", "update@3f2a", "telegram", "text", "zh")
    assert tried  # zh/telegram/closure-update.txt, ... until one exists
    looked = len(tried)
    assert renderer.template("closure", "update@9c1d", "telegram", "text", "zh") is first
    assert len(tried) == looked
