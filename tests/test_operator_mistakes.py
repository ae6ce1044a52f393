"""Every mistake an operator can make is one line that says where and what, exit status 2,
and nothing is sent or written: never a traceback, never exit 1 (which cron reads as "a
delivery failed").

Each row changes the example project the way a person would get it wrong, runs the command,
and gives the message it must print (with the file, line and key where there are any).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.commands import broadcast

CONFIG = "config/broadcaster.yaml"
NOW = "2024-03-20T09:00:00+08:00"


def edit(project: Path, old: str, new: str) -> int:
    """Replace ``old`` in the config once; return the line ``new`` starts on."""
    config = project / CONFIG
    text = config.read_text(encoding="utf-8")
    assert old in text, old
    text = text.replace(old, new, 1)
    config.write_text(text, encoding="utf-8")
    return text[: text.index(new)].count("\n") + 1


def append(project: Path, section: str) -> int:
    """Add a top-level section; return its first line."""
    config = project / CONFIG
    text = config.read_text(encoding="utf-8").rstrip("\n") + "\n"
    config.write_text(text + section, encoding="utf-8")
    return text.count("\n") + 1


@dataclass(frozen=True)
class Mistake:
    name: str
    #: makes the mistake in the project; returns the message that must be printed
    make: Callable[[Path], str]
    command: tuple[str, ...] = ("run", "--now", NOW)
    env: dict[str, str] = field(default_factory=dict)


def _not_utf8(project: Path) -> str:
    config = project / CONFIG
    text = config.read_text(encoding="utf-8").replace("Glow Aesthetics", "Glow Esthétique", 1)
    config.write_bytes(text.encode("cp1252", errors="replace"))  # 中文 has no cp1252: "?"
    line = text[: text.index("Esthétique")].count("\n") + 1
    return f"{CONFIG}:{line}: the file is not UTF-8 (byte 0xe9): save it as UTF-8"


def _utf16(project: Path) -> str:
    config = project / CONFIG
    config.write_bytes(config.read_text(encoding="utf-8").encode("utf-16"))
    return f"{CONFIG}:1: the file is UTF-16"


def _key(old: str, new: str, key: str, message: str, below: int = 0) -> Callable[[Path], str]:
    """``key`` is on the line ``new`` starts on, or ``below`` lines under it."""

    def make(project: Path) -> str:
        line = edit(project, old, new) + below
        return f"{CONFIG}:{line}: {key}: {message}"

    return make


def _dotenv_not_utf8(project: Path) -> str:
    (project / ".env").write_bytes("BROADCAST_TELEGRAM_TOKEN=caf\xe9\n".encode("latin-1"))
    return ".env: not UTF-8 text: save it as UTF-8"


def _file_in_the_way(old: str, key: str) -> Callable[[Path], str]:
    def make(project: Path) -> str:
        (project / "blocker").write_text("I am a file\n")
        line = edit(project, old, '"blocker/inside"')
        return f"{CONFIG}:{line}: {key}: blocker/inside: blocker is a file, not a folder"

    return make


def _invalid_yaml(project: Path) -> str:
    line = edit(project, '  name: "Glow Aesthetics"', '  name: "Glow Aesthetics')
    # the scanner notices the open quote where the next key starts
    return f"{CONFIG}:{line + 1}: invalid YAML: expected <block end>"


def _override(name: str, text: str, expected: str) -> Callable[[Path], str]:
    """An admin's own template, written wrong."""

    def make(project: Path) -> str:
        (project / "templates" / name).parent.mkdir(parents=True, exist_ok=True)
        (project / "templates" / name).write_text(text, encoding="utf-8")
        return expected

    return make


def _subscribers_file(data: bytes, message: str) -> Callable[[Path], str]:
    """The subscriber list replaced by what an admin exported."""

    def make(project: Path) -> str:
        (project / "config/subscribers.csv").write_bytes(data)
        line = edit(
            project,
            '    subscribers: "config/subscribers.csv"',
            '    subscribers: "config/subscribers.csv"',
        )
        return f"{CONFIG}:{line}: channels.email.subscribers: {message}"

    return make


DATABASE = 'database: "sqlite:///var/broadcaster.db"'


def _database(url: str, message: str) -> Callable[[Path], str]:
    def make(project: Path) -> str:
        (project / "blocker").write_text("I am a file\n")
        line = edit(project, DATABASE, f'database: "{url}"')
        return f"{CONFIG}:{line}: database: {message}"

    return make


def _wrong_chinese_weekday(project: Path) -> str:
    """A Chinese reason whose weekday is not its date's (tests/checks/test_weekdays.py)."""
    line = edit(project, '      zh: "年度团队建设活动"', '      zh: "3月26日（周三）团队活动"')
    return f'{CONFIG}:{line}: closures[0].reason.zh: "3月26日（周三）": 26 Mar 2024 is a Tuesday (星期二)'


def _missing_config(project: Path) -> str:
    (project / CONFIG).unlink()
    return f"{CONFIG}: cannot read: No such file or directory"


MISTAKES = [
    Mistake("config not UTF-8 (saved as Windows-1252)", _not_utf8),
    Mistake("config saved as UTF-16", _utf16),
    Mistake("no config file", _missing_config),
    Mistake("invalid YAML", _invalid_yaml),
    Mistake(
        "unknown key",
        _key("  timezone:", "  colour: red\n  timezone:", "site.colour", "unknown key"),
    ),
    Mistake(
        "duplicate key",
        _key("  timezone:", '  name: "Other"\n  timezone:', "site.name", "duplicate key"),
    ),
    Mistake(
        "closure ends before it starts",
        _key("    end: 2024-03-27", "    end: 2024-03-20", "closures[0].end", "must not be before"),
    ),
    Mistake("a wrong weekday in Chinese", _wrong_chinese_weekday, command=("validate",)),
    Mistake(
        "a language CLDR does not know",
        _key(
            "  languages: [en, zh, ms, ta]",
            "  languages: [en, zh, klingon]",
            "site.languages",
            "'klingon' is not a language code like en, zh, ms or ta",
        ),
    ),
    Mistake(
        "languages written as one word, not a list",
        _key(
            "  languages: [en, zh, ms, ta]",
            "  languages: zh",
            "site.languages",
            "must be a list, the default first, like [en, zh, ms, ta]",
        ),
    ),
    Mistake(
        "a region written as a country's name",
        _key(
            "  region: SG",
            "  region: Singapore",
            "site.region",
            "'Singapore' is not a two-letter country code like SG or MY",
        ),
    ),
    Mistake(
        "a reason in a language the site does not list",
        _key(
            '      ms: "acara jalinan mesra pasukan tahunan kami"',
            '      fr: "notre journée d’équipe"',
            "closures[0].reason.fr",
            "'fr' is not one of site.languages (en, zh, ms, ta)",
        ),
    ),
    Mistake(
        "a reason per language without the default language's",
        _key(
            "    reason:                        # one text, or one per language (a missing one: the en text)\n"
            '      en: "our annual team bonding event"\n',
            "    reason:\n",
            "closures[0].reason",
            "no en text: give one in the default language (site.languages[0])",
        ),
    ),
    Mistake(
        "a channel told in a language the site does not list",
        _key(
            "  banner:\n",
            '  telegram:\n    chat_id: "@glowaesthetics"\n    languages: [en, ja]\n  banner:\n',
            "channels.telegram.languages[1]",
            "'ja' is not one of site.languages (en, zh, ms, ta): add it there, with its translations",
            below=2,
        ),
    ),
    Mistake(
        "a date that does not exist",
        _key("    end: 2024-03-27", "    end: 2024-02-30", "closures[0].end", ""),
    ),
    Mistake(
        "unknown time zone",
        _key(
            '  timezone: "Asia/Singapore"',
            '  timezone: "Singapore Time"',
            "site.timezone",
            "unknown time zone",
        ),
    ),
    Mistake(
        "site URL without a scheme",
        _key(
            '  url: "https://www.glow-aesthetics.example"',
            '  url: "www.glow-aesthetics.example"',
            "site.url",
            "must start with http:// or https://",
        ),
    ),
    Mistake(
        "daily_at as a bare number",
        _key(
            '  daily_at: "08:00"', "  daily_at: 8am", "schedule.daily_at", "must be a time of day"
        ),
    ),
    Mistake(
        "sender address that is not one",
        _key(
            '    from: "Glow Aesthetics <hello@glow-aesthetics.example>"',
            '    from: "Glow Aesthetics"',
            "channels.email.from",
            "",
        ),
    ),
    Mistake(
        "unsubscribe link without {token}",
        _key(
            '    unsubscribe_url: "https://www.glow-aesthetics.example/unsubscribe?token={token}"',
            '    unsubscribe_url: "https://www.glow-aesthetics.example/unsubscribe"',
            "channels.email.unsubscribe_url",
            "must contain {token} once",
        ),
    ),
    Mistake(
        "subscriber list that does not exist",
        _key(
            '    subscribers: "config/subscribers.csv"',
            '    subscribers: "config/patients.csv"',
            "channels.email.subscribers",
            "config/patients.csv: cannot read: No such file or directory",
        ),
    ),
    Mistake(
        "templates folder that does not exist",
        _key(
            'templates: "templates"',
            'templates: "no_such_dir"',
            "templates",
            "no_such_dir: no such folder",
        ),
    ),
    Mistake(
        "banner folder under a file",
        _file_in_the_way('"site/notices"', "channels.banner.output_dir"),
    ),
    Mistake(
        "maildir under a file",
        _file_in_the_way('"var/outbox"', "channels.email.maildir"),
    ),
    Mistake(
        "--now in words",
        lambda project: "--now: 'yesterday' is not a date and time",
        command=("run", "--now", "yesterday"),
    ),
    Mistake(
        "--now with month 13",
        lambda project: "--now: '2024-13-45' is not a date and time",
        command=("plan", "--now", "2024-13-45"),
    ),
    Mistake(".env not UTF-8", _dotenv_not_utf8),
    Mistake(
        "send a notice that does not exist",
        lambda project: "notice: no notice 'closure-2099-01-01'",
        command=("send", "closure-2099-01-01", "--now", NOW),
    ),
    Mistake(
        "send to a channel that is not configured",
        lambda project: "--channel: fax is not configured; configured: banner, email",
        command=("send", "closure-2024-03-26", "--channel", "fax", "--now", NOW),
    ),
    Mistake(
        "resolve without saying how",
        lambda project: "resolve: say either --sent or --resend",
        command=("resolve", "1"),
    ),
    Mistake(
        "a template with a syntax error",
        _override(
            "email/closure.txt",
            "Closed {{ start|day }\n",
            "templates/email/closure.txt:1: syntax error: unexpected '}'",
        ),
    ),
    Mistake(
        "a correction's template using a variable that does not exist",
        _override(
            "email/closure-update.txt",
            "Changed: {{ nosuch }}\n",
            "templates/email/closure-update.txt:1: 'nosuch' is undefined",
        ),
    ),
    Mistake(
        "a misspelt channel under lifecycle",
        _key(
            "closures:\n",
            "lifecycle:\n  remind: [telegarm]\n\nclosures:\n",
            "lifecycle.remind[0]",
            "unknown channel 'telegarm' (did you mean telegram?)",
            below=1,
        ),
    ),
    Mistake(
        "a database that broadcaster does not work with",
        _database("mysql://root@db/clinic", "'mysql://' is not a database broadcaster works with"),
    ),
    Mistake(
        "a database path without sqlite:///",
        _database("var/ledger.db", "is not a database URL (it has no scheme such as sqlite:///)"),
    ),
    Mistake(
        "a PostgreSQL server that refuses the connection",
        _database(
            "postgresql://postgres@127.0.0.1:1/test",
            "cannot connect to PostgreSQL postgres@127.0.0.1:1/test: Connection refused",
        ),
    ),
    Mistake(
        "a SQLite ledger under a file",
        _database(
            "sqlite:///blocker/ledger.db",
            "the ledger's folder blocker cannot be made: blocker is a file, not a folder",
        ),
    ),
    Mistake(
        "BROADCAST_DATABASE_URL that is not a URL",
        lambda project: "BROADCAST_DATABASE_URL: is not a database URL",
        env={"BROADCAST_DATABASE_URL": "nonsense"},
    ),
    Mistake(
        "a subscriber list saved as an Excel workbook",
        _subscribers_file(
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"\x00" * 64,
            "config/subscribers.csv: this looks like an Excel workbook (.xlsx): save it as CSV UTF-8",
        ),
    ),
    Mistake(
        "a subscriber list without an email column",
        _subscribers_file(
            b"Name,Phone\r\nAda,123\r\n",
            "config/subscribers.csv: the first line must name an email column (found 'Name', "
            "'Phone';",
        ),
    ),
    Mistake(
        "special hours that close before they open",
        _key(
            "\narticles:",
            '\nhours:\n  - start: 2024-03-28\n    opens: "14:00"\n    closes: "09:00"\n'
            '    reason: "training"\n\narticles:',
            "hours[0]",
            "closes (09:00) must be after opens (14:00)",
            below=2,
        ),
    ),
    Mistake(
        "copy a template that does not exist",
        lambda project: "templates: no built-in template 'email/closing.txt'",
        command=("templates", "copy", "email/closing.txt"),
    ),
]


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.name)
def test_a_mistake_is_one_line_exit_2_and_nothing_is_sent(
    project: Path, mistake: Mistake, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in mistake.env.items():
        monkeypatch.setenv(name, value)
    expected = mistake.make(project)
    code, output = broadcast(*mistake.command)
    assert code == 2, output
    assert expected in output
    assert output.startswith("error "), output
    assert "Traceback" not in output
    assert not (project / "site").exists(), "the banner was written"
    assert not (project / "var/outbox").exists(), "an email went out"


def test_at_least_thirty_mistakes_are_covered() -> None:
    assert len(MISTAKES) >= 30
