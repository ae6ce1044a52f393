"""X's count of a post: twitter-text 3.1.0's ``parseTweet`` with its version 3 configuration.

The text is NFC-normalised, then walked in UTF-16 code units as twitter-text's JavaScript
does: a URL (as twitter-text's extractor finds it, bare domains on known TLDs included)
weighs 23, an emoji sequence twemoji-parser 11 knows weighs 2, any other code point 1 if it
lies in one of the light ranges and 2 otherwise (so does each half of a surrogate pair it
does not know as emoji). U+FFFE, U+FEFF and U+FFFF make a post invalid; so does nothing.

URLs come from ``twitter-text-parser`` (a Python port of twitter-text, equal to the npm
package's extractor on our corpus); its own ``parse_tweet`` is not used, because it counts
newer emoji and ``\\r\\n`` differently from twitter-text 3.1.0.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from twitter_text import extract_urls_with_indices

from broadcaster.counting.twemoji import PATTERN

MAX_WEIGHTED = 280
URL_WEIGHT = 23
#: (first, last, weight): twitter-text's config v3 ``ranges``; everything else weighs 2
LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
INVALID = frozenset("\ufffe\ufeff\uffff")
_EMOJI = re.compile(PATTERN)


@dataclass(frozen=True)
class Tweet:
    """``parseTweet``'s answer: the weighted length and whether X accepts the text."""

    weighted_length: int
    valid: bool


def urls(text: str) -> list[tuple[int, int]]:
    """Code point spans of the URLs twitter-text finds (with or without a scheme)."""
    return [(u["indices"][0], u["indices"][1]) for u in extract_urls_with_indices(text)]


def parse(text: str) -> Tweet:
    """The weighted length and validity of ``text`` as X counts them."""
    return _parse(text)


@lru_cache(maxsize=4096)  # fit() measures the same candidates more than once
def _parse(text: str) -> Tweet:
    normal = unicodedata.normalize("NFC", text)
    units = _utf16(normal)
    starts = {_utf16_index(normal, a): _utf16_index(normal, b) for a, b in urls(normal)}
    emoji = {m.start(): m.end() for m in _EMOJI.finditer(units)}
    total, valid, i = 0, True, 0
    while i < len(units):
        if i in starts:
            total, i = total + URL_WEIGHT * 100, starts[i]
        elif i in emoji:
            total, i = total + 200, emoji[i]
        else:
            i += 2 if "\ud800" <= units[i] <= "\udbff" and i + 1 < len(units) else 1
            total += _weight(units[i - 1])
        valid = valid and units[i - 1] not in INVALID
    length = total // 100
    return Tweet(length, valid and 0 < length <= MAX_WEIGHTED)


def weighted_length(text: str) -> int:
    return parse(text).weighted_length


def _weight(unit: str) -> int:
    code = ord(unit)
    return 100 if any(first <= code <= last for first, last in LIGHT) else 200


def _utf16(text: str) -> str:
    """``text`` as UTF-16 code units, one str character each (astral ones as two surrogates)."""
    data = text.encode("utf-16-le")
    return "".join(chr(int.from_bytes(data[i : i + 2], "little")) for i in range(0, len(data), 2))


def _utf16_index(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2
