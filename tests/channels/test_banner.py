"""The banner channel writes three static files, atomically, with user text escaped."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.channels.banner import PLACEHOLDER, BannerChannel, banner_fragment, banner_script
from broadcaster.config import Site
from broadcaster.errors import RetryableError

SG = ZoneInfo("Asia/Singapore")
ENTRY = {
    "id": "closure-2024-03-26",
    "kind": "closure",
    "start": "2024-03-19T00:00:00+08:00",
    "end": "2024-03-28T00:00:00+08:00",
    "text": "Closed </script><script>alert(1)</script>",
    "html": "<p>Closed &lt;script&gt;</p>",
}


async def test_publish_writes_json_html_and_js(tmp_path: Path) -> None:
    channel = BannerChannel(tmp_path / "notices")
    receipt = await channel.publish([ENTRY, dict(ENTRY)], datetime(2024, 3, 20, 9, tzinfo=SG))
    data = json.loads((tmp_path / "notices/banner.json").read_text())
    assert [n["id"] for n in data["notices"]] == ["closure-2024-03-26"]
    assert receipt["changed"] == [
        "banner.json",
        "banner.html",
        "banner.js",
        "closures.jsonld",
        "closures.ics",
    ]
    html = (tmp_path / "notices/banner.html").read_text()
    assert html.count('data-notice-id="closure-2024-03-26"') == 1
    script = (tmp_path / "notices/banner.js").read_text()
    assert PLACEHOLDER not in script and "closure-2024-03-26" in script


async def test_unchanged_files_are_not_rewritten(tmp_path: Path) -> None:
    channel = BannerChannel(tmp_path)
    now = datetime(2024, 3, 20, 9, tzinfo=SG)
    await channel.publish([ENTRY], now)
    receipt = await channel.publish([ENTRY], now)
    assert receipt["changed"] == []
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


async def test_the_fragment_lists_only_notices_showing_now(tmp_path: Path) -> None:
    channel = BannerChannel(tmp_path)
    await channel.publish([ENTRY], datetime(2024, 3, 18, 9, tzinfo=SG))
    assert (tmp_path / "banner.html").read_text() == ""
    assert json.loads((tmp_path / "banner.json").read_text())["notices"][0]["id"] == ENTRY["id"]


def test_embedded_data_cannot_close_the_script_tag() -> None:
    script = banner_script({"notices": [ENTRY]})
    assert "</script>" not in script
    assert "\\u003c/script\\u003e" in script


def test_fragment_escapes_the_id() -> None:
    assert 'data-notice-id="a&quot;b"' in banner_fragment([{**ENTRY, "id": 'a"b'}])


async def test_an_unwritable_folder_is_a_retryable_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RetryableError, match="cannot write banner files"):
        await BannerChannel(blocker / "notices").publish([ENTRY], datetime(2024, 3, 20, tzinfo=SG))


# Every site language -------------------------------------------------------------------------

SITE = Site(
    name="Glow Aesthetics",
    url="https://www.glow-aesthetics.example",
    languages=["en", "zh", "ms", "ta"],
    region="SG",
)
IN_FOUR = {
    **ENTRY,
    "lang": "en",
    "texts": {
        "en": {"text": ENTRY["text"], "html": ENTRY["html"]},
        "zh": {"text": "休息", "html": "<p>休息 &lt;b&gt;</p>"},
        "ms": {"text": "Tutup", "html": "<p>Tutup</p>"},
        "ta": {"text": "மூடப்பட்டுள்ளது", "html": "<p>மூடப்பட்டுள்ளது</p>"},
    },
}


async def test_every_language_is_written_with_its_name_in_itself(tmp_path: Path) -> None:
    channel = BannerChannel(tmp_path, SITE)
    await channel.publish([IN_FOUR], datetime(2024, 3, 20, 9, tzinfo=SG))
    data = json.loads((tmp_path / "banner.json").read_text(encoding="utf-8"))
    assert [(lang["lang"], lang["name"]) for lang in data["languages"]] == [
        ("en", "English"),
        ("zh", "中文"),
        ("ms", "Melayu"),
        ("ta", "தமிழ்"),
    ]
    (notice,) = data["notices"]
    assert list(notice["texts"]) == ["en", "zh", "ms", "ta"]
    assert (notice["text"], notice["html"]) == (ENTRY["text"], ENTRY["html"])
    script = (tmp_path / "banner.js").read_text(encoding="utf-8")
    assert '"zh": {"text": "休息", "html": "\\u003cp\\u003e休息' in script


def test_the_fragment_shows_the_default_and_holds_the_others_hidden() -> None:
    fragment = banner_fragment([IN_FOUR], SITE.all_languages)
    assert fragment.count('class="broadcast-text"') == 4
    assert f'<div class="broadcast-text" lang="en">{ENTRY["html"]}</div>' in fragment
    assert '<div class="broadcast-text" lang="zh" hidden><p>休息 &lt;b&gt;</p></div>' in fragment
    assert '<div class="broadcast-text" lang="ta" hidden>' in fragment
    order = [fragment.index(f'lang="{lang}"') for lang in SITE.all_languages]
    assert order == sorted(order)


def test_an_entry_from_before_languages_is_shown_in_the_default_language() -> None:
    fragment = banner_fragment([ENTRY], SITE.all_languages)
    assert fragment.count('class="broadcast-text"') == 1
    assert f'<div class="broadcast-text" lang="en">{ENTRY["html"]}</div>' in fragment
