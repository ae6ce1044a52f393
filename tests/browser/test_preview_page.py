"""`broadcast preview --html` looked at in headless Chromium, as an admin would.

The CLI runs in a subprocess (sync Playwright keeps its own event loop in this thread), on
the project of tests/test_preview_html.py: eight channels and a closure whose reason is
hostile and long enough to go over Bluesky's limit. The page is served from 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, Request, Response, expect

from tests.test_preview_html import CONFIGURED, HOSTILE, NOTICE, preview_project

if TYPE_CHECKING:
    from tests.browser.conftest import PageLog, Site

pytestmark = pytest.mark.browser


def write_page(project: Path, out: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    env |= preview_project(project)
    done = subprocess.run(
        [sys.executable, "-m", "broadcaster", "preview", NOTICE, "--html", str(out)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_preview_page_shows_every_channel_safely(
    page: Page, site: Site, page_log: PageLog, tmp_path: Path
) -> None:
    write_page(tmp_path, site.root / "preview.html")
    answered: list[str] = []
    refused: list[str | None] = []

    def on_response(response: Response) -> None:
        answered.append(response.url)

    def on_failed(request: Request) -> None:
        refused.append(request.failure)

    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    page.goto(f"{site.base_url}/preview.html")

    panels = page.locator("section.channel")
    expect(panels).to_have_count(len(CONFIGURED))
    for name in CONFIGURED:
        expect(page.locator(f'section[data-channel="{name}"] h2')).to_contain_text(name)
    for name in ("telegram", "mastodon", "bluesky", "webhook", "apprise", "email"):
        panel = page.locator(f'section[data-channel="{name}"]')
        expect(panel.locator(".message").first).to_be_visible()
        expect(panel.locator(".length").first).to_be_visible()
    expect(page.locator('section[data-channel="mastodon"] .length').first).to_contain_text("/ 500")
    expect(page.locator('section[data-channel="telegram"] .length').first).to_contain_text(
        "/ 4096 UTF-16 units"
    )
    over = page.locator('section[data-channel="bluesky"] .length.over').first
    expect(over).to_contain_text("over the limit: shortened to")
    assert over.evaluate("e => getComputedStyle(e).color") == "rgb(179, 38, 30)"
    expect(page.locator('section[data-channel="google_business"]')).to_contain_text(
        "BROADCAST_GOOGLE_CLIENT_ID"
    )

    # the hostile reason is text on the page and inert inside the frames
    expect(page.locator('section[data-channel="mastodon"] pre').first).to_contain_text(HOSTILE)
    telegram = page.frame_locator('section[data-channel="telegram"] iframe').first
    expect(telegram.locator("body")).to_contain_text("<script>window.pwned=1</script>")
    assert page.evaluate("window.pwned") is None
    for frame in page.frames[1:]:
        assert frame.evaluate("() => window.pwned") is None

    card = page.locator('section[data-channel="telegram"] .card img')
    expect(card).to_have_attribute(
        "alt", re.compile(r"^Glow Aesthetics: closed 26 March – 27 March")
    )
    assert card.evaluate("img => img.naturalWidth") == 1080

    # one self-contained file: nothing else was fetched; whatever hostile HTML tried to load
    # (an <img src=x> in a frame) was refused by the Content-Security-Policy
    assert answered == [f"{site.base_url}/preview.html"]
    assert set(refused) <= {"csp"}
    assert page_log.errors == [] and page_log.blocked == []

    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": min(height, 6000)})
    page.wait_for_timeout(500)  # let the sandboxed frames (their own processes) paint again
    page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)
