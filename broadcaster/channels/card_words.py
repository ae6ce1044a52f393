"""The words on a notice card, in the language of the notice it is drawn for.

A card is drawn for one variant of a notice (:func:`broadcaster.notices.base.variant`), and
``facts()["language"]`` says its language (absent: the site's default; a combined variant,
``en+zh``, is drawn in its first). Dates, weekdays, times and lists are CLDR's, for that
language in the site's region (:mod:`broadcaster.i18n`, Babel): a day and its month
(skeleton ``MMMMd``), a weekday (``EEEE``), the full date of the reopening day, a time of
day, a list of outlets. The card's own words -- "Closed", "Open again ..." -- come from
:data:`WORDS`, one row per language; a language with no row is drawn in English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from broadcaster.i18n import clock, join_and, locale_of, long_day
from broadcaster.plaintext import clause

if TYPE_CHECKING:
    from babel import Locale


@dataclass(frozen=True)
class Words:
    """One language's fixed words on a card; ``{...}`` are filled in (dates from CLDR)."""

    closed: str  # the state of a closed day, as it follows "Reminder: "
    open_hours: str  # the state of a day with changed hours
    remind: str
    update: str
    cancelled_open: str
    cancelled_hours: str
    reopened: str
    open_again: str  # the footer: the reopening day
    hours_again: str
    as_usual: str
    was_closed: str  # the footer of "we are open again": the days it was closed
    all_outlets: str
    outlet: str
    outlets: str
    because: str  # where, and the admin's reason
    span: str  # two dates
    weekday_span: str  # two weekdays, more than a day apart
    article: str
    alt: str  # the description for screen readers
    article_alt: str


# The English row is the card as it was first written. The others are DRAFTS, not reviewed:
# before a clinic relies on them, the member of its staff who reads that language should
# read them on a rendered card (`broadcast preview --html`) -- zh: the Chinese-reading staff
# member (Simplified Chinese as written in Singapore), ms: the Malay-reading one, ta: the
# Tamil-reading one -- and correct them here.
WORDS: dict[str, Words] = {
    "en": Words(
        closed="closed",
        open_hours="open {opens}–{closes}",
        remind="Reminder: {state}",
        update="New dates: {state}",
        cancelled_open="Cancelled: we are open",
        cancelled_hours="Cancelled: usual hours",
        reopened="We are open again",
        open_again="Open again {day}",
        hours_again="Usual hours again {day}",
        as_usual="Open as usual on these days",
        was_closed="Closed {span}",
        all_outlets="All outlets",
        outlet="{names} outlet",
        outlets="{names} outlets",
        because="{where}, for {reason}",
        span="{start} – {end}",
        weekday_span="{first} to {last}",
        article="New on our blog",
        alt="{name}: {kicker} {headline} ({subline}). {detail}. {footer}.",
        article_alt="{name}: new on our blog, “{headline}”.",
    ),
    "zh": Words(  # draft: to be reviewed by the clinic's Chinese-reading staff member
        closed="暂停营业",
        open_hours="营业时间 {opens}–{closes}",
        remind="提醒：{state}",
        update="日期更改：{state}",
        cancelled_open="已取消：照常营业",
        cancelled_hours="已取消：恢复正常营业时间",
        reopened="我们已恢复营业",
        open_again="{day}恢复营业",
        hours_again="{day}恢复正常营业时间",
        as_usual="这些日子照常营业",
        was_closed="{span}暂停营业",
        all_outlets="所有分店",
        outlet="{names}分店",
        outlets="{names}分店",
        because="{where}，因{reason}",
        span="{start}至{end}",
        weekday_span="{first}至{last}",
        article="博客新文章",
        alt="{name}：{kicker}，{headline}（{subline}）。{detail}。{footer}。",
        article_alt="{name}：博客新文章《{headline}》。",
    ),
    "ms": Words(  # draft: to be reviewed by the clinic's Malay-reading staff member
        closed="ditutup",
        open_hours="dibuka {opens}–{closes}",
        remind="Peringatan: {state}",
        update="Tarikh baharu: {state}",
        cancelled_open="Dibatalkan: kami dibuka",
        cancelled_hours="Dibatalkan: waktu biasa",
        reopened="Kami dibuka semula",
        open_again="Dibuka semula {day}",
        hours_again="Waktu biasa semula {day}",
        as_usual="Dibuka seperti biasa pada hari-hari ini",
        was_closed="Ditutup {span}",
        all_outlets="Semua cawangan",
        outlet="Cawangan {names}",
        outlets="Cawangan {names}",
        because="{where}, kerana {reason}",
        span="{start} – {end}",
        weekday_span="{first} hingga {last}",
        article="Baharu di blog kami",
        alt="{name}: {kicker} {headline} ({subline}). {detail}. {footer}.",
        article_alt="{name}: baharu di blog kami, “{headline}”.",
    ),
    "ta": Words(  # draft: to be reviewed by the clinic's Tamil-reading staff member
        closed="மூடப்பட்டிருக்கும்",
        open_hours="{opens}–{closes} திறந்திருக்கும்",
        remind="நினைவூட்டல்: {state}",
        update="புதிய தேதிகள்: {state}",
        cancelled_open="ரத்து: நாங்கள் திறந்திருக்கிறோம்",
        cancelled_hours="ரத்து: வழக்கமான நேரம்",
        reopened="மீண்டும் திறந்துள்ளோம்",
        open_again="{day} மீண்டும் திறக்கப்படும்",
        hours_again="{day} முதல் வழக்கமான நேரம்",
        as_usual="இந்த நாட்களில் வழக்கம் போல் திறந்திருக்கும்",
        was_closed="{span} மூடப்பட்டிருந்தது",
        all_outlets="அனைத்து கிளைகளும்",
        outlet="{names} கிளை",
        outlets="{names} கிளைகள்",
        because="{where}, காரணம்: {reason}",
        span="{start} – {end}",
        weekday_span="{first} முதல் {last} வரை",
        article="எங்கள் வலைப்பதிவில் புதியது",
        alt="{name}: {kicker} {headline} ({subline}). {detail}. {footer}.",
        article_alt="{name}: எங்கள் வலைப்பதிவில் புதியது, “{headline}”.",
    ),
}


def card_language(facts: Mapping[str, Any], default: str) -> str:
    """The language a card is drawn in: its variant's (the first of a combined one), else the
    site's default; English where the card has no words for it."""
    language = str(facts.get("language") or default).split("+")[0]
    return language if language in WORDS else "en"


@dataclass(frozen=True)
class DayWords:
    """What a card about opening days says, before it becomes a :class:`CardText`."""

    kicker: str
    headline: str
    subline: str
    detail: str
    footer: str
    alt: str


def day_words(
    occasion: str, facts: Mapping[str, Any], name: str, language: str, region: str | None
) -> DayWords:
    """The words of a closure's (or an hours change's) card on one occasion."""
    words, locale = WORDS[language], locale_of(language, region)
    start, end = date.fromisoformat(facts["start"]), date.fromisoformat(facts["end"])
    resume = date.fromisoformat(facts["resume"])
    hours = facts.get("hours")
    state = words.closed
    if hours:
        state = words.open_hours.format(
            opens=clock(hours["opens"], locale), closes=clock(hours["closes"], locale)
        )
    kicker = _initial(state)
    footer = (words.hours_again if hours else words.open_again).format(day=long_day(resume, locale))
    if occasion == "remind":
        kicker = words.remind.format(state=state)
    elif occasion in ("update", "edit"):
        kicker = words.update.format(state=state)
    elif occasion == "cancel":
        kicker = words.cancelled_hours if hours else words.cancelled_open
        footer = words.as_usual
    elif occasion == "reopen":
        kicker, footer = (
            words.reopened,
            words.was_closed.format(span=span(start, end, words, locale)),
        )
    headline, subline = span(start, end, words, locale), weekdays(start, end, words, locale)
    if occasion == "reopen":
        headline, subline = day_month(resume, locale), weekday(resume, locale)
    detail = _detail(facts, words, locale)
    alt = words.alt.format(
        name=name,
        kicker=kicker[:1].lower() + kicker[1:],
        headline=headline,
        subline=subline,
        detail=detail,
        footer=footer,
    )
    return DayWords(kicker, headline, subline, detail, footer, alt)


def _detail(facts: Mapping[str, Any], words: Words, locale: Locale) -> str:
    """Where, and why: ``All outlets, for our annual team bonding event``."""
    outlets = [str(outlet) for outlet in facts.get("outlets") or []]
    if facts.get("all_outlets") or not outlets:
        where = words.all_outlets
    else:
        where = (words.outlet if len(outlets) == 1 else words.outlets).format(
            names=join_and(outlets, locale)
        )
    # a reason typed as a sentence ends the card's own sentence once (clause() knows the
    # Latin stops; these are the full-width ones a Chinese reason ends with)
    reason = clause(str(facts.get("reason") or "")).rstrip("。！？，；：、")
    return words.because.format(where=where, reason=reason) if reason else where


def day_month(day: date, locale: Locale) -> str:
    """``26 March``, ``3月26日``, ``26 Mac``, ``26 மார்ச்``: CLDR's month-and-day (``MMMMd``)."""
    from babel.dates import format_skeleton

    return format_skeleton("MMMMd", day, locale=locale)


def weekday(day: date, locale: Locale) -> str:
    """``Tuesday``, ``星期二``, ``Selasa``, ``செவ்வாய்``: CLDR's weekday (``EEEE``)."""
    from babel.dates import format_date

    return format_date(day, "EEEE", locale=locale)


def span(start: date, end: date, words: Words, locale: Locale) -> str:
    """``26 March``, or ``26 March – 27 March``: each day as CLDR writes it."""
    if start == end:
        return day_month(start, locale)
    return words.span.format(start=day_month(start, locale), end=day_month(end, locale))


def weekdays(start: date, end: date, words: Words, locale: Locale) -> str:
    """``Tuesday``, ``Tuesday and Wednesday`` (CLDR's list), ``Tuesday to Friday``."""
    if start == end:
        return weekday(start, locale)
    if (end - start).days == 1:
        return join_and([weekday(start, locale), weekday(end, locale)], locale)
    return words.weekday_span.format(first=weekday(start, locale), last=weekday(end, locale))


def _initial(text: str) -> str:
    """``closed`` -> ``Closed`` (the rest untouched: ``open 9:00 AM``)."""
    return text[:1].upper() + text[1:]
