"""The one YAML file an admin edits, validated strictly, plus secrets from the environment.

Why the care with line numbers: the person fixing a config is an admin, not a developer, so
every mistake is reported as ``file:line: key.path: what is wrong`` and nothing is sent.
Secrets never live in the YAML; they come from ``BROADCAST_<CHANNEL>_<FIELD>`` variables or
a ``.env`` file and are typed ``SecretStr`` so they never print.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
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
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value if isinstance(value, str) else "")
        if match is None:
            raise ValueError('must be a time of day in quotes, like "09:00" (24-hour HH:MM)')
        return f"{int(match[1]):02d}:{match[2]}"

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


class BannerConfig(Strict):
    output_dir: Path = Path("site/notices")
    #: where the website serves output_dir, e.g. https://clinic.example/notices: the notice
    #: cards (Instagram, ``cards: true``) are written there and fetched by the platforms
    public_url: str | None = None

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        return None if value is None else _api_url(value)


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class EmailConfig(Strict):
    """``channels.email``: one message per subscriber, over SMTP or into a local Maildir."""

    transport: Literal["smtp", "maildir"] = "smtp"
    host: str = Field(default="localhost", min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None  # the password comes from BROADCAST_SMTP_PASSWORD
    sender: str = Field(alias="from")
    reply_to: str | None = None
    subscribers: Path
    unsubscribe_url: str
    unsubscribe_mailto: str | None = None  # default: reply_to, else the from address
    maildir: Path = Path("var/outbox")
    connections: int = Field(default=4, ge=1, le=64)
    #: then reconnect; most relays take hundreds per connection, a few fewer (Exchange's
    #: receive connectors: 20 by default) -- see docs/email.md
    messages_per_connection: int = Field(default=500, ge=1)
    timeout: float = Field(default=30.0, gt=0, le=600)

    @field_validator("sender", "reply_to", "unsubscribe_mailto")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else _email_address(value)

    @field_validator("unsubscribe_url")
    @classmethod
    def _unsubscribe_url(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must start with https:// (mail providers only POST to HTTPS links)")
        if any(c.isspace() or c in '<>"' for c in value):
            raise ValueError('must be a plain URL: no spaces, < > or "')
        if value.count("{token}") != 1:
            raise ValueError(
                "must contain {token} once, e.g. https://example.org/unsubscribe?t={token}"
            )
        return value

    @model_validator(mode="after")
    def _no_cleartext_password(self) -> EmailConfig:
        if (
            self.transport == "smtp"
            and self.username
            and self.security == "none"
            and self.host not in LOOPBACK_HOSTS
        ):
            raise ValueError(
                "security: none would send the SMTP password unencrypted; use starttls or tls"
            )
        return self

    @property
    def smtp_port(self) -> int:
        return self.port or {"none": 25, "starttls": 587, "tls": 465}[self.security]


def _email_address(value: str) -> str:
    """``Name <a@b.example>`` or ``a@b.example``, checked without DNS."""
    from email.utils import parseaddr

    from email_validator import EmailNotValidError, validate_email

    _name, address = parseaddr(value)
    if not address or "@" not in address:
        raise ValueError(f"{value!r} is not an address like 'Clinic <hello@clinic.example>'")
    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{address!r}: {exc}") from None
    return value.strip()


def _api_url(value: str) -> str:
    """An API base URL: https, or http only on this machine (a fake or a local Bot API server),
    since the credential travels with every request."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not a URL like https://example.org")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError("must start with https:// (the credential would travel unencrypted)")
    return value.rstrip("/")


#: an API base URL field: https, or http only on this machine (see _api_url)
ApiUrl = Annotated[str, AfterValidator(_api_url)]


class TelegramConfig(Strict):
    """``channels.telegram``: one chat or channel; the bot token is BROADCAST_TELEGRAM_TOKEN."""

    chat_id: str  # "@channelname" or a numeric id such as -1001234567890
    api_url: ApiUrl = "https://api.telegram.org"  # a self-hosted Bot API server works too
    link_preview: bool = True  # show the article's preview card under the message
    disable_notification: bool = False
    cards: bool = False  # closures (and articles without an image) go out with the notice card

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat(cls, value: Any) -> str:
        text = str(value).strip()
        if not (text.lstrip("-").isdigit() or (text.startswith("@") and len(text) > 1)):
            raise ValueError("must be @channelname or a numeric chat id like -1001234567890")
        return text


class MastodonConfig(Strict):
    """``channels.mastodon``: one account; its access token is BROADCAST_MASTODON_TOKEN."""

    instance: ApiUrl  # e.g. https://mastodon.social
    visibility: Literal["public", "unlisted", "private", "direct"] = "public"
    language: str | None = None  # ISO 639-1; default: site.language
    cards: bool = False  # attach the notice card (with its alt text) to closures


class BlueskyConfig(Strict):
    """``channels.bluesky``: one account; its app password is BROADCAST_BLUESKY_APP_PASSWORD."""

    service: ApiUrl = "https://bsky.social"
    handle: str  # e.g. glowaesthetics.bsky.social (or the account's DID)
    langs: list[str] | None = Field(default=None, min_length=1, max_length=3)  # default: site
    link_thumbnails: bool = True  # upload the article's image as the link card's thumbnail
    cards: bool = False  # attach the notice card (with its alt text) to closures

    @field_validator("handle")
    @classmethod
    def _handle(cls, value: str) -> str:
        value = value.strip().removeprefix("@")
        if not (value.startswith("did:") or ("." in value and " " not in value)):
            raise ValueError("must be a handle like clinic.bsky.social (no @), or a did:plc:...")
        return value


class GoogleBusinessConfig(Strict):
    """``channels.google_business``: each outlet's Google Business Profile special hours.

    OAuth2 client and refresh token (scope business.manage): BROADCAST_GOOGLE_CLIENT_ID,
    BROADCAST_GOOGLE_CLIENT_SECRET, BROADCAST_GOOGLE_REFRESH_TOKEN."""

    #: outlet name (as in site.outlets) -> its location id, "locations/123..." or "123..."
    locations: dict[str, str] = Field(min_length=1)
    api_url: ApiUrl = "https://mybusinessbusinessinformation.googleapis.com"
    token_url: ApiUrl = "https://oauth2.googleapis.com/token"

    @field_validator("locations")
    @classmethod
    def _location_ids(cls, value: dict[str, str]) -> dict[str, str]:
        result = {}
        for outlet, location in value.items():
            number = str(location).strip().removeprefix("locations/")
            if not number.isdigit():
                raise ValueError(
                    f"{outlet}: {location!r} is not a location id like locations/1234567890"
                )
            result[outlet] = number
        return result


class WebhookConfig(Strict):
    """``channels.webhook``: POST each notice as signed JSON to these URLs (the HMAC key is
    BROADCAST_WEBHOOK_SECRET); each URL is its own subscriber, told once."""

    urls: list[str] = Field(min_length=1)
    #: POSTs in flight at once, and at most this many to one host (host:port)
    concurrency: int = Field(default=16, ge=1, le=256)
    per_host: int = Field(default=4, ge=1, le=64)

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        from urllib.parse import urlsplit

        for url in value:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{parts.scheme or url!r}: must be an http(s) URL")
        if len(set(value)) != len(value):
            raise ValueError("a URL is listed twice")
        return value


class AppriseConfig(Strict):
    """``channels.apprise``: Apprise URLs (slack://, discord://, json://...); they embed
    credentials, so prefer BROADCAST_APPRISE_URLS (space- or comma-separated), added to these."""

    urls: list[str] = Field(default_factory=list)
    #: notifications in flight at once (each in its own thread), at most this many per host
    concurrency: int = Field(default=16, ge=1, le=64)
    per_host: int = Field(default=4, ge=1, le=64)

    @model_validator(mode="after")
    def _extra_installed(self) -> AppriseConfig:
        """Without the optional package the channel could send nothing: say how to get it."""
        if not _installed("apprise"):
            raise ValueError(
                "the apprise package is not installed: pip install 'broadcaster[apprise]' "
                "(or remove channels.apprise)"
            )
        return self


def _installed(module: str) -> bool:
    """Whether an optional extra's package can be imported, without importing it."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


GRAPH_VERSION = r"^v\d{1,3}\.0$"


def _numeric_id(value: Any) -> str:
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError("must be the numeric id (digits only, in quotes)")
    return text


#: a platform's numeric id, given with or without quotes in the YAML
NumericId = Annotated[str, BeforeValidator(_numeric_id)]


class FacebookConfig(Strict):
    """``channels.facebook``: one Page; its Page access token is BROADCAST_FACEBOOK_TOKEN."""

    page_id: NumericId
    api_url: ApiUrl = "https://graph.facebook.com"
    api_version: str = Field(default="v24.0", pattern=GRAPH_VERSION)  # Graph API, e.g. v24.0


class InstagramConfig(Strict):
    """``channels.instagram``: one professional account; BROADCAST_INSTAGRAM_TOKEN. Posts are
    the notice card with the message as caption, so channels.banner.public_url is needed."""

    user_id: NumericId  # the Instagram professional account's id (not the @username)
    api_url: ApiUrl = "https://graph.facebook.com"
    api_version: str = Field(default="v24.0", pattern=GRAPH_VERSION)
    #: our own ceiling on posts per 24 h; Meta's (content_publishing_limit) applies as well
    daily_limit: int = Field(default=50, ge=1, le=100)
    poll_seconds: float = Field(default=5.0, gt=0, le=120)  # container status, this often
    poll_attempts: int = Field(default=24, ge=1, le=200)  # and at most this many times a try


class XConfig(Strict):
    """``channels.x``: one account, OAuth 1.0a user context: BROADCAST_X_CONSUMER_KEY,
    _CONSUMER_SECRET, _ACCESS_TOKEN and _ACCESS_TOKEN_SECRET."""

    api_url: ApiUrl = "https://api.x.com"


class LinkedInConfig(Strict):
    """``channels.linkedin``: one organisation page; a member token with
    w_organization_social is BROADCAST_LINKEDIN_TOKEN."""

    organization: str  # the page's numeric id, or urn:li:organization:<id>
    #: the LinkedIn-Version header (YYYYMM); versions retire after about a year
    version: str = Field(pattern=r"^20\d{2}(0[1-9]|1[0-2])$")
    api_url: ApiUrl = "https://api.linkedin.com"

    @field_validator("organization", mode="before")
    @classmethod
    def _urn(cls, value: Any) -> str:
        text = str(value).strip().removeprefix("urn:li:organization:")
        return "urn:li:organization:" + _numeric_id(text)

    @field_validator("version", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return str(value).strip()


class ChannelsConfig(Strict):
    """One optional section per channel; a channel without a section is not used."""

    banner: BannerConfig | None = None
    email: EmailConfig | None = None
    telegram: TelegramConfig | None = None
    mastodon: MastodonConfig | None = None
    bluesky: BlueskyConfig | None = None
    facebook: FacebookConfig | None = None
    instagram: InstagramConfig | None = None
    x: XConfig | None = None
    linkedin: LinkedInConfig | None = None
    google_business: GoogleBusinessConfig | None = None
    webhook: WebhookConfig | None = None
    apprise: AppriseConfig | None = None

    @model_validator(mode="after")
    def _cards_need_a_public_folder(self) -> ChannelsConfig:
        """Notice cards are written beside the banner files and fetched by the platforms."""
        wanting = [
            name
            for name in ("instagram", "telegram", "mastodon", "bluesky")
            if (section := getattr(self, name)) is not None
            and (name == "instagram" or section.cards)
        ]
        if wanting and (self.banner is None or self.banner.public_url is None):
            raise ValueError(
                f"the notice cards for {' and '.join(wanting)} are written beside the banner "
                "files: set channels.banner.public_url to where the website serves them"
            )
        return self


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
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value if isinstance(value, str) else "")
        if match is None:
            raise ValueError('must be a time of day in quotes, like "08:00" (24-hour HH:MM)')
        return f"{int(match[1]):02d}:{match[2]}"

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


class Secrets(BaseSettings):
    """Credentials, only ever from the environment or ``.env``; ``SecretStr`` never prints."""

    model_config = SettingsConfigDict(
        env_prefix="BROADCAST_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    telegram_token: SecretStr | None = None
    mastodon_token: SecretStr | None = None
    bluesky_app_password: SecretStr | None = None
    facebook_token: SecretStr | None = None
    instagram_token: SecretStr | None = None
    x_consumer_key: SecretStr | None = None
    x_consumer_secret: SecretStr | None = None
    x_access_token: SecretStr | None = None
    x_access_token_secret: SecretStr | None = None
    linkedin_token: SecretStr | None = None
    smtp_password: SecretStr | None = None
    email_unsubscribe_secret: SecretStr | None = None
    google_client_id: SecretStr | None = None
    google_client_secret: SecretStr | None = None
    google_refresh_token: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    #: Apprise URLs carry credentials: space- or comma-separated, added to channels.apprise.urls
    apprise_urls: SecretStr | None = None
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
