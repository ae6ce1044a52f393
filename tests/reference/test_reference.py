"""Our counting and links against the platforms' own code, on every case of corpus.json.

The answers come from twitter-text 3.1.0 and @atproto/api run by Node (node.py), never from
a copy of our rules. Mastodon's length is twitter-text's URLs plus Mastodon's documented
rule (reference.mjs). Where detectFacets and twitter-text disagree on where a URL ends, the
facet must cover exactly the URL the case's writer wrote (its ``links``).
"""

from __future__ import annotations

from typing import Any

import pytest
import regex

from broadcaster.channels.base import Limits
from broadcaster.channels.bluesky import BlueskyChannel
from broadcaster.channels.mastodon import DEFAULT_LIMITS as MASTODON
from broadcaster.channels.x import LIMITS as X
from broadcaster.counting import bluesky, mastodon, x
from broadcaster.length import shorten
from tests.reference.node import answers, corpus

CASES = corpus()
IDS = [f"{i}:{case['why']}" for i, case in enumerate(CASES)]
BLUESKY = BlueskyChannel.limits
LINK, TAG = bluesky.LINK, bluesky.TAG


@pytest.fixture(scope="module")
def reference() -> list[dict[str, Any]]:
    return answers([case["text"] for case in CASES])


def test_the_corpus_holds_every_kind_of_hard_case() -> None:
    whys = " ".join(case["why"] for case in CASES)
    assert len(CASES) >= 200
    for kind in ("family", "flag", "skin", "cjk", "tamil", "malay", "accent", "parens", "bare"):
        assert kind in whys, kind
    for limit in ("x limit 280", "bluesky limit 300", "mastodon limit 500"):
        assert limit in whys, limit


@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_x_counts_as_twitter_text(reference: list[dict[str, Any]], index: int) -> None:
    text, want = CASES[index]["text"], reference[index]["x"]
    tweet = x.parse(text)
    assert (tweet.weighted_length, tweet.valid) == (want["weightedLength"], want["valid"])
    assert X.measure(text) == want["weightedLength"]
    assert X.fits(text) == want["valid"] or not text.strip()


@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_mastodon_counts_as_its_validator(reference: list[dict[str, Any]], index: int) -> None:
    text = CASES[index]["text"]
    assert mastodon.length(text) == MASTODON.measure(text) == reference[index]["mastodon"]["length"]


@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_bluesky_counts_as_rich_text(reference: list[dict[str, Any]], index: int) -> None:
    text, want = CASES[index]["text"], reference[index]["bluesky"]
    assert BLUESKY.measure(text) == want["graphemes"]
    assert len(text.encode()) == want["bytes"]


@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_bluesky_facets_as_its_app_makes_them(reference: list[dict[str, Any]], index: int) -> None:
    case, want = CASES[index], reference[index]["bluesky"]["facets"]
    ours = bluesky.facets(case["text"])
    assert [_covered(case["text"], f) for f in ours if _kind(f) == LINK] == case["links"]
    theirs = {_span(f): f for f in want if _kind(f) == LINK}
    for facet in ours:  # where detectFacets covers the same URL, the facet is identical
        assert theirs.get(_span(facet), facet) == facet
    assert [f for f in ours if _kind(f) == TAG] == [f for f in want if _kind(f) == TAG]


@pytest.mark.parametrize(
    ("name", "limits"), [("x", X), ("bluesky", BLUESKY), ("mastodon", MASTODON)]
)
def test_every_shortened_post_is_accepted_and_keeps_its_links(name: str, limits: Limits) -> None:
    sources = [_long(case) for case in CASES if case["text"].strip()]
    fitted = [shorten(text, limits) for text, _ in sources]
    results = answers([f.text for f in fitted])
    originals = answers([text for text, _ in sources])
    for (text, links), done, got, before in zip(sources, fitted, results, originals, strict=True):
        assert _accepted(name, got), (text, done.text)
        assert set(got["x"]["urls"]) <= set(before["x"]["urls"]), (text, done.text)
        written = [_covered(done.text, f) for f in bluesky.facets(done.text) if _kind(f) == LINK]
        assert set(written) <= set(links), (text, done.text)
        assert not links or links[-1] in written or done.dropped == (links[-1],)


def _long(case: dict[str, Any]) -> tuple[str, list[str]]:
    """The case made longer than every limit by repeating its prose before its links."""
    text = case["text"]
    for link in case["links"]:
        text = text.replace(link, "", 1)
    repeats = max(1, 1200 // max(1, len(regex.findall(r"\X", text))))
    return " ".join([text.strip()] * repeats + case["links"]), case["links"]


def _accepted(name: str, got: dict[str, Any]) -> bool:
    if name == "x":
        return bool(got["x"]["valid"])
    if name == "bluesky":
        return bool(got["bluesky"]["graphemes"] <= 300 and got["bluesky"]["bytes"] <= 3000)
    return bool(got["mastodon"]["length"] <= 500)


def _kind(facet: dict[str, Any]) -> str:
    return str(facet["features"][0]["$type"])


def _span(facet: dict[str, Any]) -> tuple[int, int]:
    return facet["index"]["byteStart"], facet["index"]["byteEnd"]


def _covered(text: str, facet: dict[str, Any]) -> str:
    start, end = _span(facet)
    return text.encode()[start:end].decode()
