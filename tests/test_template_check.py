"""Proving the templates: every mistake in one, found before anything is sent and named as
``file:line: what``, whichever day it is and whichever occasion is due."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from broadcaster import config as config_module
from broadcaster import render
from broadcaster.channels import TYPES
from broadcaster.channels.mastodon import MastodonChannel
from broadcaster.channels.telegram import TelegramChannel
from broadcaster.config import Config, Lifecycle
from broadcaster.config_sections import Site
from broadcaster.errors import ConfigError
from broadcaster.render import Renderer, template_sources
from broadcaster.template_check import occasions, template_errors, template_findings
from tests.languages import with_site_languages

#: every channel besides the example's banner and email, with made-up (never used) addresses
EVERY_OTHER_CHANNEL = """\
channels:
  telegram:
    chat_id: "@glowaesthetics"
  mastodon:
    instance: "https://mastodon.example"
  bluesky:
    handle: "glowaesthetics.bsky.social"
  facebook:
    page_id: "104857600123456"
  instagram:
    user_id: "17841400123456789"
  x: {}
  linkedin:
    organization: "2414183"
    version: "202405"
  google_business:
    locations:
      Orchard: "locations/1111111111"
      Tampines: "2222222222"
  webhook:
    urls: ["https://hooks.example.org/kiosk"]
  apprise:
    urls: []
"""


def loaded_config(project: Path, extra: str = "", *, every_channel: bool = False) -> Config:
    path = project / "config/broadcaster.yaml"
    text = path.read_text(encoding="utf-8")
    if every_channel:
        text = text.replace("channels:\n", EVERY_OTHER_CHANNEL, 1)
        text = text.replace(
            '    output_dir: "site/notices"\n',
            '    output_dir: "site/notices"\n    public_url: "https://glow.example/notices"\n',
            1,
        )
    path.write_text(text + extra, encoding="utf-8")
    return config_module.load(path).config


def override(project: Path, name: str, text: str) -> None:
    file = project / "templates" / name
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")


def shown(config: Config, severity: str = "error") -> list[str]:
    return [str(f) for f in template_findings(config) if f.severity == severity]


def test_the_built_in_templates_pass_on_every_channel_and_occasion(project: Path) -> None:
    config = loaded_config(
        project, "lifecycle:\n  reopen: [webhook, apprise, telegram]\n", every_channel=True
    )
    assert template_findings(config) == []


@pytest.mark.parametrize("name", sorted(template_sources(None)))
def test_every_built_in_template_compiles(name: str) -> None:
    """What a run proves of the admin's templates, proven here once for the built-in ones
    (a run compiles only those its messages read), serve's pages and the languages' too."""
    renderer = Renderer(Site(name="Glow", url="https://glow.example"), None)
    assert renderer.env.get_template(name).name == name


def test_a_built_in_template_with_a_syntax_error_is_still_found_by_the_message_that_reads_it(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Not compiled up front (see above), a broken built-in is still an error before a run."""
    builtin = tmp_path / "builtin"
    shutil.copytree(render.BUILTIN_TEMPLATES, builtin)
    (builtin / "email/closure.txt").write_text("Closed for {{ reason ) }}.\n", encoding="utf-8")
    monkeypatch.setattr(render, "BUILTIN_TEMPLATES", builtin)
    (error,) = shown(loaded_config(project))
    assert error == (
        "broadcaster built-in email/closure.txt:1: syntax error: unexpected ')' "
        "(rendering closure-2024-03-26 announce for email)"
    )


def test_a_syntax_error_names_the_override_file_and_line(project: Path) -> None:
    override(project, "email/closure.txt", "Dear customer,\nClosed for {{ reason ) }}.\nBye\n")
    assert shown(loaded_config(project)) == [
        "templates/email/closure.txt:2: syntax error: unexpected ')'"
    ]


def test_an_unclosed_block_is_reported_where_the_template_ends(project: Path) -> None:
    override(project, "email/closure.txt", "Dear customer,\n{% if message %}\n{{ message }}\n")
    (error,) = shown(loaded_config(project))
    assert error.startswith(
        "templates/email/closure.txt:3: syntax error: Unexpected end of template. Jinja was "
        "looking for the following tags: 'elif' or 'else' or 'endif'."
    )


def test_a_template_saved_in_another_encoding_is_named(project: Path) -> None:
    file = project / "templates/email/closure.txt"
    file.parent.mkdir(parents=True)
    file.write_bytes("Fermé pour {{ reason }}\n".encode("cp1252"))
    assert shown(loaded_config(project)) == [
        "templates/email/closure.txt: not UTF-8: save it as UTF-8"
    ]


def test_an_undefined_variable_is_found_on_an_occasion_that_is_not_due(project: Path) -> None:
    """A correction is sent only after a closure moves: its wording is proven anyway."""
    override(project, "email/closure-update.txt", "Our closure moved.\n\n{{ nosuch }}\n")
    assert shown(loaded_config(project)) == [
        "templates/email/closure-update.txt:3: 'nosuch' is undefined "
        "(rendering closure-2024-03-26 update for email)"
    ]


def test_an_error_inside_a_built_in_macro_also_names_the_override_that_called_it(
    project: Path,
) -> None:
    override(
        project,
        "banner/closure.html",
        '{% from "_default/_macros.html" import sentence %}\n{{ sentence(previous) }}\n',
    )
    (error,) = shown(loaded_config(project))
    assert error.startswith("broadcaster built-in _default/_macros.html:")
    assert error.endswith(
        "'previous' is undefined (from templates/banner/closure.html:2) "
        "(rendering closure-2024-03-26 banner for banner)"
    )


def test_one_broken_default_is_reported_once_not_per_channel(project: Path) -> None:
    override(project, "_default/closure.txt", "{{ reasn }}\n")
    errors = shown(loaded_config(project, every_channel=True))
    assert len(errors) == 1
    assert errors[0].startswith("templates/_default/closure.txt:1: 'reasn' is undefined")


def test_a_config_without_articles_is_proven_with_a_sample_article(project: Path) -> None:
    path = project / "config/broadcaster.yaml"
    text = path.read_text(encoding="utf-8")
    start, end = text.index("articles:\n"), text.index("\nchannels:\n")
    path.write_text(text[:start] + text[end + 1 :], encoding="utf-8")
    override(project, "email/article.txt", "{{ title }}\n{{ link }}\n")
    assert shown(config_module.load(path).config) == [
        "templates/email/article.txt:2: 'link' is undefined "
        "(rendering a sample article (the config has none) publish for email)"
    ]


def test_without_feeds_the_errors_come_from_the_config_alone(project: Path) -> None:
    """What ``run`` checks before sending: no feed is read for it."""
    override(project, "email/article.txt", "{{ image.rsplit('/', 1)[1] }}\n")
    (problem,) = template_errors(loaded_config(project))
    assert str(problem) == (
        "templates/email/article.txt:1: 'None' has no attribute 'rsplit' "
        "(rendering article-botox-depression publish for email)"
    )


# -- override files nothing reads --------------------------------------------------------------


def test_a_misspelt_override_is_a_warning_with_the_name_meant(project: Path) -> None:
    override(project, "email/closure-remnd.txt", "See you soon!\n")
    config = loaded_config(project)
    assert shown(config) == []
    assert shown(config, "warning") == [
        "templates/email/closure-remnd.txt: never used: no message is looked up as "
        "email/closure-remnd.txt (did you mean email/closure-remind.txt?); the built-in "
        "wording is used instead"
    ]


def test_a_folder_that_is_not_a_channel_is_a_warning(project: Path) -> None:
    override(project, "telegarm/closure.html", "<b>Closed</b>\n")
    (warning,) = shown(loaded_config(project), "warning")
    assert warning.startswith(
        "templates/telegarm/closure.html: never used: 'telegarm' is not a channel (channels: "
        "banner, email, telegram,"
    )


def test_a_part_the_channel_never_renders_is_a_warning(project: Path) -> None:
    """Telegram sends HTML: a plain-text override for it would never be read."""
    override(project, "telegram/closure.txt", "Closed\n")
    (warning,) = shown(loaded_config(project), "warning")
    assert warning.startswith("templates/telegram/closure.txt: never used:")


def test_a_layout_or_macros_an_override_imports_is_in_use(project: Path) -> None:
    override(project, "email/_signature.txt", "{% macro sign() %}The Glow team{% endmacro %}\n")
    override(
        project,
        "email/closure.txt",
        '{% from "email/_signature.txt" import sign %}\nClosed for {{ reason }}.\n{{ sign() }}\n',
    )
    config = loaded_config(project)
    assert template_findings(config) == []


# -- which occasions each channel is proven on ---------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "rules", "expected"),
    [
        ("banner", Lifecycle(), ["banner"]),
        ("email", Lifecycle(), ["announce", "update", "cancel"]),
        ("email", Lifecycle(remind=["email"]), ["announce", "remind", "update", "cancel"]),
        ("telegram", Lifecycle(), ["announce", "remind", "update", "cancel"]),
        (
            "telegram",
            Lifecycle(reopen=["telegram"], corrections="edit"),
            ["announce", "remind", "edit", "cancel", "reopen"],
        ),
        ("bluesky", Lifecycle(corrections="edit"), ["announce", "remind", "update", "cancel"]),
        ("google_business", Lifecycle(), ["banner"]),
    ],
)
def test_the_occasions_a_channel_is_proven_on_follow_lifecycle(
    channel: str, rules: Lifecycle, expected: list[str]
) -> None:
    assert occasions(TYPES[channel], "closure", rules) == expected


def test_every_posting_channel_publishes_articles_and_publishers_do_not() -> None:
    assert occasions(TelegramChannel, "article", Lifecycle()) == ["publish"]
    assert occasions(MastodonChannel, "article", Lifecycle()) == ["publish"]
    assert occasions(TYPES["banner"], "article", Lifecycle()) == []


def test_every_known_channel_has_its_type_declared() -> None:
    assert all(TYPES[name].name == name for name in TYPES)


# -- messages told in English for want of a translation ----------------------------------------


def with_languages(project: Path, languages: str, telegram: str | None = None) -> Config:
    """The project's config with ``site.languages`` (``[en, zh]``), and with Telegram told in
    the ``telegram`` languages (added to the channels if it is not there yet)."""
    path = project / "config/broadcaster.yaml"
    text = with_site_languages(path.read_text(encoding="utf-8"), languages)
    if telegram:
        chat = '    chat_id: "@glowaesthetics"\n'
        if chat not in text:
            text = text.replace("channels:\n", f"channels:\n  telegram:\n{chat}", 1)
        text = text.replace(chat, f"{chat}    languages: {telegram}\n", 1)
    path.write_text(text, encoding="utf-8")
    return config_module.load(path).config


def test_a_language_without_templates_of_its_own_is_a_warning_once_per_template(
    project: Path,
) -> None:
    """Japanese has no built-in templates: its emails would go out in English words (with
    Japanese dates). Each English template it falls back to is named once, however many
    notices and occasions read it."""
    every = shown(with_languages(project, "[en, zh, ms, ta, ja]"), "warning")
    warnings = [w for w in every if ": ja: no template of its own for email " in w]
    assert warnings[0] == (
        "broadcaster built-in email/closure.subject.txt: ja: no template of its own for email "
        "closure announce; the English one is used (translate a copy saved as "
        "ja/email/closure.subject.txt)"
    )
    # the banner shows every site language too, so its templates are named as well
    banner = [w for w in every if w not in warnings]
    assert banner and all(": ja: no template of its own for banner " in w for w in banner)
    used = [w.split(":")[0].removeprefix("broadcaster built-in ") for w in warnings]
    assert sorted(used) == sorted(
        f"email/{stem}.{ext}"
        for stem in ("closure", "closure-update", "closure-cancel", "hours", "article")
        for ext in ("subject.txt", "txt", "html")
    )


def test_the_built_in_languages_need_no_warning_on_any_channel(project: Path) -> None:
    loaded_config(project, "lifecycle:\n  reopen: [telegram]\n", every_channel=True)
    config = with_languages(project, "[en, zh, ms, ta]", telegram="[en, zh, ms, ta]")
    assert template_findings(config) == []


def test_a_channel_language_the_site_lacks_is_a_config_error(project: Path) -> None:
    """Not a template warning: the config is refused before any template is looked at."""
    with pytest.raises(ConfigError, match=r"channels\.telegram\.languages\[1\]: 'ja' is not one"):
        with_languages(project, "[en, zh]", telegram="[en, ja]")
