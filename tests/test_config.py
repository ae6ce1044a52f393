"""The config an admin edits: the example works, and every mistake is named precisely."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from broadcaster import config
from broadcaster.cli import app
from broadcaster.errors import ConfigError

GOOD = """\
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


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broadcaster.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    return [str(p) for p in caught.value.problems]


def test_the_shipped_example_validates(project: Path) -> None:
    loaded = config.load("config/broadcaster.yaml")
    assert loaded.config.site.name == "Glow Aesthetics"
    reason = loaded.config.closures[0].reason
    assert isinstance(reason, dict) and reason["en"] == "our annual team bonding event"
    assert loaded.config.site.all_languages == ("en", "zh", "ms", "ta")
    assert loaded.config.channels.banner is not None


def test_config_path_comes_from_the_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROADCAST_CONFIG", "elsewhere.yaml")
    assert config.config_path(None) == Path("elsewhere.yaml")
    assert config.config_path("given.yaml") == Path("given.yaml")


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("end: 2024-03-27", "end: 2024-03-25", ":8: closures[0].end: must not be before start"),
        ("    reason:", "    reasons:", ":9: closures[0].reasons: unknown key"),
        ('    reason: "our annual team bonding event"\n', "", ":7: closures[0].reason: required"),
        ("Asia/Singapore", "Asia/Singapur", ":4: site.timezone: unknown time zone 'Asia/Singapur'"),
        ("end: 2024-03-27", "end: 2024-02-30", ":8: closures[0].end: Input should be a valid date"),
        (
            "end: 2024-03-27",
            "end: 2024-03-27\n    resume: 2024-03-27",
            ":9: closures[0].resume: must be after",
        ),
        (
            "end: 2024-03-27",
            "end: 2024-03-27\n    outlets: [Bedok]",
            ":9: closures[0].outlets: unknown outlet 'Bedok'",
        ),
        ("  banner:", "  bannner:", ":11: channels.bannner: unknown key"),
        ('url: "https://www', 'url: "www', ":3: site.url: must start with http:// or https://"),
        ("database:", "site:\n  name: again\ndatabase:", ":13: site: duplicate key"),
    ],
)
def test_each_mistake_names_file_line_and_key(
    tmp_path: Path, replace: str, by: str, expected: str
) -> None:
    assert replace in GOOD
    path = write(tmp_path, GOOD.replace(replace, by, 1))
    messages = errors_of(path)
    assert any(m.startswith(str(path)) and expected in m for m in messages), messages


def test_invalid_yaml_is_located(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD.replace('  outlets: ["Orchard", "Tampines"]', '  outlets: ["Orchard", "Tampines"'),
    )
    (message,) = errors_of(path)
    assert message.startswith(f"{path}:") and "invalid YAML" in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD.replace("Asia/Singapore", "Mars/Olympus").replace("  banner:", "  bannner:")
    )
    messages = errors_of(path)
    assert len(messages) == 2


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    (message,) = errors_of(tmp_path / "nope.yaml")
    assert "nope.yaml" in message and "cannot read" in message


def test_bad_config_exits_2_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, GOOD.replace("end: 2024-03-27", "end: 2024-03-01"))
    result = CliRunner().invoke(
        app, ["run", "--config", str(path), "--now", "2024-03-20T09:00:00+08:00"]
    )
    assert result.exit_code == 2
    assert "closures[0].end: must not be before start" in result.output
    assert not (tmp_path / "site").exists()
    assert not (tmp_path / "var").exists()


def test_secrets_come_from_the_environment_and_never_print(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BROADCAST_TELEGRAM_TOKEN", "123456:very-secret")
    secrets = config.Secrets()
    assert secrets.telegram_token is not None
    assert secrets.telegram_token.get_secret_value() == "123456:very-secret"
    assert "very-secret" not in repr(secrets) and "very-secret" not in str(secrets.telegram_token)
    assert secrets.all_values() == ["123456:very-secret"]


def test_secrets_can_come_from_a_dotenv_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("BROADCAST_SMTP_PASSWORD=from-dotenv\n")
    secrets = config.Secrets()
    assert secrets.smtp_password is not None
    assert secrets.smtp_password.get_secret_value() == "from-dotenv"


def test_libyaml_reads_a_config_exactly_as_pyyaml_does() -> None:
    """The config is parsed by libyaml for speed; PyYAML's own parser is the reference:
    the same values (dates left as text), the same line for every key and item."""
    import yaml

    from broadcaster import config_yaml

    text = (Path(__file__).parent.parent / "config/broadcaster.yaml").read_text(encoding="utf-8")
    text += 'extra:\n  - {when: 2024-02-30, at: "09:00", n: 3, on: yes}\n  - [a, b]\n'
    fast_node, fast = config_yaml._parsed(text, config_yaml._FastLoader)
    node, reference = config_yaml._parsed(text, config_yaml._Loader)
    assert config_yaml._FastLoader.__mro__[1] is getattr(yaml, "CSafeLoader", config_yaml._Loader)
    assert fast == reference and reference["extra"][0]["when"] == "2024-02-30"
    fast_lines: config_yaml.Lines = {}
    lines: config_yaml.Lines = {}
    config_yaml._index(fast_node, (), fast_lines, [], "f")
    config_yaml._index(node, (), lines, [], "f")
    assert fast_lines == lines and lines[("extra", 1)] == text.count("\n")
