"""The facets Bluesky's own app gives a post: links and tags, with UTF-8 byte offsets.

Bluesky shows as a link, or as a tag, only what a facet says; its app makes them with
``@atproto/api``'s ``detectFacets``, and so do we -- with one change where it would open the
wrong page. ``detectFacets`` runs a link to the next space (``…/notice。我们将`` or
``…/team-day”`` become dead links), strips only one trailing full stop, skips a URL in
upper case or after a quote, and misses bare domains with a hyphen. Here a link starts
wherever ``detectFacets`` or twitter-text sees one, and ends where its writer ended it: at
white space, at punctuation or a symbol outside ASCII, without trailing ``.,;:!?'"`` and
without a closing parenthesis it does not open (``…/Botulinum_toxin_(medicine)`` keeps
its own). Tags and cashtags are exactly ``detectFacets``'. Mentions need the handle's DID,
which this module cannot know, so it makes none.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import regex

LINK = "app.bsky.richtext.facet#link"
TAG = "app.bsky.richtext.facet#tag"
MAX_TAG = 64
#: JavaScript's ``\s``
_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ZERO_WIDTH = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
#: a scheme where detectFacets looks for one: at the start, after a space or a parenthesis
_SCHEME = regex.compile(rf"(?:^|(?<=[{_SPACE}(]))(?i:https?://)(?=[^{_SPACE}])")
_TAG = regex.compile(
    rf"(^|[{_SPACE}])[#＃]((?!\ufe0f)[^{_SPACE}{_ZERO_WIDTH}]*"
    rf"[^0-9{_SPACE}\p{{P}}{_ZERO_WIDTH}]+[^{_SPACE}{_ZERO_WIDTH}]*)?"
)
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
_CASHTAG = regex.compile(
    rf"(^|[{_SPACE}(])\$([A-Za-z][A-Za-z0-9]{{0,4}})(?=[{_SPACE}]|\Z|[.,;:!?)\"'\u2019])"
)
_TRIM = ".,;:!?'\""


def link_spans(text: str) -> list[tuple[int, int]]:
    """Code point spans of the links in ``text``, in order, each exactly a written URL."""
    from broadcaster.counting import x  # twitter-text: imported when a text is measured

    starts = sorted({m.start() for m in _SCHEME.finditer(text)} | {a for a, _ in x.urls(text)})
    spans: list[tuple[int, int]] = []
    for start in starts:
        if spans and start < spans[-1][1]:
            continue
        end = _url_end(text, start)
        if end > start:
            spans.append((start, end))
    return spans


def facets(text: str) -> list[dict[str, Any]]:
    """The link facets, then the tag facets, as ``app.bsky.richtext.facet`` objects."""
    found = [
        _facet(text, a, b, {"$type": LINK, "uri": uri(text[a:b])}) for a, b in link_spans(text)
    ]
    return found + _tags(text)


def uri(written: str) -> str:
    """What a link opens: the URL with its scheme in lower case, or https:// before a domain."""
    scheme, sep, rest = written.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        return f"{scheme.lower()}://{rest}"
    return f"https://{written}"


def _url_end(text: str, start: int) -> int:
    end = start
    while end < len(text) and not _stops(text[end]):
        end += 1
    while end > start:
        last, kept = text[end - 1], text[start:end]
        if last in _TRIM or (last == ")" and kept.count("(") < kept.count(")")):
            end -= 1
        else:
            break
    return end


def _stops(char: str) -> bool:
    """A character no written URL goes on through: space, ``<>"``, punctuation outside ASCII."""
    if char.isspace() or char in '<>"\ufeff':
        return True
    return ord(char) > 0x7F and unicodedata.category(char)[0] not in "LMN"


def _tags(text: str) -> list[dict[str, Any]]:
    found = []
    for match in _TAG.finditer(text):
        tag = match.group(2)
        if not tag:
            continue
        tag = _TRAILING_PUNCTUATION.sub("", tag.strip())
        if not tag or (_utf16_len(tag) > MAX_TAG and len(regex.findall(r"\X", tag)) > MAX_TAG):
            continue
        start = match.start() + len(match.group(1))
        found.append(_facet(text, start, start + 1 + len(tag), {"$type": TAG, "tag": tag}))
    for match in _CASHTAG.finditer(text):
        start = match.start() + len(match.group(1))
        ticker = match.group(2)
        feature = {"$type": TAG, "tag": "$" + ticker.upper()}
        found.append(_facet(text, start, start + 1 + len(ticker), feature))
    return found


def _facet(text: str, start: int, end: int, feature: dict[str, str]) -> dict[str, Any]:
    byte_start = len(text[:start].encode())
    byte_end = byte_start + len(text[start:end].encode())
    return {"index": {"byteStart": byte_start, "byteEnd": byte_end}, "features": [feature]}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
