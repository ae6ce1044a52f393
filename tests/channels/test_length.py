"""The shared length policy: count as each platform counts, shorten at a word, keep the link."""

from __future__ import annotations

import pytest
import regex

from broadcaster.channels.base import Limits
from broadcaster.counting.bluesky import link_spans
from broadcaster.length import ELLIPSIS, Fitted, fit, shorten

URL = "https://www.glow-aesthetics.sg/blog/botox-depression/"
FAMILY = "👩‍👩‍👧‍👦"  # one grapheme: 7 code points, 11 UTF-16 units, 25 bytes
TELEGRAM = Limits(4096, unit="utf16", part="html", markup="html")
MASTODON = Limits(500, unit="graphemes", url_length=23)
BLUESKY = Limits(300, unit="graphemes", max_bytes=3000)


def graphemes(text: str) -> list[str]:
    return list(regex.findall(r"\X", text))


# Measuring ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "chars", "graphemes", "utf16", "bytes"),
    [
        ("Closed", 6, 6, 6, 6),
        (FAMILY, 7, 1, 11, 25),
        ("😀", 1, 1, 2, 4),
        ("診所休息", 4, 4, 4, 12),
        ("Cafe\u0301", 5, 4, 5, 6),  # e + combining acute: one grapheme, two code points
        ("🇸🇬", 2, 1, 4, 8),  # a flag is two regional indicators
    ],
)
def test_each_unit_counts_as_its_platform_does(
    text: str, chars: int, graphemes: int, utf16: int, bytes: int
) -> None:
    counts = {unit: Limits(unit=unit).measure(text) for unit in ("chars", "graphemes", "utf16")}
    counts["bytes"] = Limits(unit="bytes").measure(text)
    assert counts == {"chars": chars, "graphemes": graphemes, "utf16": utf16, "bytes": bytes}


@pytest.mark.parametrize(
    ("text", "count"),
    [
        (f"Read {URL}", 5 + 23),
        (f"Read {URL}, then come in.", 5 + 23 + 15),  # the comma is not part of the URL
        (f"({URL}) {URL}", 1 + 23 + 2 + 23),
    ],
)
def test_urls_count_their_reserved_length(text: str, count: int) -> None:
    assert MASTODON.measure(text) == count


def test_html_counts_only_the_visible_text() -> None:
    assert TELEGRAM.measure('<b>Closed</b> &amp; <a href="https://x.example/">back</a>') == 13
    assert TELEGRAM.visible("<i>R&amp;D &lt;team&gt;</i>") == "R&D <team>"


def test_two_ceilings_must_both_hold() -> None:
    assert BLUESKY.fits("x" * 300) and not BLUESKY.fits("x" * 301)
    assert BLUESKY.measure(FAMILY * 150) == 150 and not BLUESKY.fits(FAMILY * 150)


def test_trailing_punctuation_is_not_part_of_a_url() -> None:
    text = f"See {URL}. Or ({URL}): {URL}!"
    assert [text[a:b] for a, b in link_spans(text)] == [URL, URL, URL]


# Shortening ---------------------------------------------------------------------------------


def test_text_that_fits_is_untouched() -> None:
    text = f"Closed on 26 Mar. {URL}"
    assert fit(text, MASTODON) is text


def test_prose_is_cut_at_a_word_and_the_link_kept_whole_at_the_end() -> None:
    text = "The quick brown fox jumps over the lazy dog again and again " + URL
    result = fit(text, Limits(100))
    prose, link = result.split("\n\n")
    assert link == URL and prose.endswith(ELLIPSIS) and len(result) <= 100
    assert text.startswith(prose.removesuffix(ELLIPSIS))
    assert prose.removesuffix(ELLIPSIS).split(" ")[-1] in text.split(" ")  # whole words


def test_a_link_in_the_middle_moves_to_the_end_intact() -> None:
    text = f"Read {URL} for everything about our new treatment rooms and opening hours."
    result = fit(text, Limits(80))
    assert result.endswith("\n\n" + URL) and result.count(URL) == 1 and len(result) <= 80


@pytest.mark.parametrize(
    ("text", "limits"),
    [
        ("診所將於三月二十六日至二十七日休息，三月二十八日恢復營業。" * 20, BLUESKY),
        ("Cafe\u0301 " * 200, BLUESKY),
        (FAMILY * 200, BLUESKY),  # 5000 bytes in 200 graphemes: the byte ceiling binds
        ("😀" * 3000, TELEGRAM),
        ("🇸🇬" * 200, MASTODON),
    ],
)
def test_no_grapheme_is_ever_split(text: str, limits: Limits) -> None:
    result = fit(f"{text} {URL}", limits)
    assert limits.fits(result) and result.endswith(URL)
    prose = result.removesuffix(URL).rstrip().removesuffix(ELLIPSIS)
    assert prose and text.startswith(prose)
    assert graphemes(text)[: len(graphemes(prose))] == graphemes(prose)


def test_text_without_spaces_keeps_as_much_as_fits() -> None:
    text = "診所將於三月二十六日休息" * 40
    result = fit(text, Limits(50, unit="graphemes"))
    assert len(graphemes(result)) == 50 and result.endswith(ELLIPSIS)


def test_over_long_html_becomes_escaped_plain_text() -> None:
    html = "<b>R&amp;D &lt;team&gt;</b> " + "news " * 30 + URL
    result = fit(html, Limits(80, unit="utf16", part="html", markup="html"))
    assert "<b>" not in result and result.startswith("R&amp;D &lt;team&gt; news")
    assert result.endswith(URL) and TELEGRAM.measure(result) <= 80


def test_when_only_the_link_fits_only_the_link_is_sent() -> None:
    assert fit("Words " * 20 + URL, Limits(len(URL) + 3)) == URL


def test_a_link_too_long_to_fit_alone_is_left_out_and_named_never_clipped() -> None:
    assert shorten(URL, Limits(10)) == Fitted("", (URL,))
    result = shorten("Closed on Friday for the team day. " + URL, Limits(30))
    assert result.dropped == (URL,) and "http" not in result.text
    assert result.text == "Closed on Friday for the team…"


def test_no_link_in_the_prose_is_ever_cut() -> None:
    other = "glowaesthetics.sg/closures"  # a bare domain: a link to X and Bluesky alike
    text = f"See {other} for the hours, and read about our treatments at {URL}"
    for limit in range(24, len(text)):
        result = fit(text, Limits(limit))
        kept = [result[a:b] for a, b in link_spans(result)]
        assert set(kept) <= {other, URL}, (limit, result)


def test_a_link_at_the_cut_is_kept_apart_from_the_ellipsis() -> None:
    """Bluesky's app would run the link on into "…" and open a page that does not exist."""
    text = "Hours: glowaesthetics.sg/hours, and much more news. " * 3 + URL
    cut_after_link = 0
    for limit in range(len(URL) + 10, len(text)):
        result = fit(text, Limits(limit))
        for _, end in link_spans(result):
            assert not result[end:].startswith(ELLIPSIS), result
            cut_after_link += result[end:].startswith(" " + ELLIPSIS)
    assert cut_after_link  # the case did come up
