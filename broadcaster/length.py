"""One shared policy for text that is too long for a channel.

Shorten at a word boundary and end with an ellipsis, but never cut the link: the URL (the
last one in the text) is kept whole after the shortened prose, because a clipped link is
worse than a clipped sentence.
"""

from __future__ import annotations

from broadcaster.channels.base import URL_PATTERN, Limits

ELLIPSIS = "…"


def fit(text: str, limits: Limits) -> str:
    """``text`` unchanged if it fits, else shortened to fit ``limits``."""
    if limits.max_length is None or limits.measure(text) <= limits.max_length:
        return text
    urls = list(URL_PATTERN.finditer(text))
    tail = ""
    prose = text
    if urls:
        last = urls[-1]
        tail = "\n\n" + last.group(0)
        prose = (text[: last.start()] + text[last.end() :]).rstrip()
    words = prose.split(" ")
    while words:
        candidate = " ".join(words).rstrip(" ,.;:–-\n") + ELLIPSIS + tail
        if limits.measure(candidate) <= limits.max_length:
            return candidate
        words.pop()
    return (
        tail.strip()
        if limits.measure(tail.strip()) <= limits.max_length
        else tail.strip()[: limits.max_length]
    )
