"""One shared policy for text that is too long for a channel.

Shorten at a word boundary and end with an ellipsis, but never cut the link: the URL (the
last one in the text) is kept whole after the shortened prose, because a clipped link is
worse than a clipped sentence. Text without spaces (Chinese, Japanese) is cut between
grapheme clusters, so an emoji or a letter with its combining marks is never split. HTML
(Telegram) is measured by its visible text; if it must be shortened, it is shortened as
plain text and escaped again, since cutting markup could leave a tag open.
"""

from __future__ import annotations

import html
from dataclasses import replace

import regex

from broadcaster.channels.base import URL_PATTERN, Limits

ELLIPSIS = "…"
TRAILING = " ,.;:–-\n\t，。、；："
#: back off to the last space only if that loses at most this share of the kept prose
WORD_SLACK = 0.3


def fit(text: str, limits: Limits) -> str:
    """``text`` unchanged if it fits, else shortened to fit ``limits``."""
    if limits.fits(text):
        return text
    if limits.markup == "html":
        plain = replace(limits, markup="plain")
        return html.escape(fit(limits.visible(text), plain), quote=False)
    prose, tail = _split_link(text)
    clusters = regex.findall(r"\X", prose)

    def candidate(n: int) -> str:
        kept = _clip("".join(clusters[:n]), clusters[n] if n < len(clusters) else "")
        return kept + ELLIPSIS + tail if kept else tail.strip() or ELLIPSIS

    if not limits.fits(candidate(0)):
        return _link_only(tail.strip(), limits)
    low, high = 0, len(clusters)  # candidate(low) fits; find the largest n that does
    while low < high:
        middle = (low + high + 1) // 2
        if limits.fits(candidate(middle)):
            low = middle
        else:
            high = middle - 1
    return candidate(low)


def _split_link(text: str) -> tuple[str, str]:
    """The prose without its last URL, and that URL as a tail to append."""
    urls = list(URL_PATTERN.finditer(text))
    if not urls:
        return text, ""
    last = urls[-1]
    prose = (text[: last.start()].rstrip(" ") + text[last.end() :]).rstrip()
    return prose, ("\n\n" if prose else "") + last.group(0)


def _clip(prefix: str, following: str) -> str:
    """A prefix ended cleanly: at the last space when that is near, never inside a URL."""
    if following and not following.isspace():  # the cut falls inside a word
        inside = [m for m in URL_PATTERN.finditer(prefix) if m.end() == len(prefix)]
        if inside:
            prefix = prefix[: inside[0].start()]
        space = max(prefix.rfind(" "), prefix.rfind("\n"))
        if space > 0 and len(prefix) - space <= WORD_SLACK * len(prefix):
            prefix = prefix[:space]
    return prefix.rstrip(TRAILING)


def _link_only(url: str, limits: Limits) -> str:
    """Nothing but the link fits (or not even that): the link, clipped as a last resort."""
    clusters = regex.findall(r"\X", url)
    while clusters and not limits.fits("".join(clusters)):
        clusters.pop()
    return "".join(clusters)
