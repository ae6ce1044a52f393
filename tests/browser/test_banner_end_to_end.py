"""The whole path: `broadcast run` writes the banner, a page on 127.0.0.1 shows it.

The closure's reason is hostile on purpose: whatever an admin (or an attacker who got into
the config) types must show as text and never run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

if TYPE_CHECKING:
    from tests.browser.conftest import PageLog, Site

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


def published_banner(tmp_path: Path) -> Path:
    """Run the real CLI on the example config with a hostile reason; return site/notices."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")  # the config's overrides folder
    config = tmp_path / "config/broadcaster.yaml"
    text = config.read_text(encoding="utf-8").replace(
        "our annual team bonding event", HOSTILE.replace('"', '\\"')
    )
    config.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    for now in (
        "2024-03-20T09:00:00+08:00",
        "2024-03-20T10:00:00+08:00",
    ):  # twice: still one banner
        done = subprocess.run(
            [sys.executable, "-m", "broadcaster", "run", "--now", now],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    return tmp_path / "site/notices"


def test_the_published_banner_shows_once_escapes_and_expires(
    page: Page, site: Site, page_log: PageLog, tmp_path: Path
) -> None:
    notices = published_banner(tmp_path)
    shutil.copy(notices / "banner.js", site.root / "banner.js")
    (site.root / "index.html").write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>Glow</title></head>'
        '<body><h1>Glow Aesthetics</h1><script src="banner.js" defer></script></body></html>',
        encoding="utf-8",
    )
    url = f"{site.base_url}/index.html"
    page.clock.install(time=datetime.fromisoformat("2024-03-27T12:00:00+08:00"))
    page.goto(url)
    banner = page.locator(".broadcast-notice")
    expect(banner).to_have_count(1)
    expect(banner).to_contain_text("closed from 26 Mar (Tue) to 27 Mar (Wed)")
    expect(banner).to_contain_text("<script>window.pwned=1</script>")
    assert page.evaluate("window.pwned") is None
    page.clock.run_for("12:05:00")  # past 28 Mar 00:00 +08:00 and the next minute's re-check
    expect(banner).to_have_count(0)
    assert page.evaluate("window.pwned") is None
    assert page_log.errors == [] and page_log.blocked == []
