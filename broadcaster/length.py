"""One shared policy for text that is too long for a channel.

Shorten at a word boundary and end with an ellipsis, but never cut a link: links are found
as the platforms find them (:func:`broadcaster.counting.bluesky.link_spans`, which also
holds every URL twitter-text sees, bare domains included), the last one is kept whole after
the shortened prose, and the prose is never cut inside another -- a clipped link opens the
wrong page, which is worse than a clipped sentence. Text without spaces (Chinese, Japanese)
is cut between grapheme clusters, so an emoji or a letter with its combining marks is never
split. HTML (Telegram) is measured by its visible text; if it must be shortened, it is
shortened as plain text and escaped again, since cutting markup could leave a tag open.

A link that does not fit even alone is left out, never clipped: :func:`shorten` names it in
``dropped`` so that ``validate`` and ``plan`` can say so.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, replace

import regex

from broadcaster.channels.base import Limits
from broadcaster.counting.bluesky import link_spans

ELLIPSIS = "…"
TRAILING = " ,.;:–-\n\t，。、；："
#: back off to the last space only if that loses at most this share of the kept prose
WORD_SLACK = 0.3
#: characters X refuses in a post (twitter-text's invalid characters): invisible, dropped
X_INVALID = regex.compile("[\ufffe\ufeff\uffff]")


@dataclass(frozen=True)
class Fitted:
    """A shortened text, and the links left out because even alone they were too long."""

    text: str
    dropped: tuple[str, ...] = ()


def fit(text: str, limits: Limits) -> str:
    """``text`` unchanged if it fits, else shortened to fit ``limits``."""
    return shorten(text, limits).text


def shorten(text: str, limits: Limits) -> Fitted:
    """``text`` made to fit ``limits``, with every link in it whole or left out."""
    if limits.fits(text):
        return Fitted(text)
    if limits.markup == "html":
        plain = shorten(limits.visible(text), replace(limits, markup="plain"))
        return Fitted(html.escape(plain.text, quote=False), plain.dropped)
    if limits.unit == "x-weighted":
        text = X_INVALID.sub("", text)
        if limits.fits(text):
            return Fitted(text)
    prose, link = _split_link(text)
    if link and not limits.fits(link):
        return Fitted(shorten(prose, limits).text if prose else "", (link,))
    tail = ("\n\n" if prose and link else "") + link
    whole = set(_links(text))
    clusters = regex.findall(r"\X", prose)
    spans = link_spans(prose)

    def candidate(n: int) -> str:
        kept = _clip(clusters, n, spans)
        return kept + ELLIPSIS + tail if kept else tail.strip() or ELLIPSIS

    def good(n: int) -> bool:
        text = candidate(n)
        return limits.fits(text) and set(_links(text)) <= whole

    return Fitted(candidate(_largest(len(clusters), good)))


def _largest(count: int, good: Callable[[int], bool]) -> int:
    """The largest n in 0..count with good(n), by bisection (0 if none is)."""
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        if good(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _links(text: str) -> list[str]:
    return [text[a:b] for a, b in link_spans(text)]


def _split_link(text: str) -> tuple[str, str]:
    """The prose without its last link, and that link."""
    spans = link_spans(text)
    if not spans:
        return text, ""
    start, end = spans[-1]
    prose = (text[:start].rstrip(" ") + text[end:]).rstrip()
    return prose, text[start:end]


def _clip(clusters: list[str], n: int, spans: list[tuple[int, int]]) -> str:
    """The first ``n`` clusters ended cleanly: never inside a link, at the last space when
    that is near, and with a space between a link and the ellipsis that follows."""
    prefix = "".join(clusters[:n])
    following = clusters[n] if n < len(clusters) else ""
    inside = [a for a, b in spans if a < len(prefix) < b]
    if inside:
        prefix = prefix[: inside[0]]
    elif following and not following.isspace():  # the cut falls inside a word
        space = max(prefix.rfind(" "), prefix.rfind("\n"))
        if space > 0 and len(prefix) - space <= WORD_SLACK * len(prefix):
            prefix = prefix[:space]
    prefix = prefix.rstrip(TRAILING)
    if any(b == len(prefix) for _, b in spans):
        prefix += " "
    return prefix
