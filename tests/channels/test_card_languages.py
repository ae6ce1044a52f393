"""The notice card in English, Chinese, Malay and Tamil: its words in the notice's language,
its dates as CLDR writes them (checked against Node's Intl, i.e. ICU), a glyph for every
character it draws (checked against each font's own cmap, read by fontTools), and Tamil
shaped as HarfBuzz shapes it (uharfbuzz: the glyphs Pillow draws are HarfBuzz's glyphs)."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import unicodedata
from dataclasses import asdict
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops, ImageDraw, ImageFont, features

from broadcaster.channels import card_fonts
from broadcaster.channels.card_fonts import Face, Script, cjk_subset, runs, tokens, uncovered
from broadcaster.channels.card_words import WORDS
from broadcaster.channels.cards import SIZE, CardText, card_text, render_card
from broadcaster.config import Site
from broadcaster.notices.base import variant
from broadcaster.notices.closure import ClosureNotice
from broadcaster.notices.hours import HoursNotice

LANGUAGES = ("en", "zh", "ms", "ta")
SITE = Site(
    name="Glow Aesthetics",
    url="https://www.glow-aesthetics.example",
    languages=list(LANGUAGES),
    region="SG",
)
REASONS = {  # what a clinic might type; the Chinese one on an English card too
    "zh": "农历新年，全体员工休假。",
    "ms": "cuti Hari Raya Aidilfitri",
    "ta": "தீபாவளி பண்டிகை விடுமுறை",
}
CLOSURE = ClosureNotice(
    id="closure-2024-03-26",
    start=date(2024, 3, 26),
    end=date(2024, 3, 27),
    resume=date(2024, 3, 28),
    reason="our annual team bonding event",
    outlets=("Orchard", "Tampines"),
    all_outlets=False,
    announce_days_before=7,
    remind_days_before=1,
    translations=tuple(("reason", lang, text) for lang, text in REASONS.items()),
)
FONTS = resources.files("broadcaster") / "assets" / "fonts"


def hours_change(opens: str, closes: str) -> HoursNotice:
    """The same days, open from ``opens`` to ``closes``."""
    fields = {k: v for k, v in asdict(CLOSURE).items() if k != "kind"}
    return HoursNotice(**fields, opens=opens, closes=closes)


def told_in(language: str, notice: ClosureNotice = CLOSURE) -> dict[str, Any]:
    """The facts of the notice as a channel tells it in ``language`` (its variant)."""
    return variant(notice, [language], SITE.all_languages[0]).facts()


# CLDR's dates, as ICU writes them ---------------------------------------------------------

INTL = """
import { readFileSync } from 'node:fs'
const asked = JSON.parse(readFileSync(0, 'utf8'))
const day = (iso) => new Date(iso + 'T00:00:00Z')
const out = {}
for (const [language, dates] of Object.entries(asked)) {
  const tag = language + '-SG', utc = { timeZone: 'UTC' }
  const monthDay = new Intl.DateTimeFormat(tag, { ...utc, month: 'long', day: 'numeric' })
  const weekday = new Intl.DateTimeFormat(tag, { ...utc, weekday: 'long' })
  const full = new Intl.DateTimeFormat(tag, { ...utc, dateStyle: 'full' })
  const and = new Intl.ListFormat(tag, { type: 'conjunction' })
  out[language] = {
    monthDay: dates.map((d) => monthDay.format(day(d))),
    weekday: dates.map((d) => weekday.format(day(d))),
    full: dates.map((d) => full.format(day(d))),
    and: and.format(dates.slice(0, 2).map((d) => weekday.format(day(d)))),
    outlets: and.format(['Orchard', 'Tampines']),
  }
}
process.stdout.write(JSON.stringify(out))
"""


@pytest.fixture(scope="module")
def icu() -> dict[str, dict[str, Any]]:
    """For each language in Singapore: the closure's start, end and reopening day as ICU
    writes them (month and day, weekday, full date) and two weekdays as a list."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: install Node.js 20 (its Intl is the reference for dates)")
    days = [CLOSURE.start.isoformat(), CLOSURE.end.isoformat(), CLOSURE.resume.isoformat()]
    done = subprocess.run(
        [node, "--input-type=module", "-e", INTL],
        input=json.dumps(dict.fromkeys(LANGUAGES, days)),
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return answer


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_closure_card_says_its_dates_as_cldr_writes_them_in_its_language(
    language: str, icu: dict[str, dict[str, Any]]
) -> None:
    text = card_text("announce", SITE, told_in(language))
    words, want = WORDS[language], icu[language]
    start, end, _ = want["monthDay"]
    assert text.headline == words.span.format(start=start, end=end)
    assert text.subline == want["and"]  # Tuesday and Wednesday, 星期二和星期三, ...
    assert text.footer == words.open_again.format(day=want["full"][2])
    assert text.kicker == words.closed[:1].upper() + words.closed[1:]
    where = words.outlets.format(names=want["outlets"])
    reason = REASONS.get(language, CLOSURE.reason).rstrip("。")  # the card ends it once
    assert text.detail == words.because.format(where=where, reason=reason)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reopening_card_names_the_day_and_its_weekday_as_cldr_does(
    language: str, icu: dict[str, dict[str, Any]]
) -> None:
    text = card_text("reopen", SITE, told_in(language))
    want = icu[language]
    assert (text.headline, text.subline) == (want["monthDay"][2], want["weekday"][2])
    assert text.kicker == WORDS[language].reopened


def test_the_card_speaks_the_variants_language_else_the_sites_default() -> None:
    chinese_first = SITE.model_copy(update={"languages": ["zh", "en"], "language": "zh"})
    assert card_text("announce", chinese_first, CLOSURE.facts()).kicker == WORDS["zh"].closed
    assert card_text("announce", SITE, CLOSURE.facts()).kicker == "Closed"
    combined = variant(CLOSURE, ["ms", "zh"], "en").facts()  # one post in both: the first
    assert card_text("announce", SITE, combined).kicker == "Ditutup"
    french = CLOSURE.facts() | {"language": "fr"}  # no words for it: English throughout
    assert card_text("announce", SITE, french).footer == "Open again Thursday, 28 March 2024"


def test_an_hours_change_gives_its_times_in_the_cards_language() -> None:
    text = card_text("remind", SITE, told_in("zh", hours_change("09:00", "14:00")))
    assert text.kicker == "提醒：营业时间 上午9:00–下午2:00"
    assert text.footer == "2024年3月28日星期四恢复正常营业时间"


# A glyph for every character --------------------------------------------------------------


@cache
def cmap(script: Script, weight: str) -> frozenset[int]:
    """The characters the font the card uses for ``script`` has glyphs for (fontTools)."""
    if script == "latin":
        path = resources.files("font_source_sans_pro") / "files" / f"SourceSansPro-{weight}.ttf"
    else:
        path = FONTS / card_fonts.NOTO[script]
    with resources.as_file(path) as file, TTFont(str(file), lazy=True) as font:
        return frozenset(font.getBestCmap())


def drawn(text: CardText) -> list[str]:
    """Every string the card draws, as it draws them (capitals, no-break spaces, ellipses)."""
    fields = [value for name, value in asdict(text).items() if name != "alt"]
    return [*fields, text.site.upper(), text.kicker.upper(), "\u00a0…"]


def missing_glyphs(text: CardText) -> list[tuple[str, Script]]:
    """The characters drawn in a font that has no glyph for them (a box on the card)."""
    return [
        (char, script)
        for line in drawn(text)
        for script, part in runs(line)
        for char in part
        for weight in ("Regular", "Semibold", "Bold")
        if ord(char) not in cmap(script, weight)
    ]


CARDS = {
    **{f"closure-{lang}": ("announce", told_in(lang)) for lang in LANGUAGES},
    "chinese-reason-on-english": ("announce", CLOSURE.facts() | {"reason": REASONS["zh"]}),
    "tamil-reason-on-chinese": ("remind", told_in("zh") | {"reason": REASONS["ta"]}),
    **{f"reopen-{lang}": ("reopen", told_in(lang)) for lang in LANGUAGES},
    **{f"cancel-{lang}": ("cancel", told_in(lang)) for lang in LANGUAGES},
    **{
        f"hours-{lang}": (
            "update",
            told_in(lang, hours_change("09:00", "21:30")),
        )
        for lang in LANGUAGES
    },
}


@pytest.mark.parametrize(("occasion", "facts"), list(CARDS.values()), ids=list(CARDS))
def test_every_character_on_the_card_has_a_glyph_in_the_font_it_is_drawn_in(
    occasion: str, facts: dict[str, Any]
) -> None:
    text = card_text(occasion, SITE, facts)
    assert missing_glyphs(text) == []
    assert uncovered(" ".join(drawn(text))) == []


def test_each_script_is_drawn_in_its_own_font() -> None:
    text = card_text("announce", SITE, CLOSURE.facts() | {"reason": REASONS["zh"]})
    assert [script for script, _ in runs(text.detail)] == ["latin", "han"]
    tamil = card_text("announce", SITE, told_in("ta"))
    assert {script for script, _ in runs(tamil.footer)} == {"latin", "tamil"}  # digits: Latin


def test_a_hanzi_outside_the_fonts_subset_is_caught_and_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rare = "喆"  # in names (陈喆), not in GB 2312
    text = card_text("announce", SITE, told_in("zh") | {"reason": f"{rare}医生休假"})
    assert missing_glyphs(text) == [(rare, "han")] * 3  # what the glyph test would catch
    with caplog.at_level(logging.WARNING, logger="broadcaster.cards"):
        render_card(text)
    assert f"the card's Chinese font has no {rare}" in caplog.text


def test_the_chinese_font_holds_all_of_gb2312_and_its_subset_definition() -> None:
    chinese = cmap("han", "Regular")
    assert {ord(char) for char in cjk_subset()} <= chinese
    hanzi = [c for c in cjk_subset() if "\u4e00" <= c <= "\u9fff"]
    assert len(hanzi) == 6763  # GB 2312 levels 1 and 2
    for char in "，。、：；！？（）《》「」“”…—～·":
        assert ord(char) in chinese, char


# The picture, in each language --------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_languages_card_is_a_deterministic_jpeg_with_its_words_drawn(language: str) -> None:
    text = card_text("announce", SITE, told_in(language))
    data = render_card(text)
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("JPEG", SIZE) and render_card(text) == data
    kicker = image.crop((96, 330, 984, 390)).convert("L")  # the kicker's band, in accent ink
    assert sum(kicker.histogram()[120:]) > 1500  # drawn, not left blank


def test_chinese_breaks_between_characters_but_not_inside_a_date_or_before_a_comma() -> None:
    face = Face("Regular", 42)
    assert [t for t, _ in tokens("3月26日至3月27日")] == ["3月26日", "至3月27日"]
    assert [t for t, _ in tokens("农历新年，全体")] == ["农", "历", "新", "年，", "全", "体"]
    lines = face.wrap("因" + "农历新年，全体员工休假。" * 6, 600)
    assert len(lines) > 1 and all(face.length(line) <= 600 for line in lines)
    assert not any(line[0] in card_fonts.NO_START for line in lines)


def test_a_tamil_word_too_long_for_a_line_is_cut_between_graphemes() -> None:
    face = Face("Bold", 150)
    word = "ஒருங்கிணைப்புநிகழ்வுகள்"
    lines = face.wrap(word, 888)
    assert len(lines) > 1 and "".join(lines) == word
    cut = [grapheme for line in lines for grapheme in card_fonts.graphemes(line)]
    assert cut == card_fonts.graphemes(word)  # every cut falls between two graphemes
    assert not any(unicodedata.category(line[0]).startswith("M") for line in lines)


# Tamil, shaped as HarfBuzz shapes it -------------------------------------------------------

TAMIL_SAMPLES = {  # a conjunct, a vowel sign drawn before its consonant, a ligature, a split
    "kssa": "க்ஷ",  # vowel sign, and the card's own words
    "tuesday": "செவ்வாய்",
    "shri": "ஸ்ரீ",
    "ko": "கொ",
    "closed": WORDS["ta"].closed,  # one run each: spaces and digits are drawn in the Latin font
    "reopened": WORDS["ta"].reopened.split()[-1],
}


def harfbuzz(text: str, wght: int) -> tuple[int, list[tuple[int, int, int, int]]]:
    """HarfBuzz's shaping of ``text`` in Noto Sans Tamil at ``wght``: the font's units per
    em, and (glyph id, x advance, x offset, y offset) for each glyph."""
    import uharfbuzz as hb

    with resources.as_file(FONTS / card_fonts.NOTO["tamil"]) as file:
        face = hb.Face(hb.Blob.from_file_path(str(file)))
    font = hb.Font(face)
    font.set_variations({"wght": wght})
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    buffer.language = "ta"
    hb.shape(font, buffer, {})
    placed = zip(buffer.glyph_infos, buffer.glyph_positions, strict=True)
    return face.upem, [(i.codepoint, p.x_advance, p.x_offset, p.y_offset) for i, p in placed]


def glyphs_by_number(tmp_path: Path, ids: list[int]) -> Path:
    """Noto Sans Tamil with each glyph in ``ids`` also reachable as U+E000 + its id, so
    Pillow can draw exactly that glyph with no shaping at all."""
    path = tmp_path / "numbered.ttf"
    with resources.as_file(FONTS / card_fonts.NOTO["tamil"]) as file, TTFont(str(file)) as font:
        order = font.getGlyphOrder()
        for table in font["cmap"].tables:
            if table.isUnicode():
                table.cmap.update({0xE000 + gid: order[gid] for gid in ids})
        font.save(str(path))
    return path


def picture(draw_on: Any) -> Image.Image:
    """White ink on black, in grey."""
    image = Image.new("RGB", (1000, 260), (0, 0, 0))
    draw_on(ImageDraw.Draw(image))
    return image.convert("L")


def difference(a: Image.Image, b: Image.Image) -> int:
    """How many pixels differ by more than a quarter of full ink."""
    return sum(ImageChops.difference(a, b).histogram()[64:])


@pytest.mark.skipif(not features.check("raqm"), reason="this Pillow has no libraqm")
@pytest.mark.parametrize("weight", ["Regular", "Bold"])
@pytest.mark.parametrize("sample", TAMIL_SAMPLES.values(), ids=TAMIL_SAMPLES.keys())
def test_tamil_on_the_card_is_exactly_harfbuzzs_glyphs_where_harfbuzz_puts_them(
    tmp_path: Path, sample: str, weight: card_fonts.Weight
) -> None:
    size, top = 110, 40
    face = Face(weight, size)
    card = picture(lambda draw: face.draw(draw, (20, top), sample, (255, 255, 255)))
    upem, shaped = harfbuzz(sample, card_fonts.WGHT[weight])
    numbered = ImageFont.truetype(
        str(glyphs_by_number(tmp_path, [g for g, *_ in shaped])),
        size,
        layout_engine=ImageFont.Layout.BASIC,
    )
    numbered.set_variation_by_axes(card_fonts._axes(numbered, card_fonts.WGHT[weight]))

    def place_each_glyph(draw: ImageDraw.ImageDraw) -> None:
        pen, scale = 0, size / upem
        for gid, advance, x_offset, y_offset in shaped:
            where = (20 + (pen + x_offset) * scale, top + face.ascent - y_offset * scale)
            draw.text(where, chr(0xE000 + gid), font=numbered, fill=(255, 255, 255), anchor="ls")
            pen += advance

    reference = picture(place_each_glyph)
    basic = ImageFont.truetype(numbered.path, size, layout_engine=ImageFont.Layout.BASIC)
    basic.set_variation_by_axes(card_fonts._axes(basic, card_fonts.WGHT[weight]))
    unshaped = picture(
        lambda draw: draw.text(
            (20, top + face.ascent), sample, font=basic, fill=(255, 255, 255), anchor="ls"
        )
    )
    ink = sum(card.histogram()[64:])
    assert ink > 1000
    assert difference(card, reference) <= ink // 200  # the same glyphs, in the same places
    assert difference(unshaped, reference) > ink // 20  # and code points alone are not that


def test_without_raqm_the_card_falls_back_to_basic_layout_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import PIL.features

    real_check = PIL.features.check
    monkeypatch.setattr(PIL.features, "check", lambda name: name != "raqm" and real_check(name))
    card_fonts.layout_engine.cache_clear()
    card_fonts.font.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="broadcaster.cards"):
            for language in LANGUAGES:  # drawn all the same, Tamil unshaped
                assert render_card(card_text("announce", SITE, told_in(language)))
        assert card_fonts.layout_engine() == ImageFont.Layout.BASIC
        assert caplog.text.count("no libraqm") == 1
    finally:
        card_fonts.layout_engine.cache_clear()
        card_fonts.font.cache_clear()
