"""Mastodon's count of a status, as its ``StatusLengthValidator`` makes it.

Every URL with a scheme counts as ``url_length`` characters (the instance's
``characters_reserved_per_url``, 23 by default), a mention ``@user@domain`` counts as
``@user``, and the rest is counted in grapheme clusters. Mastodon finds URLs with
twitter-text's extractor, except that its path may hold any character but white space,
``<>()?``: where a path goes on in letters twitter-text stops at (``/wiki/日本``), we count
those letters and Mastodon does not, so our count is never below Mastodon's.
"""

from __future__ import annotations

import regex
from twitter_text import extract_urls_with_indices

#: app/models/account.rb: USERNAME_RE and MENTION_RE (``[[:word:]]`` spelled out)
_WORD = r"[\p{L}\p{M}\p{Nd}\p{Pc}]"
MENTION = regex.compile(
    rf"(?<![=/\p{{L}}\p{{M}}\p{{Nd}}\p{{Pc}}])@(([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@{_WORD}+(?:[.-]+{_WORD}+)*)?)",
    regex.IGNORECASE,
)


def countable(text: str, url_length: int = 23) -> str:
    """``text`` as Mastodon counts it: each URL as that many ``x``, each mention shortened."""
    out, at = [], 0
    for url in extract_urls_with_indices(text, extract_urls_without_protocol=False):
        start, end = url["indices"]
        out += [text[at:start], "x" * url_length]
        at = end
    out.append(text[at:])
    return MENTION.sub(r"@\2", "".join(out))


def length(text: str, url_length: int = 23) -> int:
    """The length Mastodon checks against the instance's ``max_characters``."""
    return len(regex.findall(r"\X", countable(text, url_length)))
