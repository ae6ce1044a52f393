"""The config's own sections -- the site, the notices (closures, changed hours, articles), the
lifecycle of messages, the worker's schedule and the web application -- as strict models.
(Each channel's section is its own: :mod:`broadcaster.channels.settings`.)"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from broadcaster.config_fields import ApiUrl, Localized, Strict, clock_time


class Site(Strict):
    name: str = Field(min_length=1)
    url: str
    timezone: str = "UTC"
    outlets: list[str] = Field(default_factory=list)
    #: the languages notices are written in, the first being the default (``[en, zh, ms,
    #: ta]``); ``language: en`` (one language) is the older spelling of ``languages: [en]``
    languages: list[str] = Field(default_factory=list)
    language: str = "en"
    #: the country whose conventions dates follow (ISO 3166: ``SG``); default: none
    region: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_language_list(cls, data: Any) -> Any:
        """``languages`` wins; without it, ``language`` is the one language."""
        if isinstance(data, dict) and data.get("languages"):
            languages = data["languages"]
            if isinstance(languages, list) and languages and isinstance(languages[0], str):
                return {**data, "language": languages[0]}
        return data

    @field_validator("languages", mode="before")
    @classmethod
    def _a_list(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError("must be a list, the default first, like [en, zh, ms, ta]")
        return value

    @field_validator("region")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Z]{2}", value):
            raise ValueError(f"{value!r} is not a two-letter country code like SG or MY")
        return value

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        from broadcaster.i18n import known_language

        for language in value:
            if not known_language(language):
                raise ValueError(f"{language!r} is not a language code like en, zh, ms or ta")
        if len(set(value)) != len(value):
            raise ValueError("each language once")
        return value

    @property
    def all_languages(self) -> tuple[str, ...]:
        """Every language of the site, the default first."""
        return tuple(self.languages) or (self.language,)

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
    reason: Localized = Field(min_length=1)
    resume: date | None = None
    outlets: list[str] | None = None
    announce_days_before: int = Field(default=7, ge=0, le=365)
    remind_days_before: int = Field(default=1, ge=0, le=365)
    id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]*$")
    message: Localized | None = Field(default=None, min_length=1)  # replaces the sentence

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
    title: Localized = Field(min_length=1)
    url: str
    published: datetime | date
    summary: Localized = ""
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
