"""The building blocks of every config section: the strict base and the checked field types.

They live apart from :mod:`broadcaster.config` so that each channel's settings module
(:mod:`broadcaster.channels.settings`) can use them without importing the config that
assembles those settings -- and without importing anything heavy: this is read at every
config load.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

#: hosts where http:// is allowed for an API (a fake, a local Bot API server)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class Strict(BaseModel):
    """Base for config sections: unknown keys are mistakes, not extensions."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelSection(Strict):
    """Base of a ``channels.<name>`` section: what every channel's settings can be asked."""

    def draws_cards(self) -> bool:
        """Whether this channel posts notice cards, which are written beside the banner files
        and fetched from there by the platform (so ``channels.banner.public_url`` is needed)."""
        return False

    def told_in(self, site_languages: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
        """The languages of each message this channel gets per notice: by default one, in
        the site's default language (the banner and email say otherwise: every language)."""
        return ((site_languages[0],),)


class PostsText(ChannelSection):
    """A channel that posts text to one audience: in which of the site's languages, and how.

    ``languages: [en, zh]`` with ``layout: separate`` is one post per language (each counted,
    shortened, claimed and recorded on its own); ``combined`` is one post with each language's
    message in turn."""

    languages: list[str] | None = None  # default: the site's default language only
    layout: Literal["separate", "combined"] = "separate"

    def told_in(self, site_languages: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
        languages = tuple(self.languages or site_languages[:1])
        if self.layout == "combined" and len(languages) > 1:
            return (languages,)
        return tuple((language,) for language in languages)


def api_url(value: str) -> str:
    """An API base URL: https, or http only on this machine (a fake or a local Bot API server),
    since the credential travels with every request."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not a URL like https://example.org")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError("must start with https:// (the credential would travel unencrypted)")
    return value.rstrip("/")


#: an API base URL field: https, or http only on this machine (see api_url)
ApiUrl = Annotated[str, AfterValidator(api_url)]


def numeric_id(value: Any) -> str:
    """A platform's numeric id, as digits (YAML may have read it as a number)."""
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError("must be the numeric id (digits only, in quotes)")
    return text


#: a platform's numeric id, given with or without quotes in the YAML
NumericId = Annotated[str, BeforeValidator(numeric_id)]


def clock_time(value: Any, example: str) -> str:
    """``HH:MM`` (24-hour), normalised to two-digit hours; the YAML must quote it (unquoted,
    ``9:30`` is a number to YAML 1.1)."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value if isinstance(value, str) else "")
    if match is None:
        raise ValueError(f'must be a time of day in quotes, like "{example}" (24-hour HH:MM)')
    return f"{int(match[1]):02d}:{match[2]}"


def email_address(value: str) -> str:
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


def localized(value: str | dict[str, str]) -> str | dict[str, str]:
    """Text in one language, or ``{en: ..., zh: ...}``: each language's text non-empty.
    (Which languages a site has is checked against ``site.languages`` by ``checks``.)"""
    if isinstance(value, str):
        return value
    if not value:
        raise ValueError("give the text, or one text per language like {en: ..., zh: ...}")
    for language, text in value.items():
        if not text.strip():
            raise ValueError(f"the {language} text is empty")
    return value


#: text an admin may write per language: ``"Closed"`` or ``{en: "Closed", zh: "休息"}``
Localized = Annotated[str | dict[str, str], AfterValidator(localized)]


def text_in(value: str | dict[str, str], language: str, default: str) -> str:
    """``value`` in ``language``; a missing translation falls back to the default language."""
    if isinstance(value, str):
        return value
    return value.get(language) or value.get(default) or next(iter(value.values()))


def each_text(value: str | dict[str, str] | None) -> list[tuple[str | None, str]]:
    """(language, text) of each text ``value`` holds; the language is None for a plain text."""
    if value is None:
        return []
    if isinstance(value, str):
        return [(None, value)]
    return list(value.items())


def installed(module: str) -> bool:
    """Whether an optional extra's package can be imported, without importing it."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
