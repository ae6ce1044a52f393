"""The one YAML file an admin edits, validated strictly, plus secrets from the environment.

Why the care with line numbers: the person fixing a config is an admin, not a developer, so
every mistake is reported as ``file:line: key.path: what is wrong`` and nothing is sent.
Secrets never live in the YAML; they come from ``BROADCAST_<CHANNEL>_<FIELD>`` variables or
a ``.env`` file and are typed ``SecretStr`` so they never print.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from broadcaster.channels.kit import CHANNELS, kits
from broadcaster.config_fields import ApiUrl, ChannelSection, Strict, clock_time
from broadcaster.errors import ConfigError, ConfigProblem

DEFAULT_CONFIG = "config/broadcaster.yaml"
S = TypeVar("S", bound=ChannelSection)


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
    message: str | None = Field(default=None, min_length=1)  # replaces the default sentence

    @property
    def last_day(self) -> date:
        return self.end or self.start


class HoursChange(Closure):
    """``hours:``: days the outlets open at other hours than usual (``opens``–``closes``).

    Announced, reminded, corrected and cancelled like a closure, which is simply the case of
    no hours at all; ``reason`` says why (``Christmas Eve``)."""

    opens: str
    closes: str

    @field_validator("opens", "closes", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> str:
        return clock_time(value, "09:00")

    @model_validator(mode="after")
    def _opens_before_closing(self) -> HoursChange:
        if self.closes <= self.opens:
            raise ValueError(f"closes ({self.closes}) must be after opens ({self.opens})")
        return self


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

    @field_validator("feeds", "items", mode="before")
    @classmethod
    def _nothing_listed(cls, value: Any) -> Any:
        return [] if value is None else value


class ChannelSections(Strict):
    """Base of :data:`ChannelsConfig`, whose fields -- one optional section per channel, a
    channel without a section is not used -- come from the registry
    (:data:`broadcaster.channels.kit.CHANNELS`), each typed by its channel's settings model."""

    @model_validator(mode="after")
    def _cards_need_a_public_folder(self) -> ChannelSections:
        """Notice cards are written beside the banner files and fetched by the platforms."""
        wanting = [name for name, section in self.configured().items() if section.draws_cards()]
        banner = getattr(self, "banner", None)
        if wanting and (banner is None or banner.public_url is None):
            raise ValueError(
                f"the notice cards for {' and '.join(wanting)} are written beside the banner "
                "files: set channels.banner.public_url to where the website serves them"
            )
        return self

    def configured(self) -> dict[str, ChannelSection]:
        """Each channel with a section, by name, in registry order."""
        return {
            name: section
            for name in CHANNELS
            if isinstance(section := getattr(self, name, None), ChannelSection)
        }

    def section(self, name: str, model: type[S]) -> S | None:
        """The section ``channels.<name>``, typed by its model (None when not configured)."""
        found = getattr(self, name, None)
        if found is not None and not isinstance(found, model):
            raise TypeError(f"channels.{name} is a {type(found).__name__}, not {model.__name__}")
        return found

    if TYPE_CHECKING:
        # Each channel's section is a field made from the registry at import time, so the type
        # checker knows neither its name nor its model; ``section()`` is the typed way in.
        def __getattr__(self, name: str) -> Any: ...


def _channels_model() -> type[ChannelSections]:
    """ChannelsConfig: one optional field per registered channel, typed by its kit's model."""
    fields: dict[str, Any] = {name: (kit.section | None, None) for name, kit in kits().items()}
    return create_model("ChannelsConfig", __base__=ChannelSections, __module__=__name__, **fields)


if TYPE_CHECKING:
    ChannelsConfig = ChannelSections
else:
    ChannelsConfig = _channels_model()


class Lifecycle(Strict):
    """Which channels get which closure messages beyond the announcement.

    Corrections and cancellations always go wherever the announcement went.
    """

    #: channels that get the reminder; default: every channel that takes one except email
    remind: list[str] | None = None
    #: channels that post "we're open again" on the resume date; default: none
    reopen: list[str] = Field(default_factory=list)
    #: "post" a correction, or "edit" the original where the platform allows (Telegram, Mastodon)
    corrections: Literal["post", "edit"] = "post"


class Schedule(Strict):
    """``schedule``: when ``broadcast worker`` runs its passes, in the site's time zone."""

    daily_at: str = "08:00"
    feed_poll_minutes: int = Field(default=15, ge=0, le=1440)  # 0 = no feed poll

    @field_validator("daily_at", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> str:
        return clock_time(value, "08:00")

    @property
    def daily_time(self) -> time:
        return time.fromisoformat(self.daily_at)


class ServeRateLimits(Strict):
    """``serve.rate_limit``: sign-up requests allowed per hour (per process)."""

    per_ip_per_hour: int = Field(default=20, ge=1, le=100_000)
    per_address_per_hour: int = Field(default=3, ge=1, le=100)


class ServeConfig(Strict):
    """``serve``: the web application of ``broadcast serve`` (sign-up, one-click unsubscribe,
    preferences, the banner files, health). Its signing key is BROADCAST_SERVE_SECRET."""

    #: where people reach it, as written in confirmation links; a path is the prefix the
    #: reverse proxy strips (https://clinic.example/notices-app -> /notices-app)
    public_url: ApiUrl
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    #: proxies whose X-Forwarded-For/-Proto are believed (the client's address, https)
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    #: sites that may embed the sign-up form (site.url and public_url always may)
    allowed_origins: list[str] = Field(default_factory=list)
    signup: bool = True
    confirm_hours: int = Field(default=48, ge=1, le=24 * 30)
    rate_limit: ServeRateLimits = Field(default_factory=ServeRateLimits)
    #: /healthz answers 503 when no pass has completed for this long (a stopped worker)
    health_max_age_hours: float = Field(default=25, gt=0, le=24 * 30)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        from urllib.parse import urlsplit

        for origin in value:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
                raise ValueError(f"{origin!r} is not an origin like https://www.clinic.example")
        return [o.rstrip("/") for o in value]

    @property
    def path_prefix(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.public_url).path.rstrip("/")


class Config(Strict):
    site: Site
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    closures: list[Closure] = Field(default_factory=list)
    #: days with other opening hours (a closure is the case of none)
    hours: list[HoursChange] = Field(default_factory=list)
    articles: Articles = Field(default_factory=Articles)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    database: str = "sqlite:///var/broadcaster.db"
    #: a folder of the admin's own templates, each overriding the built-in one of its name
    templates: Path | None = None
    schedule: Schedule = Field(default_factory=Schedule)
    serve: ServeConfig | None = None  # ``broadcast serve``

    @field_validator("closures", "hours", mode="before")
    @classmethod
    def _nothing_listed(cls, value: Any) -> Any:
        """``closures:`` with every entry deleted means none, not a mistake."""
        return [] if value is None else value


class SecretsBase(BaseSettings):
    """Credentials, only ever from the environment or ``.env``; ``SecretStr`` never prints.

    Each channel's secrets (:attr:`ChannelKit.secrets <broadcaster.channels.kit.ChannelKit>`)
    are added as fields by :data:`Secrets`; these are the ones no channel owns."""

    model_config = SettingsConfigDict(
        env_prefix="BROADCAST_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    #: overrides ``database:`` -- a PostgreSQL URL carries a password, so it may live here
    database_url: SecretStr | None = None
    #: ``broadcast serve``: signs confirmation links, undo links and form tokens (32+ chars)
    serve_secret: SecretStr | None = None

    def all_values(self) -> list[str]:
        """Every secret that is set, for redaction and for tests that grep output."""
        return [
            value.get_secret_value()
            for value in self.__dict__.values()
            if isinstance(value, SecretStr) and value.get_secret_value()
        ]

    if TYPE_CHECKING:
        # A channel's secret is a field made from its kit at import time: the type checker
        # cannot list them, but each is a SecretStr or None.
        def __getattr__(self, name: str) -> SecretStr | None: ...


def _secrets_model() -> type[SecretsBase]:
    """Secrets: SecretsBase plus every channel's secrets, each BROADCAST_<FIELD>."""
    fields: dict[str, Any] = {
        name: (SecretStr | None, None) for kit in kits().values() for name in kit.secrets
    }
    return create_model("Secrets", __base__=SecretsBase, __module__=__name__, **fields)


if TYPE_CHECKING:
    Secrets = SecretsBase
else:
    Secrets = _secrets_model()


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
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(str(file), None, "", f"cannot read: {exc.strerror}")]
        ) from None
    text = _utf8_text(raw, str(file))
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


def _utf8_text(raw: bytes, file: str) -> str:
    """The config as text; an editor that saved it in another encoding is named, with the
    line of the first byte that is not UTF-8 (a BOM, as Notepad writes it, is fine)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
        what = "UTF-16" if utf16 else "not UTF-8"
        raise ConfigError(
            [
                ConfigProblem(
                    file,
                    line,
                    "",
                    f"the file is {what} (byte 0x{raw[exc.start]:02x}): save it as UTF-8 "
                    "(in most editors: Save As, Encoding UTF-8)",
                )
            ]
        ) from None


def read_secrets() -> Secrets:
    """The secrets from the environment and ``.env``; a ``.env`` that cannot be read is a
    config mistake named by its file, never a traceback (and never shows a value)."""
    try:
        return Secrets()
    except UnicodeDecodeError:
        raise ConfigError(
            [ConfigProblem(".env", None, "", "not UTF-8 text: save it as UTF-8")]
        ) from None
    except ValidationError as exc:
        keys = ", ".join(f"BROADCAST_{str(e['loc'][0]).upper()}" for e in exc.errors())
        raise ConfigError(
            [ConfigProblem(".env", None, keys, "cannot be read as a secret (check its quoting)")]
        ) from None
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(".env", None, "", f"cannot read: {exc.strerror}")]
        ) from None


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
