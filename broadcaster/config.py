"""The one YAML file an admin edits, validated strictly, plus secrets from the environment.

Why the care with line numbers: the person fixing a config is an admin, not a developer, so
every mistake is reported as ``file:line: key.path: what is wrong`` and nothing is sent.
Secrets never live in the YAML; they come from ``BROADCAST_<CHANNEL>_<FIELD>`` variables or
a ``.env`` file and are typed ``SecretStr`` so they never print.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from broadcaster.errors import ConfigError, ConfigProblem

DEFAULT_CONFIG = "config/broadcaster.yaml"


class Strict(BaseModel):
    """Base for config sections: unknown keys are mistakes, not extensions."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Site(Strict):
    name: str = Field(min_length=1)
    url: str
    timezone: str = "UTC"
    outlets: list[str] = Field(default_factory=list)
    language: str = "en"

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Asia/Singapore)"
            ) from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Closure(Strict):
    start: date
    end: date | None = None
    reason: str = Field(min_length=1)
    resume: date | None = None
    outlets: list[str] | None = None
    announce_days_before: int = Field(default=7, ge=0, le=365)
    remind_days_before: int = Field(default=1, ge=0, le=365)
    id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]*$")

    @property
    def last_day(self) -> date:
        return self.end or self.start


class Feed(Strict):
    url: str = Field(min_length=1)


class ArticleItem(Strict):
    title: str = Field(min_length=1)
    url: str
    published: datetime | date
    summary: str = ""
    image: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


class Articles(Strict):
    max_age_days: int = Field(default=3, ge=1)
    feeds: list[Feed] = Field(default_factory=list)
    items: list[ArticleItem] = Field(default_factory=list)


class BannerConfig(Strict):
    output_dir: Path = Path("site/notices")


class ChannelsConfig(Strict):
    """One optional section per channel; a channel without a section is not used."""

    banner: BannerConfig | None = None


class Config(Strict):
    site: Site
    closures: list[Closure] = Field(default_factory=list)
    articles: Articles = Field(default_factory=Articles)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    database: str = "sqlite:///var/broadcaster.db"
    templates: Path = Path("templates")


class Secrets(BaseSettings):
    """Credentials, only ever from the environment or ``.env``; ``SecretStr`` never prints."""

    model_config = SettingsConfigDict(
        env_prefix="BROADCAST_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    telegram_token: SecretStr | None = None
    mastodon_token: SecretStr | None = None
    bluesky_app_password: SecretStr | None = None
    smtp_password: SecretStr | None = None
    email_unsubscribe_secret: SecretStr | None = None

    def all_values(self) -> list[str]:
        """Every secret that is set, for redaction and for tests that grep output."""
        return [
            value.get_secret_value()
            for value in self.__dict__.values()
            if isinstance(value, SecretStr) and value.get_secret_value()
        ]


@dataclass(frozen=True)
class Loaded:
    """A validated config and where it came from (relative paths are resolved from cwd)."""

    config: Config
    path: Path
    lines: dict[tuple[str | int, ...], int]

    def line_of(self, *key: str | int) -> int | None:
        return _nearest_line(self.lines, key)


def config_path(explicit: str | Path | None) -> Path:
    """``--config`` wins, then ``BROADCAST_CONFIG``, then the conventional location."""
    return Path(explicit or os.environ.get("BROADCAST_CONFIG") or DEFAULT_CONFIG)


def load(path: str | Path | None = None) -> Loaded:
    """Read, locate and validate the config; raise ConfigError listing every problem."""
    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(str(file), None, "", f"cannot read: {exc.strerror}")]
        ) from None
    data, lines = _parse_yaml(text, str(file))
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, str(file), lines)) from None
    loaded = Loaded(config, file, lines)
    from broadcaster.checks import config_problems  # the semantic rules live in one place

    problems = [p for p in config_problems(loaded) if p.severity == "error"]
    if problems:
        raise ConfigError([p.as_config_problem() for p in problems])
    return loaded


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as strings, so pydantic validates them with a clear
    message (PyYAML itself crashes on 2024-02-30) and every value is located the same way."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse_yaml(text: str, file: str) -> tuple[Any, dict[tuple[str | int, ...], int]]:
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(file, line, "", f"invalid YAML: {reason}")]) from None
    lines: dict[tuple[str | int, ...], int] = {}
    problems: list[ConfigProblem] = []
    if node is not None:
        _index(node, (), lines, problems, file)
    if problems:
        raise ConfigError(problems)
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigProblem(file, 1, "", "expected a mapping of sections (site:, closures:, ...)")]
        )
    return data, lines


def _index(
    node: yaml.Node,
    path: tuple[str | int, ...],
    lines: dict[tuple[str | int, ...], int],
    problems: list[ConfigProblem],
    file: str,
) -> None:
    """Remember the line of every key and list item; catch duplicate keys YAML would hide."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if child in lines:
                problems.append(
                    ConfigProblem(
                        file, key_node.start_mark.line + 1, dotted(child), "duplicate key"
                    )
                )
            lines[child] = key_node.start_mark.line + 1
            _index(value_node, child, lines, problems, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _index(item, child, lines, problems, file)


def dotted(path: tuple[str | int, ...]) -> str:
    """``('closures', 0, 'end')`` -> ``closures[0].end``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _nearest_line(
    lines: dict[tuple[str | int, ...], int], key: tuple[str | int, ...]
) -> int | None:
    while key:
        if key in lines:
            return lines[key]
        key = key[:-1]
    return None


def _problems(
    exc: ValidationError, file: str, lines: dict[tuple[str | int, ...], int]
) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
        problems.append(
            ConfigProblem(file, _nearest_line(lines, loc), dotted(loc), _message(error))
        )
    return problems


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see config/broadcaster.yaml for every key)"
    if kind == "missing":
        return "required"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


LiteralSeverity = Literal["error", "warning"]
