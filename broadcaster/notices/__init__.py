"""Events become notices: one per real-world event, with an id that never changes.

Why identity matters: the ledger remembers what went out by notice id, so the id must be the
same on every run (``closure-2024-03-26``, ``article-botox-depression``) and the same event
entered twice -- the seed page printed its closure twice -- must collapse into one notice.

Each kind of notice is one module here, registered in :data:`KINDS`; the rest of broadcaster
asks a notice only what :class:`~broadcaster.notices.base.Notice` offers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from broadcaster.config_model import Config
from broadcaster.notices import hours
from broadcaster.notices.article import (
    ArticleEvent,
    ArticleNotice,
    article_notices,
    as_instant,
    canonical_url,
    config_articles,
    sample_article,
)
from broadcaster.notices.base import Moment, Notice, Occasion, PostFields, Timing, about_days, slug
from broadcaster.notices.closure import ClosureNotice, closure_notices, sample_closure

__all__ = [
    "KINDS",
    "ArticleEvent",
    "ArticleNotice",
    "ClosureNotice",
    "Kind",
    "Moment",
    "Notice",
    "Notices",
    "Occasion",
    "PostFields",
    "Timing",
    "about_days",
    "as_instant",
    "build",
    "canonical_url",
    "config_articles",
    "kind_of",
    "restore",
    "slug",
]


@dataclass(frozen=True)
class Kind:
    """One kind of notice: its name, how it comes from the config, how a told version is
    read back from the ledger (for corrections), and the occasions it can have."""

    name: str
    occasions: frozenset[Occasion]
    #: a notice of this kind for ``validate`` to prove the templates with when the config
    #: has none yet (the first one added must not fail on the morning it is due)
    sample: Callable[[Config], Notice]
    from_config: Callable[[Config], tuple[list[Any], list[str]]] | None = None
    restore: Callable[[dict[str, Any]], Notice] | None = None
    #: the version told before a correction (for proving a correction's templates)
    earlier: Callable[[Any], Notice] | None = None


#: Every kind of notice broadcaster knows, in the order they are listed in a plan.
KINDS: tuple[Kind, ...] = (
    Kind(
        "closure",
        frozenset({"announce", "remind", "banner", "reopen", "update", "cancel"}),
        sample_closure,
        closure_notices,
        ClosureNotice.restore,
        ClosureNotice.day_earlier,
    ),
    Kind(
        "hours",
        hours.OCCASIONS,
        hours.sample_hours,
        hours.hours_notices,
        hours.HoursNotice.restore,
        hours.HoursNotice.day_earlier,
    ),
    Kind("article", frozenset({"publish"}), sample_article),
)


def kind_of(notice: Notice) -> Kind:
    """The registered kind of a notice (every notice broadcaster builds has one)."""
    return next(k for k in KINDS if k.name == notice.kind)


@dataclass
class Notices:
    """The deduplicated notices and what was merged to get them (shown by ``validate``)."""

    items: list[Notice]
    duplicates: list[str]

    def get(self, notice_id: str) -> Notice | None:
        return next((n for n in self.items if n.id == notice_id), None)


def build(config: Config, articles: Iterable[ArticleEvent]) -> Notices:
    """Every notice: each kind's from the config, then the articles from every source."""
    items: list[Notice] = []
    duplicates: list[str] = []
    for kind in KINDS:
        if kind.from_config is not None:
            found, repeated = kind.from_config(config)
            items += found
            duplicates += repeated
    article_list, article_dups = article_notices(articles)
    return Notices([*items, *article_list], duplicates + article_dups)


def restore(data: dict[str, Any]) -> Notice:
    """A told version back from the ledger (snapshots older than kinds are closures)."""
    name = data.get("kind", "closure")
    kind = next((k for k in KINDS if k.name == name and k.restore), None)
    if kind is None or kind.restore is None:
        raise ValueError(f"no kind {name!r} can be restored")
    return kind.restore(data)
