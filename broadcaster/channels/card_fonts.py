"""The notice card's type: one font per script, chosen run by run, and text shaped by HarfBuzz.

A card can mix scripts on one line (a Chinese reason on an English card, an outlet's Latin
name on a Tamil one), and no single font covers them all. So a line is cut into runs by
script and each run is drawn in the font made for it, on one shared baseline:

- Han, kana and CJK punctuation: Noto Sans SC (Simplified Chinese), a subset of its
  variable font holding GB 2312 (the 6,763 hanzi of levels 1 and 2, with its punctuation and
  full-width forms) and the punctuation Chinese text uses besides: :func:`cjk_subset`, made by
  ``scripts/subset_cjk_font.py``. A hanzi outside it would be drawn as a box, and a warning
  names it (:func:`uncovered`).
- Tamil: Noto Sans Tamil (variable, unmodified).
- everything else, Latin (English, Malay), digits, spaces and common punctuation: Source
  Sans Pro, from the ``font-source-sans-pro`` package -- the Latin of Noto Sans CJK is Source
  Sans, so the scripts belong together.

The Noto fonts ship in the wheel under ``broadcaster/assets/fonts`` with their SIL Open Font
Licence (README.md there says where each came from): nothing is fetched at run time and
nothing depends on the machine's own fonts.

Tamil needs complex text layout (a consonant and its pulli, ``க்ஷ``, vowel signs drawn before
their consonant), which Pillow does with libraqm (HarfBuzz and FriBiDi; Pillow's wheels bundle
them). Without raqm Pillow falls back to its basic layout, which draws code points one after
another: readable for Latin and Chinese, wrong for Tamil, so a warning says so, once.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Literal

import regex

if TYPE_CHECKING:  # PIL is imported when a card is drawn: most runs draw none
    from PIL import ImageDraw, ImageFont

log = logging.getLogger("broadcaster.cards")

Script = Literal["latin", "han", "tamil"]
Weight = Literal["Regular", "Semibold", "Bold"]
Fill = tuple[int, int, int]

#: the variable Noto fonts' ``wght`` for Source Sans Pro's named weights
WGHT: dict[Weight, int] = {"Regular": 400, "Semibold": 600, "Bold": 700}
NOTO = {"han": "NotoSansSC-GB2312.ttf", "tamil": "NotoSansTamil.ttf"}
#: the language each script's run is shaped as (HarfBuzz's ``locl`` forms)
RUN_LANGUAGE: dict[Script, str | None] = {"latin": None, "han": "zh-Hans", "tamil": "ta"}
#: not at the start of a line (closing punctuation) / not at its end (opening)
NO_START = frozenset("，。、：；！？）」』】》〉〕”’…·％,.:;!?)]}%")
NO_END = frozenset("（「『【《〈〔“‘([{")
_WIDE = regex.compile(
    r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Bopomofo}\u2e80-\u2fdf\u3000-\u303f\u3200-\u33ff"
    r"\ufe30-\ufe4f\uff00-\uffef]"
)
_TAMIL = regex.compile(r"[\u0b80-\u0bff]")
_GRAPHEME = regex.compile(r"\X")


# -- which font draws what ------------------------------------------------------------------


def script_of(char: str, before: Script = "latin") -> Script:
    """The font a character is drawn in: marks and joiners stay with the character before."""
    if _WIDE.match(char):
        return "han"
    if _TAMIL.match(char):
        return "tamil"
    if char in "\u200c\u200d" or unicodedata.category(char).startswith("M"):
        return before
    return "latin"


def runs(text: str) -> list[tuple[Script, str]]:
    """``text`` cut where its script changes: ``[("latin", "All outlets, for "), ("han",
    "农历新年")]``."""
    found: list[tuple[Script, str]] = []
    for char in text:
        script = script_of(char, found[-1][0] if found else "latin")
        if found and found[-1][0] == script:
            found[-1] = (script, found[-1][1] + char)
        else:
            found.append((script, char))
    return found


def cjk_subset() -> str:
    """Every character the card's Chinese font holds (``scripts/subset_cjk_font.py`` cuts
    Noto Sans SC down to these): all of GB 2312 -- its 6,763 hanzi of levels 1 and 2, its
    punctuation, kana and full-width forms -- with ASCII, CJK Symbols and Punctuation, the
    full-width forms and the dashes and quotes Chinese text uses that GB 2312 lacks."""
    chars = {chr(code) for code in range(0x20, 0x7F)}
    chars |= {chr(code) for code in range(0x3000, 0x3040)}
    chars |= {chr(code) for code in range(0xFF01, 0xFF5F)}
    chars |= set("–—‘’“”…·•‧")
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(sorted(chars))


@cache
def _cjk_covered() -> frozenset[str]:
    return frozenset(cjk_subset())


def uncovered(text: str) -> list[str]:
    """The characters of ``text`` that its fonts cannot draw: hanzi outside GB 2312."""
    return [
        c for script, part in runs(text) if script == "han" for c in part if c not in _cjk_covered()
    ]


# -- fonts ----------------------------------------------------------------------------------


@cache
def layout_engine() -> ImageFont.Layout:
    """Raqm (HarfBuzz shaping) when this Pillow has it; else basic layout, said once."""
    from PIL import ImageFont, features

    if features.check("raqm"):
        return ImageFont.Layout.RAQM
    log.warning(
        "this Pillow has no libraqm: notice cards are drawn without text shaping, so Tamil "
        "is drawn wrong (install Pillow's own wheel, which bundles it)"
    )
    return ImageFont.Layout.BASIC


def run_language(script: Script) -> str | None:
    """The language HarfBuzz shapes a run as (basic layout takes none)."""
    from PIL import ImageFont

    return RUN_LANGUAGE[script] if layout_engine() == ImageFont.Layout.RAQM else None


@cache
def font(script: Script, weight: Weight, size: int) -> ImageFont.FreeTypeFont:
    """The font of one script at one weight and size (the Noto fonts are variable: their
    weight axis is set to the Latin weight's)."""
    from PIL import ImageFont

    if script == "latin":
        path = resources.files("font_source_sans_pro") / "files" / f"SourceSansPro-{weight}.ttf"
    else:
        path = resources.files("broadcaster") / "assets" / "fonts" / NOTO[script]
    with resources.as_file(path) as file:
        loaded = ImageFont.truetype(str(file), size, layout_engine=layout_engine())
    if script != "latin":
        loaded.set_variation_by_axes(_axes(loaded, WGHT[weight]))
    return loaded


def _axes(loaded: ImageFont.FreeTypeFont, wght: int) -> list[float]:
    """Each axis of a variable font at its default, but the weight at ``wght``."""
    return [
        float(wght if axis["name"] == b"Weight" else axis["default"] or 0)
        for axis in loaded.get_variation_axes()
    ]


# -- a face: text in mixed scripts at one weight and size -----------------------------------


@dataclass(frozen=True)
class Face:
    """Text at one weight and size, each run in its script's font, on the Latin baseline."""

    weight: Weight
    size: int

    @property
    def ascent(self) -> int:
        """How far below the top of a line its baseline lies (Source Sans Pro's ascent, so an
        English card is drawn where it was before there were other scripts)."""
        return font("latin", self.weight, self.size).getmetrics()[0]

    def length(self, text: str) -> float:
        return sum(self._run_length(script, part) for script, part in runs(text))

    def _run_length(self, script: Script, part: str) -> float:
        shaped = font(script, self.weight, self.size)
        return shaped.getlength(part, language=run_language(script))

    def draw(
        self,
        draw: ImageDraw.ImageDraw,
        xy: tuple[float, float],
        text: str,
        fill: Fill,
        spacing: int = 0,
    ) -> int:
        """Draw ``text`` with its top at ``xy``; ``spacing`` tracks Latin letters apart
        (Tamil and Chinese runs are drawn whole, so their shaping holds). Returns where its
        ink ends below: a Tamil vowel sign can reach deeper than Latin descenders."""
        x, baseline = xy[0], xy[1] + self.ascent
        bottom = int(baseline)
        for script, part in runs(text):
            shaped = font(script, self.weight, self.size)
            language = run_language(script)
            pieces = list(part) if spacing and script == "latin" else [part]
            for piece in pieces:
                where = (x, baseline)
                draw.text(where, piece, font=shaped, fill=fill, anchor="ls", language=language)
                ink = draw.textbbox(where, piece, font=shaped, anchor="ls", language=language)
                bottom = max(bottom, int(ink[3]))
                x += shaped.getlength(piece, language=language) + spacing
        return bottom

    def wrap(self, text: str, width: int) -> list[str]:
        """Lines no wider than ``width``: broken at spaces, and between Chinese characters
        (not before closing punctuation, after opening punctuation, or inside a number and
        its counter, ``3月26日``); a word too long for a line is cut between graphemes."""
        lines: list[str] = []
        for token, spaced in tokens(text):
            candidate = lines[-1] + (" " if spaced else "") + token if lines else token
            if lines and self.length(candidate) <= width:
                lines[-1] = candidate
                continue
            while self.length(token) > width and len(graphemes(token)) > 1:
                parts = graphemes(token)
                cut = max(
                    (i for i in range(1, len(parts)) if self.length("".join(parts[:i])) <= width),
                    default=1,
                )
                lines.append("".join(parts[:cut]))
                token = "".join(parts[cut:])
            lines.append(token)
        return lines

    def clip(self, text: str, width: int, spacing: int = 0) -> str:
        """``text`` shortened, a grapheme at a time, to end in an ellipsis within ``width``."""
        parts = graphemes(text)
        shown = text
        while parts and self._tracked(shown, spacing) > width:
            parts = parts[:-1]
            shown = "".join(parts).rstrip() + "…"
        return shown

    def _tracked(self, text: str, spacing: int) -> float:
        latin = sum(len(part) for script, part in runs(text) if script == "latin")
        return self.length(text) + spacing * latin


def graphemes(text: str) -> list[str]:
    """User-perceived characters: a Tamil consonant with its vowel sign is one."""
    return _GRAPHEME.findall(text)


def tokens(text: str) -> Iterator[tuple[str, bool]]:
    """The pieces a line may break between, each with whether a space came before it."""
    token, spaced, pending_space = "", False, False
    for part in graphemes(text):
        if part == " ":  # a no-break space (U+00A0) is not one: it holds its words together
            pending_space = bool(token) or pending_space
            continue
        if token and (pending_space or _breaks_between(token[-1], part[0])):
            yield token, spaced
            token, spaced = "", pending_space
        token += part
        pending_space = False
    if token:
        yield token, spaced


def _breaks_between(before: str, after: str) -> bool:
    """Whether a line may break between two characters with no space between them."""
    if after in NO_START or before in NO_END:
        return False
    wide_before, wide_after = bool(_WIDE.match(before)), bool(_WIDE.match(after))
    if (wide_before and after.isdigit()) or (before.isdigit() and wide_after):
        return False  # 3月, 26日: a number stays with its counter
    return wide_before or wide_after
