"""What every kind of notice is, whatever it announces.

A notice kind is a small module (``closure``, ``hours``, ``article``) that says everything the
rest of broadcaster needs to know about it: its moments (when it may go out, and on which
occasions), its template context, its facts (the data cards, webhooks and structured data
are made from) and the fields of an outgoing post. The pipeline only ever asks a notice these
questions, so a new kind is one module, its templates and its tests: no channel changes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any, Literal, Protocol, TypeGuard, TypeVar, cast
from zoneinfo import ZoneInfo

Occasion = Literal["announce", "remind", "banner", "reopen", "publish", "update", "cancel"]
Timing = Literal["upcoming", "due", "stale"]
#: every occasion, in the order of a notice's life (plans and checks list them so)
LIFE: tuple[Occasion, ...] = (
    "announce",
    "remind",
    "banner",
    "update",
    "cancel",
    "reopen",
    "publish",
)


@dataclass(frozen=True)
class Moment:
    """One occasion of one notice and the window in which it may be sent."""

    notice: Notice
    occasion: Occasion
    opens: datetime
    closes: datetime

    def timing(self, now: datetime) -> Timing:
        if now < self.opens:
            return "upcoming"
        return "due" if now < self.closes else "stale"


@dataclass(frozen=True)
class PostFields:
    """What a post carries besides its text: a link (with its card's title and summary) and
    an image. Empty for notices that are not about a page."""

    link: str | None = None
    image: str | None = None
    title: str | None = None
    summary: str | None = None


#: the texts an admin gave in languages other than the site's default: (field, language, text)
Translations = tuple[tuple[str, str, str], ...]


class Notice(Protocol):
    """The questions the pipeline asks of a notice, whatever its kind."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    #: the language(s) it is told in: "" (the site's default: the notice as configured),
    #: "zh", or "en+zh" for one post in several languages (see :func:`variant`)
    @property
    def language(self) -> str: ...

    @property
    def translations(self) -> Translations: ...

    #: the occasion it goes out on when a person pushes it (``broadcast send``)
    @property
    def primary(self) -> Occasion: ...

    #: whether it is corrected and cancelled once told (closures and hours changes are;
    #: an article, once published, is not)
    @property
    def correctable(self) -> bool: ...

    def fingerprint(self) -> str:
        """What, if changed after it was told, makes what was told wrong."""
        ...

    def moments(self, tz: ZoneInfo, max_age_days: int) -> list[Moment]:
        """Every occasion it has, due now or not."""
        ...

    def context(self) -> dict[str, Any]:
        """The variables its templates see."""
        ...

    def facts(self) -> dict[str, Any]:
        """The notice as JSON data, for cards, webhooks, calendars and structured data."""
        ...

    def post_fields(self) -> PostFields: ...


def midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``tz``."""
    return datetime.combine(day, time(0), tz)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].rstrip("-")


def digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def about_days(facts: Mapping[str, Any] | None) -> TypeGuard[Mapping[str, Any]]:
    """Facts of a notice about opening days (a closure, an hours change): ``start``, ``end``,
    ``resume``, ``outlets``, ``all_outlets``, ``reason`` and ``hours`` (None: closed all
    day, else ``{"opens": "09:00", "closes": "14:00"}``). Channels read this shape, never a
    kind's name, so a new kind about days needs no channel change."""
    return facts is not None and "hours" in facts and "start" in facts


N = TypeVar("N", bound=Notice)


def translated(texts: Mapping[str, str | dict[str, str] | None], default: str) -> Translations:
    """The translations among an entry's texts (``reason: {en: ..., zh: ...}``)."""
    return tuple(
        (field, language, text.strip())
        for field, value in texts.items()
        if isinstance(value, dict)
        for language, text in value.items()
        if language != default
    )


def in_language(notice: N, language: str) -> N:
    """The notice with its texts in ``language`` (a text without a translation stays in the
    default language): what one language's template is filled with."""
    texts = {field: text for field, lang, text in notice.translations if lang == language}
    return cast(N, replace(cast(Any, notice), language=language, translations=(), **texts))


def variant(notice: N, languages: Sequence[str], default: str) -> N:
    """The notice as a channel tells it, with its own id in the ledger: in the default
    language it is the notice itself (``closure-2024-03-26``); in another, a notice of its own
    (``closure-2024-03-26.zh``), claimed, recorded and corrected on its own; in several at
    once, one post (``closure-2024-03-26.en+zh``)."""
    languages = tuple(languages)
    if not languages or languages == (default,):
        return notice
    name = "+".join(languages)
    if len(languages) == 1:
        told = in_language(notice, languages[0])
    else:
        kept = tuple(t for t in notice.translations if t[1] in languages)
        told = cast(N, replace(cast(Any, notice), language=name, translations=kept))
    return cast(N, replace(cast(Any, told), id=f"{notice.id}.{name}"))


def languages_of(notice: Notice, default: str) -> tuple[str, ...]:
    """The languages a notice (or its variant) is written in, in order."""
    return tuple(notice.language.split("+")) if notice.language else (default,)


def language_part(notice: Notice) -> tuple[object, ...]:
    """What a variant adds to its kind's fingerprint (nothing for the notice as configured,
    so fingerprints made before languages existed stay the same)."""
    return (notice.language, notice.translations) if notice.language else ()
