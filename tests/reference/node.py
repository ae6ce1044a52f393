"""Other systems' own code, run by Node: the platforms' counting, twitter-text 3.1.0 and
@atproto/api (reference.mjs), and ICU's CLDR dates, times and lists (Node's Intl: dates.mjs,
cldr.mjs).

``scripts/test`` installs the packages (``npm ci --prefix tests/reference``); ICU is built
into Node. Without Node or without them these tests fail, saying what to install: a skipped
reference test would let our counting or our dates drift from theirs unnoticed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
CORPUS = HERE / "corpus.json"


def answers(texts: list[str], *platforms: str) -> list[dict[str, Any]]:
    """For each text: ``{"x": {...}, "bluesky": {...}, "mastodon": {...}}`` from
    reference.mjs, or only the ``platforms`` named (quicker: X alone does not load Bluesky's)."""
    if not (HERE / "node_modules" / "twitter-text").is_dir():
        pytest.fail("the reference packages are missing: run `npm ci --prefix tests/reference`")
    result: list[dict[str, Any]] = _run("reference.mjs", texts, *platforms)
    return result


Parts = list[tuple[str, str]]


def intl_parts(
    dates: list[str], formats: dict[str, tuple[str, dict[str, str]]]
) -> dict[str, list[Parts]]:
    """Each ISO date in each named format (``{"name": (locale, Intl options)}``), as
    Intl.DateTimeFormat's formatToParts gives it: ``[("month", "3"), ("literal", "月"), ...]``."""
    found = _run("dates.mjs", {"dates": dates, "formats": formats})
    return {
        name: [[(kind, value) for kind, value in parts] for parts in each]
        for name, each in found.items()
    }


def cldr(
    locales: list[str], dates: list[str], times: list[str], lists: list[list[str]]
) -> dict[str, Any]:
    """ICU's forms per locale (``zh-SG``): ``{"resolved", "dates": {iso: {"monthDay",
    "weekday", "full"}}, "times": {"09:00": ...}, "lists": [...]}`` from cldr.mjs."""
    asked = {"locales": locales, "dates": dates, "times": times, "lists": lists}
    result: dict[str, Any] = _run("cldr.mjs", asked)
    return result


def _run(script: str, request: object, *args: str) -> Any:
    """What ``script`` prints (JSON) for ``request`` (JSON on its stdin)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: install Node.js 20 and run `npm ci --prefix tests/reference`")
    done = subprocess.run(
        [node, str(HERE / script), *args],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        pytest.fail(f"{script} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


@lru_cache(maxsize=1024)
def x_answer(text: str) -> dict[str, Any]:
    """twitter-text's ``{"weightedLength", "valid", "urls"}`` for one text (for FakeX)."""
    return answers([text], "x")[0]["x"]  # type: ignore[no-any-return]


@lru_cache(maxsize=1024)
def mastodon_length(text: str, url_length: int = 23) -> int:
    """Mastodon's count of one status (for FakeMastodon), reserving ``url_length`` per URL."""
    found = answers([text], "mastodon")[0]["mastodon"]
    return int(found["length"]) + int(found["urls"]) * (url_length - 23)


def corpus() -> list[dict[str, Any]]:
    """The hard cases (make_corpus.py): ``{"text", "links", "why"}`` each."""
    cases: list[dict[str, Any]] = json.loads(CORPUS.read_text(encoding="utf-8"))
    return cases
