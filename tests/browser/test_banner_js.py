"""Browser tests of the website banner script, broadcaster/assets/banner.js."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Page, expect

if TYPE_CHECKING:
    from tests.browser.conftest import PageLog, Site

pytestmark = pytest.mark.browser

START = datetime.fromisoformat("2024-03-19T00:00:00+08:00")
END = datetime.fromisoformat("2024-03-28T00:00:00+08:00")
INSIDE = datetime.fromisoformat("2024-03-20T09:00:00+08:00")

NOTICES = ".broadcast-notice"
TEMPLATE = Path(__file__).resolve().parents[2] / "broadcaster" / "assets" / "banner.js"


def notice(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "closure-2024-03-26",
        "kind": "closure",
        "start": START.isoformat(),
        "end": END.isoformat(),
        "text": "Our outlets will be closed from 26 Mar (Tue) to 27 Mar (Wed).",
        "html": "<p>Our outlets will be closed from <strong>26 Mar (Tue)</strong>"
        " to <strong>27 Mar (Wed)</strong>.</p>",
    }
    data.update(overrides)
    return data


def banner_data(*notices: dict[str, Any]) -> dict[str, Any]:
    return {"generated_at": "2024-03-20T09:00:00+08:00", "notices": list(notices)}


def open_at(page: Page, site: Site, when: datetime, data: Any = None, **publish: Any) -> None:
    """Freeze the browser clock at `when`, then open a page including banner.js."""
    page.clock.set_fixed_time(when)
    page.goto(site.publish(banner_data(notice()) if data is None else data, **publish))


def test_template_has_the_placeholder_once() -> None:
    assert TEMPLATE.read_text(encoding="utf-8").count("/*BANNER_DATA*/null") == 1


def test_shows_the_notice_once_inside_its_window(page: Page, site: Site, page_log: PageLog) -> None:
    duplicate = notice(html="<p>second copy</p>")
    open_at(page, site, INSIDE, banner_data(notice(), duplicate))

    notices = page.locator(NOTICES)
    expect(notices).to_have_count(1)
    only = notices.first
    expect(only).to_have_attribute("data-notice-id", "closure-2024-03-26")
    expect(only.locator("strong").first).to_have_text("26 Mar (Tue)")
    expect(only).not_to_contain_text("second copy")

    region = page.locator("body > .broadcast-banner:first-child")
    expect(region).to_have_attribute("role", "region")
    expect(region).to_have_attribute("aria-label", "Notices")
    expect(region.locator(NOTICES)).to_have_count(1)

    button = only.locator("button.broadcast-dismiss")
    expect(button).to_have_attribute("type", "button")
    expect(button).to_have_attribute("aria-label", "Dismiss")
    expect(button).to_have_text("×")
    expect(page.get_by_role("button", name="Dismiss")).to_be_visible()
    expect(page.get_by_role("region", name="Notices")).to_be_visible()

    # refreshing again (timer, visibilitychange) changes nothing
    page.evaluate(
        "() => { window.broadcasterBanner.refresh(); window.broadcasterBanner.refresh(); }"
    )
    expect(notices).to_have_count(1)
    expect(page.locator(".broadcast-banner")).to_have_count(1)
    expect(page.locator("style[data-broadcaster]")).to_have_count(1)
    assert page.locator("[onclick], [onerror], [onload]").count() == 0
    assert page_log.errors == []


@pytest.mark.parametrize(
    ("when", "shown"),
    [
        pytest.param(START - timedelta(milliseconds=1), False, id="just-before-start"),
        pytest.param(START, True, id="at-start"),
        pytest.param(END - timedelta(milliseconds=1), True, id="just-before-end"),
        pytest.param(END, False, id="at-end"),
        pytest.param(END + timedelta(days=1), False, id="after-end"),
        pytest.param(START - timedelta(days=30), False, id="long-before"),
    ],
)
def test_shows_only_while_start_le_now_lt_end(
    page: Page, site: Site, page_log: PageLog, when: datetime, shown: bool
) -> None:
    open_at(page, site, when)
    expect(page.locator(NOTICES)).to_have_count(1 if shown else 0)
    if not shown:
        # no empty landmark and no stylesheet when there is nothing to show
        expect(page.locator(".broadcast-banner")).to_have_count(0)
        expect(page.locator("style[data-broadcaster]")).to_have_count(0)
    assert page_log.errors == []


def test_open_page_hides_the_notice_once_its_end_passes(page: Page, site: Site) -> None:
    page.clock.install(time=END - timedelta(minutes=5))
    page.goto(site.publish(banner_data(notice())))
    expect(page.locator(NOTICES)).to_have_count(1)

    page.clock.run_for(4 * 60 * 1000)  # still before the end
    expect(page.locator(NOTICES)).to_have_count(1)

    page.clock.run_for(60 * 1000 + 60 * 1000)  # past the end, plus one refresh period
    expect(page.locator(NOTICES)).to_have_count(0)
    expect(page.locator(".broadcast-banner")).to_have_count(0)


def test_open_page_shows_the_notice_once_its_start_passes(page: Page, site: Site) -> None:
    page.clock.install(time=START - timedelta(seconds=30))
    page.goto(site.publish(banner_data(notice())))
    expect(page.locator(NOTICES)).to_have_count(0)

    page.clock.run_for(30 * 1000 + 60 * 1000)
    expect(page.locator(NOTICES)).to_have_count(1)


def test_visibilitychange_re_evaluates(page: Page, site: Site) -> None:
    page.clock.install(time=END - timedelta(seconds=5))
    page.goto(site.publish(banner_data(notice())))
    expect(page.locator(NOTICES)).to_have_count(1)

    # jump the clock without running the 60 s timer; only the event can hide it now
    page.clock.set_fixed_time(END + timedelta(seconds=1))
    expect(page.locator(NOTICES)).to_have_count(1)
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator(NOTICES)).to_have_count(0)


def test_dismiss_hides_the_notice_and_it_stays_hidden_after_reload(
    page: Page, site: Site, page_log: PageLog
) -> None:
    other = notice(id="flu-clinic", kind="info", html="<p>Flu jabs available.</p>")
    open_at(page, site, INSIDE, banner_data(notice(), other))
    expect(page.locator(NOTICES)).to_have_count(2)

    page.locator('[data-notice-id="closure-2024-03-26"] .broadcast-dismiss').click()
    expect(page.locator('[data-notice-id="closure-2024-03-26"]')).to_have_count(0)
    expect(page.locator('[data-notice-id="flu-clinic"]')).to_be_visible()
    stored = page.evaluate("() => localStorage.getItem('broadcaster.dismissed')")
    assert json.loads(stored) == ["closure-2024-03-26"]

    page.reload()
    expect(page.locator('[data-notice-id="flu-clinic"]')).to_be_visible()
    expect(page.locator('[data-notice-id="closure-2024-03-26"]')).to_have_count(0)

    # dismissing the last notice removes the whole region
    page.locator('[data-notice-id="flu-clinic"] .broadcast-dismiss').click()
    expect(page.locator(".broadcast-banner")).to_have_count(0)
    page.reload()
    expect(page.locator(NOTICES)).to_have_count(0)
    stored = page.evaluate("() => localStorage.getItem('broadcaster.dismissed')")
    assert json.loads(stored) == ["closure-2024-03-26", "flu-clinic"]
    assert page_log.errors == []


def test_dismiss_works_when_local_storage_throws(page: Page, site: Site, page_log: PageLog) -> None:
    page.add_init_script(
        "Object.defineProperty(window, 'localStorage', {"
        " get() { throw new DOMException('denied', 'SecurityError'); } });"
    )
    open_at(page, site, INSIDE)
    expect(page.locator(NOTICES)).to_have_count(1)
    page.locator(".broadcast-dismiss").click()
    expect(page.locator(NOTICES)).to_have_count(0)
    page.evaluate("() => window.broadcasterBanner.refresh()")
    expect(page.locator(NOTICES)).to_have_count(0)  # remembered in memory
    assert page_log.errors == []


def test_corrupt_local_storage_is_ignored(page: Page, site: Site, page_log: PageLog) -> None:
    page.add_init_script("localStorage.setItem('broadcaster.dismissed', '{not json');")
    open_at(page, site, INSIDE)
    expect(page.locator(NOTICES)).to_have_count(1)
    assert page_log.errors == []


def test_escaped_user_input_is_shown_as_text(page: Page, site: Site, page_log: PageLog) -> None:
    html = (
        "<p>&lt;script&gt;window.pwned=1&lt;/script&gt;"
        " &lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;</p>"
    )
    text = '<script>window.pwned=1</script> <img src=x onerror="window.pwned=2">'
    open_at(page, site, INSIDE, banner_data(notice(html=html, text=text)))

    shown = page.locator(NOTICES)
    expect(shown).to_have_count(1)
    expect(shown).to_contain_text("<script>window.pwned=1</script>")
    expect(shown).to_contain_text('<img src=x onerror="window.pwned=2">')
    assert shown.locator("script, img").count() == 0
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => typeof window.pwned") == "undefined"
    assert page_log.errors == []


@pytest.mark.parametrize("inline", [False, True], ids=["external", "inline"])
def test_data_cannot_break_out_of_the_script(
    page: Page, site: Site, page_log: PageLog, inline: bool
) -> None:
    evil = "</script><script>window.pwned=3</script><!-- & \u2028 \u2029 -->"
    data = banner_data(
        notice(text=f"Closed {evil}"),
        notice(id="text-only", html=None, text=f"Plain {evil}"),
    )
    script = site.script(data)
    assert "</script" not in script.lower()
    assert "<!--" not in script

    open_at(page, site, INSIDE, data, inline=inline)
    expect(page.locator(NOTICES)).to_have_count(2)
    # a notice without html shows its text, as text
    expect(page.locator('[data-notice-id="text-only"]')).to_contain_text(
        "Plain </script><script>window.pwned=3</script>"
    )
    assert page.locator(".broadcast-banner script").count() == 0
    assert page.evaluate("() => typeof window.pwned") == "undefined"
    assert page.locator("body script").count() == 0
    assert page_log.errors == []


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"generated_at": "x", "notices": "not a list"}, id="notices-string"),
        pytest.param({"notices": {"id": "a"}}, id="notices-object"),
        pytest.param({"generated_at": "x"}, id="no-notices"),
        pytest.param([notice()], id="top-level-list"),
        pytest.param("notices", id="top-level-string"),
        pytest.param(42, id="top-level-number"),
    ],
)
def test_malformed_data_does_nothing(page: Page, site: Site, page_log: PageLog, data: Any) -> None:
    open_at(page, site, INSIDE, data)
    expect(page.locator(".broadcast-banner")).to_have_count(0)
    assert page.evaluate("() => document.body.firstElementChild.tagName") == "HEADER"
    assert page_log.errors == []
    assert any("broadcaster banner" in w for w in page_log.warnings)


def test_malformed_notices_are_skipped(page: Page, site: Site, page_log: PageLog) -> None:
    data = banner_data(
        None,
        5,
        "closure",
        notice(id=""),
        notice(id=7),
        notice(id="bad-start", start="next Tuesday"),
        notice(id="bad-end", end=1711584000),
        notice(id="no-content", html=None, text=None),
        notice(id="good"),
    )
    open_at(page, site, INSIDE, data)
    notices = page.locator(NOTICES)
    expect(notices).to_have_count(1)
    expect(notices).to_have_attribute("data-notice-id", "good")
    assert page_log.errors == []


def test_unfilled_template_does_nothing(page: Page, site: Site, page_log: PageLog) -> None:
    open_at(page, site, INSIDE, raw_template=True)
    expect(page.locator(".broadcast-banner")).to_have_count(0)
    assert page_log.errors == []


def test_uses_the_pages_own_banner_element(page: Page, site: Site, page_log: PageLog) -> None:
    body = """
    <header><h1>Example Clinic</h1></header>
    <main><div id="broadcast-banner"></div><p>Welcome.</p></main>
    """
    open_at(page, site, INSIDE, body=body)
    expect(page.locator(NOTICES)).to_have_count(1)
    expect(page.locator("#broadcast-banner > .broadcast-banner > .broadcast-notice")).to_have_count(
        1
    )
    assert page.evaluate("() => document.body.firstElementChild.tagName") == "HEADER"
    assert page_log.errors == []


def test_included_twice_renders_once(page: Page, site: Site, page_log: PageLog) -> None:
    open_at(page, site, INSIDE, copies=2)
    expect(page.locator(NOTICES)).to_have_count(1)
    expect(page.locator("style[data-broadcaster]")).to_have_count(1)
    assert page_log.errors == []


def test_leaks_no_globals_but_broadcaster_banner(page: Page, site: Site) -> None:
    page.clock.set_fixed_time(INSIDE)
    page.goto(site.publish(banner_data(notice()), raw_template=True))  # a page without data
    baseline = set(page.evaluate("() => Object.keys(window)"))
    open_at(page, site, INSIDE)
    added = set(page.evaluate("() => Object.keys(window)")) - baseline
    assert added == {"broadcasterBanner"}
    assert page.evaluate("() => typeof window.broadcasterBanner.refresh") == "function"


def test_layout_on_a_small_screen(page: Page, site: Site) -> None:
    page.set_viewport_size({"width": 360, "height": 640})
    long_word = "Supercalifragilisticexpialidocious" * 3
    open_at(page, site, INSIDE, banner_data(notice(html=f"<p>Closed. {long_word}</p>")))
    box = page.locator(NOTICES).bounding_box()
    button = page.locator(".broadcast-dismiss").bounding_box()
    assert box is not None and button is not None
    assert button["x"] + button["width"] <= box["x"] + box["width"]
    assert button["x"] > box["x"] + box["width"] / 2  # right-aligned
    assert button["width"] >= 32 and button["height"] >= 32  # a usable touch target
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360


def test_site_css_overrides_the_defaults(page: Page, site: Site) -> None:
    body = (
        "<style>.broadcast-notice { background: rgb(0, 0, 128); color: white; }</style>"
        "<header><h1>Example Clinic</h1></header>"
    )
    open_at(page, site, INSIDE, body=body)
    background = page.locator(NOTICES).evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(0, 0, 128)"


def test_requests_to_other_hosts_are_blocked(page: Page, site: Site, page_log: PageLog) -> None:
    body = '<img src="https://example.com/tracker.png" alt="">'
    open_at(page, site, INSIDE, body=body)
    page.wait_for_load_state("networkidle")
    assert page_log.blocked == ["https://example.com/tracker.png"]
