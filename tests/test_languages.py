"""Chinese, Malay and Tamil: every message in each language's own words, with CLDR's dates.

The English templates are at the top of ``broadcaster/templates``; each language has a folder
of its own (``zh/``, ``ms/``, ``ta/``) holding every message the English ones hold. A message in
Chinese is looked up in ``zh/`` first and falls back to the English template only when ``zh/``
has none. These tests render every kind of notice, on every occasion, for every channel, in
each language, and check that

* each message is read from its language's folder, and the layouts and macros it uses are that
  language's too;
* none of the English template's own words are left in it: the notices here give every text an
  admin writes (reason, title, summary) in each language, so an English word left would be the
  template's;
* the dates, times and lists it writes are the ones CLDR gives for that language in Singapore,
  as ICU computes them (Node's ``Intl``, tests/reference/cldr.mjs): an implementation of CLDR
  independent of Babel, which our filters use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jinja2 import meta

from broadcaster.channels import TYPES
from broadcaster.config_sections import Site
from broadcaster.notices import Notice, kind_of
from broadcaster.notices.article import ArticleNotice
from broadcaster.notices.base import variant
from broadcaster.notices.closure import ClosureNotice
from broadcaster.notices.hours import HoursNotice
from broadcaster.plaintext import html_to_text
from broadcaster.render import Renderer, template_sources
from broadcaster.template_check import OCCASIONS
from tests.reference.node import cldr

LANGUAGES = ("zh", "ms", "ta")
#: who should review each language's draft templates (their first comment says so)
READERS = {"zh": "Chinese", "ms": "Malay", "ta": "Tamil"}
SITE = Site(
    name="Glow Aesthetics",
    url="https://www.glow-aesthetics.example",
    timezone="Asia/Singapore",
    outlets=["Orchard", "Tampines", "Jurong"],
    languages=["en", *LANGUAGES],
    region="SG",
)
RENDERER = Renderer(SITE, None)


def texts(field: str, **by_language: str) -> tuple[tuple[str, str, str], ...]:
    """An admin's text in each language, as a notice carries it (``reason: {zh: ...}``)."""
    return tuple((field, language, text) for language, text in by_language.items())


#: every outlet, two days, back on the third
CLOSURE = ClosureNotice(
    "closure-2024-03-26",
    date(2024, 3, 26),
    date(2024, 3, 27),
    date(2024, 3, 28),
    "our annual team bonding event",
    ("Orchard", "Tampines", "Jurong"),
    True,
    7,
    1,
    translations=texts(
        "reason",
        zh="年度团队建设活动",
        ms="acara bina pasukan tahunan kami",
        ta="எங்கள் வருடாந்திரக் குழு ஒன்றுகூடல்",
    ),
)
#: one outlet, one day
GOOD_FRIDAY = ClosureNotice(
    "closure-2024-03-29-orchard",
    date(2024, 3, 29),
    date(2024, 3, 29),
    date(2024, 3, 30),
    "Good Friday",
    ("Orchard",),
    False,
    7,
    1,
    translations=texts("reason", zh="耶稣受难日", ms="Jumaat Agung", ta="புனித வெள்ளி"),
)
#: two of the three outlets (a list the language joins), open 9 to 2
HOURS = HoursNotice(
    "hours-2024-04-02",
    date(2024, 4, 2),
    date(2024, 4, 2),
    date(2024, 4, 3),
    "a staff training afternoon",
    ("Orchard", "Tampines"),
    False,
    7,
    1,
    translations=texts("reason", zh="员工培训", ms="latihan kakitangan", ta="பணியாளர் பயிற்சி"),
    opens="09:00",
    closes="14:00",
)
ARTICLE_URL = "https://www.glow-aesthetics.example/blog/botox-depression/"
ARTICLE = ArticleNotice(
    "article-botox-depression",
    "Can Botox Treat Depression? Here’s the Science",
    ARTICLE_URL,
    ARTICLE_URL,
    datetime(2024, 3, 20, 8, tzinfo=ZoneInfo("Asia/Singapore")),
    "How relaxing the frown muscles may lift mood.",
    image="https://www.glow-aesthetics.example/img/botox.jpg",
    translations=texts(
        "title",
        zh="肉毒杆菌素能治疗抑郁症吗？科学怎么说",
        ms="Bolehkah Botox merawat kemurungan? Inilah kata sains",
        ta="போடாக்ஸ் மனச்சோர்வைக் குணப்படுத்துமா? அறிவியல் சொல்வது இதுதான்",
    )
    + texts(
        "summary",
        zh="放松皱眉肌或能改善情绪。",
        ms="Melegakan otot dahi yang berkerut boleh menceriakan perasaan.",
        ta="நெற்றிச் சுருக்கத் தசைகளைத் தளர்த்துவது மனநிலையை மேம்படுத்தக்கூடும்.",
    ),
)
NOTICES: tuple[Notice, ...] = (CLOSURE, GOOD_FRIDAY, HOURS, ARTICLE)


def every_occasion() -> Iterator[tuple[Notice, str]]:
    """Each notice on each occasion its kind has (``edit``: a correction that edits a post)."""
    for notice in NOTICES:
        for occasion in OCCASIONS[notice.kind]:
            yield notice, occasion


def extra(notice: Notice, occasion: str) -> dict[str, Any]:
    """A correction also shows the dates announced before: here, a day earlier."""
    earlier = kind_of(notice).earlier
    if occasion not in ("update", "edit") or earlier is None:
        return {}
    return {"previous": earlier(notice).context()}


# -- the words ---------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\[\[[^\]]*\]\]")  # [[name|there]]: filled in per subscriber
URL = re.compile(r"https?://\S+")
WORD = re.compile(r"[A-Za-z]{2,}")
#: the names the notices and the site give, in every language
NAMES = {"glow", "aesthetics", "orchard", "tampines", "jurong", "botox"}


def latin_words(text: str, html: bool) -> set[str]:
    """The Latin-script words a reader sees in ``text``, lower case, without the names, the
    links and the per-subscriber placeholders."""
    if html:
        text = html_to_text(text)
    text = URL.sub(" ", PLACEHOLDER.sub(" ", text))
    return {word.lower() for word in WORD.findall(text)} - NAMES


@cache
def english_words(name: str) -> frozenset[str]:
    """The words the English template ``name`` writes itself, and the layouts and macros it
    imports or extends: its literal text, not its Jinja code, comments or HTML markup."""
    env = RENDERER.env
    assert env.loader is not None
    source = env.loader.get_source(env, name)[0]
    literal = " ".join(value for _line, token, value in env.lex(source) if token == "data")
    found = latin_words(literal, html=name.endswith(".html"))
    for other in meta.find_referenced_templates(env.parse(source)):
        found |= english_words(other or "")
    return frozenset(found)


def test_the_english_words_are_the_sentence_words_of_the_template_and_its_macros() -> None:
    """What the next test looks for, shown on the closure's plain-text template."""
    words = english_words("_default/closure.txt")
    assert {"our", "outlets", "will", "be", "closed", "resume", "operations"} <= words
    assert not {"reason", "message", "notice", "day", "macro", "endif"} & words  # Jinja code


@pytest.mark.parametrize("channel", sorted(TYPES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_in_its_language_not_english(language: str, channel: str) -> None:
    parts = TYPES[channel].parts
    for notice, occasion in every_occasion():
        told = variant(notice, (language,), "en")
        message = RENDERER.render(told, occasion, channel, parts, extra(notice, occasion))
        for part, text in message.items():
            which = f"{language} {channel} {notice.id} {occasion} {part}"
            name = RENDERER.template_name(notice.kind, occasion, channel, part, language)
            assert name.startswith(f"{language}/"), which
            assert RENDERER.translated(notice.kind, occasion, channel, part, language), which
            english = english_words(RENDERER.template_name(notice.kind, occasion, channel, part))
            left = latin_words(text, html=part == "html") & english
            assert not left, f"{which}: English {sorted(left)} left in {text!r}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_confirmation_email_is_in_its_language_too(language: str) -> None:
    """Sent by the sign-up page (broadcaster.serve), not by a notice: same check, by name."""
    env = RENDERER.env_for(language)
    context = {
        "name": "",
        "link": "https://www.glow-aesthetics.example/confirm?t=abc",
        "site": {"name": SITE.name, "url": SITE.url},
    }
    for ext in ("subject.txt", "txt", "html"):
        text = env.get_template(f"{language}/email/confirm.{ext}").render(context)
        left = latin_words(text, html=ext == "html") & english_words(f"email/confirm.{ext}")
        assert not left, f"{language} confirm.{ext}: English {sorted(left)} left in {text!r}"


# -- the folders -------------------------------------------------------------------------------


def built_in(prefix: str = "") -> dict[str, str]:
    """The built-in templates under ``prefix`` (``zh/``), by name without it, with their text."""
    return {
        name.removeprefix(prefix): file.read_text(encoding="utf-8")
        for name, file in template_sources(None).items()
        if name.startswith(prefix)
    }


ENGLISH_MESSAGES = sorted(
    name for name in built_in() if name.split("/")[0] not in {"serve", *LANGUAGES}
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_holds_every_english_message_template(language: str) -> None:
    """Every channel's messages, layouts and macros (the sign-up pages of serve/ are another
    matter)."""
    assert {"email/closure.txt", "telegram/closure-remind.html"} <= set(ENGLISH_MESSAGES)
    assert sorted(built_in(f"{language}/")) == ENGLISH_MESSAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_language_template_imports_and_extends_only_its_own_language(language: str) -> None:
    env = RENDERER.env
    for name, source in built_in(f"{language}/").items():
        for other in meta.find_referenced_templates(env.parse(source)):
            assert (other or "").startswith(f"{language}/"), f"{language}/{name} reads {other}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_template_says_it_is_a_draft_and_who_should_review_it(
    language: str,
) -> None:
    for name, source in built_in(f"{language}/").items():
        assert source.startswith("{#"), name
        first_comment = " ".join(source.split("#}", 1)[0].split())
        assert "not reviewed by a native speaker" in first_comment, name
        assert f"a staff member who reads {READERS[language]} natively" in first_comment, name


# -- the dates, times and lists, against ICU's CLDR --------------------------------------------

DAYS = [CLOSURE.start, CLOSURE.end, CLOSURE.resume]  # 26 and 27 Mar 2024, back on 28 Mar
#: ours, not CLDR's (broadcaster.i18n.day): how the short weekday is bracketed after the date
WEEKDAY_BRACKETS = {"zh": ("（", "）")}


@pytest.fixture(scope="module")
def icu() -> dict[str, Any]:
    """ICU's forms for each language in Singapore (``zh-SG``: ICU resolves it, as Babel does
    ``zh_SG``, to Simplified Chinese as written in Singapore)."""
    return cldr(
        [f"{language}-SG" for language in LANGUAGES],
        [day.isoformat() for day in DAYS],
        [HOURS.opens, HOURS.closes],
        [list(HOURS.outlets)],
    )


def short_day(language: str, forms: dict[str, str]) -> str:
    """``26 Mac (Sel)``: ICU's month and day and its weekday, in our brackets."""
    opening, closing = WEEKDAY_BRACKETS.get(language, (" (", ")"))
    return f"{forms['monthDay']}{opening}{forms['weekday']}{closing}"


def in_order(text: str, pieces: list[str]) -> bool:
    """Whether each of ``pieces`` is in ``text``, each after the one before."""
    at = 0
    for piece in pieces:
        found = text.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True


def closure_in(language: str, channel: str, parts: list[str]) -> dict[str, str]:
    return RENDERER.render(variant(CLOSURE, (language,), "en"), "announce", channel, parts)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_date_text_checks_against_cldr(language: str, icu: dict[str, Any]) -> None:
    """The closure of 26-27 Mar 2024, back on 28 Mar: a post and an email's subject write the
    short day (ICU's month-and-day and weekday), an email's text the full date (ICU's full
    date style), each day in its place."""
    forms = icu[f"{language}-SG"]["dates"]
    short = [short_day(language, forms[day.isoformat()]) for day in DAYS]
    full = [forms[day.isoformat()]["full"] for day in DAYS]

    post = closure_in(language, "mastodon", ["text"])["text"]
    assert in_order(post, short), (post, short)
    telegram = html_to_text(closure_in(language, "telegram", ["html"])["html"])
    assert in_order(telegram, short), (telegram, short)
    email = closure_in(language, "email", ["subject", "text"])
    assert in_order(email["subject"], short[:2]), (email["subject"], short)
    assert in_order(email["text"], full), (email["text"], full)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_hours_and_the_outlets_check_against_cldr(language: str, icu: dict[str, Any]) -> None:
    """Open 09:00 to 14:00 at Orchard and Tampines: the times in ICU's short time style, the
    outlets joined as ICU joins a list.

    One character legitimately differs, and is made the same before comparing: since CLDR 42,
    the space before am/pm (``9:00 PG`` in Malay) is a narrow no-break space, U+202F, which
    Babel writes as CLDR has it. Node 20's V8, like the other browsers' engines, writes a plain
    space there instead, because web pages and Node modules that parse formatted times broke
    on the new character (nodejs/node#46123; V8 commit bab790f9165f).
    """
    forms = icu[f"{language}-SG"]
    times = [forms["times"][HOURS.opens], forms["times"][HOURS.closes]]
    told = variant(HOURS, (language,), "en")
    for channel, part in (("mastodon", "text"), ("email", "text"), ("email", "subject")):
        text = RENDERER.render(told, "announce", channel, [part])[part]
        assert in_order(text.replace("\u202f", " "), times), (channel, part, text, times)
        if part == "text":
            assert forms["lists"][0] in text, (channel, text, forms["lists"])


# -- a language without templates of its own ---------------------------------------------------


def test_a_language_without_templates_of_its_own_falls_back_to_english() -> None:
    """Japanese is a language CLDR knows and broadcaster has no templates for: its messages
    are the English ones, with Japanese dates, and Renderer.translated says so (which is
    what ``broadcast validate`` warns about)."""
    renderer = Renderer(SITE.model_copy(update={"languages": ["en", "ja"], "region": None}), None)
    message = renderer.render(variant(CLOSURE, ("ja",), "en"), "announce", "mastodon", ["text"])
    assert message["text"] == (
        "Our outlets will be closed from 3月26日（火） to 3月27日（水） for our annual team "
        "bonding event. We will resume operations on 3月28日（木）."
    )
    assert renderer.template_name("closure", "announce", "mastodon", "text", "ja") == (
        "_default/closure.txt"
    )
    assert renderer.translated("closure", "announce", "mastodon", "text", "ja") is False
    assert latin_words(message["text"], html=False) & english_words("_default/closure.txt")


def test_english_in_any_region_is_english() -> None:
    """The templates at the top are English: ``en-GB`` is not told it lacks a translation."""
    assert RENDERER.translated("closure", "announce", "mastodon", "text", "en-GB") is True
    assert RENDERER.translated("closure", "announce", "mastodon", "text", "zh") is True
