"""The banner in the visitor's language: `broadcast run` writes it in English, Chinese, Malay
and Tamil; the browser's preferred languages pick one, and the switch changes it.

The banner is published once for the module by the real CLI, from the example config in four
languages with a Chinese template of the test's own (tests/languages.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import page_html
from tests.languages import CHINESE_REASON, in_four_languages

if TYPE_CHECKING:
    from tests.browser.conftest import PageLog, Site

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
INSIDE = datetime.fromisoformat("2024-03-20T09:00:00+08:00")
BODY = ".broadcast-notice-body"
ENGLISH = "Our outlets will be closed from 26 Mar (Tue)"
CHINESE = "本诊所3月26日（周二）"  # the test's template, with CLDR's Chinese day
NAMES = ["English", "中文", "Melayu", "தமிழ்"]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> str:
    """banner.js as `broadcast run` writes it for the clinic in four languages."""
    project = tmp_path_factory.mktemp("clinic")
    shutil.copytree(ROOT / "config", project / "config")
    shutil.copytree(ROOT / "templates", project / "templates")
    in_four_languages(project)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    done = subprocess.run(
        [sys.executable, "-m", "broadcaster", "run", "--now", INSIDE.isoformat()],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return (project / "site/notices/banner.js").read_text(encoding="utf-8")


def open_banner(page: Page, site: Site, script: str, init: str | None = None) -> None:
    (site.root / "banner.js").write_text(script, encoding="utf-8")
    (site.root / "index.html").write_text(page_html(), encoding="utf-8")
    if init is not None:
        page.add_init_script(init)
    page.clock.set_fixed_time(INSIDE)
    page.goto(f"{site.base_url}/index.html")


def switch(page: Page, name: str) -> Locator:
    return page.get_by_role("group", name="Language").get_by_role("button", name=name)


def shows(page: Page, lang: str, text: str) -> None:
    body = page.locator(BODY)
    expect(body).to_have_count(1)
    expect(body).to_have_attribute("lang", lang)
    expect(body).to_contain_text(text)
    for button in page.locator(".broadcast-language").all():
        pressed = "true" if button.get_attribute("lang") == lang else "false"
        expect(button).to_have_attribute("aria-pressed", pressed)


def test_a_visitor_preferring_chinese_sees_chinese_and_the_switch_changes_it(
    visitor: Callable[[str], Page], site: Site, published: str, page_log: PageLog
) -> None:
    page = visitor("zh-CN")
    open_banner(page, site, published)
    shows(page, "zh", CHINESE)
    expect(page.locator(BODY)).to_contain_text(CHINESE_REASON)
    buttons = page.locator(".broadcast-language")
    expect(buttons).to_have_text(NAMES)
    assert [b.get_attribute("lang") for b in buttons.all()] == ["en", "zh", "ms", "ta"]

    switch(page, "English").click()
    shows(page, "en", ENGLISH)
    expect(page.locator(BODY)).not_to_contain_text(CHINESE_REASON)

    page.reload()  # the choice is remembered over the browser's preference
    shows(page, "en", ENGLISH)
    switch(page, "中文").click()
    shows(page, "zh", CHINESE)
    assert page_log.errors == [] and page_log.warnings == [] and page_log.blocked == []


def test_the_switch_works_from_the_keyboard(
    visitor: Callable[[str], Page], site: Site, published: str
) -> None:
    page = visitor("zh-CN")
    open_banner(page, site, published)
    page.keyboard.press("Tab")  # the notice's dismiss button, then each language in turn
    expect(page.get_by_role("button", name="Dismiss")).to_be_focused()
    page.keyboard.press("Tab")
    expect(switch(page, "English")).to_be_focused()
    page.keyboard.press("Enter")
    shows(page, "en", ENGLISH)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(switch(page, "Melayu")).to_be_focused()
    page.keyboard.press("Space")
    shows(page, "ms", "26 Mac (Sel)")  # no Malay template here: English words, Malay dates
    expect(switch(page, "Melayu")).to_be_focused()  # the switch is not rebuilt under the focus


@pytest.mark.parametrize(
    ("locale", "lang", "text"),
    [
        pytest.param("en-GB", "en", ENGLISH, id="en-GB"),
        pytest.param("zh-SG", "zh", CHINESE, id="zh-SG"),
        pytest.param("fr-FR", "en", ENGLISH, id="unlisted-language-sees-the-default"),
    ],
)
def test_the_language_shown_follows_the_browser(
    visitor: Callable[[str], Page], site: Site, published: str, locale: str, lang: str, text: str
) -> None:
    page = visitor(locale)
    open_banner(page, site, published)
    shows(page, lang, text)


def test_the_first_preferred_language_the_site_has_wins(
    visitor: Callable[[str], Page], site: Site, published: str
) -> None:
    page = visitor("fr-FR")
    languages = "Object.defineProperty(navigator, 'languages', {get: () => %s})"
    open_banner(page, site, published, init=languages % '["fr-FR", "ta-IN", "zh-CN"]')
    shows(page, "ta", "மார். 26 (செவ்.)")


def test_dismissing_the_notice_takes_the_switch_with_it(
    visitor: Callable[[str], Page], site: Site, published: str
) -> None:
    page = visitor("zh-CN")
    open_banner(page, site, published)
    expect(page.locator(".broadcast-languages")).to_have_count(1)
    page.get_by_role("button", name="Dismiss").click()
    expect(page.locator(".broadcast-banner")).to_have_count(0)
    expect(page.locator(".broadcast-languages")).to_have_count(0)


def test_a_choice_that_cannot_be_stored_still_switches(
    visitor: Callable[[str], Page], site: Site, published: str, page_log: PageLog
) -> None:
    page = visitor("zh-CN")
    throwing = (
        "Object.defineProperty(window, 'localStorage', {get: () => { throw new Error('off'); }})"
    )
    open_banner(page, site, published, init=throwing)
    shows(page, "zh", CHINESE)
    switch(page, "English").click()
    shows(page, "en", ENGLISH)
    assert page_log.errors == []


def test_data_from_before_languages_shows_as_it_was(page: Page, site: Site) -> None:
    old = {
        "generated_at": "2024-03-20T09:00:00+08:00",
        "notices": [
            {
                "id": "closure-2024-03-26",
                "kind": "closure",
                "start": "2024-03-19T00:00:00+08:00",
                "end": "2024-03-28T00:00:00+08:00",
                "text": "Closed",
                "html": "<p>Closed on 26 Mar (Tue)</p>",
            }
        ],
    }
    open_banner(page, site, site.script(old))
    expect(page.locator(BODY)).to_have_text("Closed on 26 Mar (Tue)")
    expect(page.locator(BODY)).not_to_have_attribute("lang", "en")
    expect(page.locator(".broadcast-languages")).to_have_count(0)
