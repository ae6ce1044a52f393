"""Fixtures for the browser tests of broadcaster/assets/banner.js.

The tests drive Debian's chromium (/usr/bin/chromium) with the sync Playwright API.
Nothing leaves the machine: pages come from a static HTTP server on 127.0.0.1 and
every request to another host is aborted.

The Playwright fixtures are module-scoped on purpose. Between two sync calls, sync
Playwright leaves its own event loop registered as the running loop of the main
thread (see playwright/_impl/_greenlets.py, wait_for_future); while it is alive, a
pytest-asyncio test would fail with "Cannot run the event loop while another loop
is running". Module scope stops Playwright before pytest moves on to other modules.
"""

from __future__ import annotations

import functools
import http.server
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Route,
    sync_playwright,
)

from broadcaster.channels.banner import banner_script

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "broadcaster" / "assets" / "banner.js"
PLACEHOLDER = "/*BANNER_DATA*/null"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ALLOWED_HOST = "127.0.0.1"

DEFAULT_BODY = """
<header><h1>Example Clinic</h1></header>
<main>
  <p>Opening hours: Mon–Sat 9am–6pm.</p>
</main>
"""


# --- building banner.js exactly as the Python side does (see the contract) --------


def build_banner_js(data: Any) -> str:
    """banner.js exactly as the banner channel writes it for ``data``."""
    assert TEMPLATE.read_text(encoding="utf-8").count(PLACEHOLDER) == 1
    return banner_script(data)


def page_html(*, body: str = DEFAULT_BODY, script: str | None = None, copies: int = 1) -> str:
    """index.html including banner.js with a deferred tag, or inline when script is given."""
    if script is None:
        tag = '<script src="banner.js" defer></script>'
    else:
        tag = f"<script>{script}</script>"
    tags = "\n".join([tag] * copies)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example Clinic</title>
{tags}
<style>body {{ font-family: sans-serif; margin: 0; }} header, main {{ padding: 0 1rem; }}</style>
</head>
<body>
{body}
</body>
</html>
"""


# --- static HTTP server -----------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Site:
    """A directory served over HTTP; each test publishes into a fresh subdirectory."""

    root: Path
    base_url: str
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    @staticmethod
    def script(data: Any) -> str:
        """The banner.js the Python side would serve for `data`."""
        return build_banner_js(data)

    def publish(
        self,
        data: Any = None,
        *,
        body: str = DEFAULT_BODY,
        inline: bool = False,
        copies: int = 1,
        raw_template: bool = False,
    ) -> str:
        """Write banner.js (built from the template) and index.html; return the page URL."""
        directory = self.root / f"site{next(self._counter)}"
        directory.mkdir()
        js = TEMPLATE.read_text(encoding="utf-8") if raw_template else build_banner_js(data)
        (directory / "banner.js").write_text(js, encoding="utf-8")
        html = page_html(body=body, script=js if inline else None, copies=copies)
        (directory / "index.html").write_text(html, encoding="utf-8")
        return f"{self.base_url}/{directory.name}/index.html"


@pytest.fixture(scope="module")
def http_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    root = tmp_path_factory.mktemp("www")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer((ALLOWED_HOST, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
    thread.start()
    try:
        yield root, f"http://{ALLOWED_HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def site(http_root: tuple[Path, str], request: pytest.FixtureRequest) -> Site:
    root, base_url = http_root
    directory = root / request.node.name.replace("[", "_").replace("]", "").replace("/", "_")
    directory.mkdir()
    return Site(directory, f"{base_url}/{directory.name}")


# --- Playwright -------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    errors: list[Error] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


def open_page(browser: Browser, page_log: PageLog, locale: str) -> tuple[BrowserContext, Page]:
    """A page in a fresh context for a visitor whose browser prefers ``locale`` (Playwright
    sets ``navigator.language(s)`` and Accept-Language from it); other hosts are blocked."""
    # A timezone far from the notices' +08:00 offset: start/end must be compared as
    # instants, not as local wall-clock times.
    context = browser.new_context(
        timezone_id="Pacific/Honolulu", locale=locale, viewport={"width": 1024, "height": 640}
    )

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == ALLOWED_HOST:
            route.continue_()
        else:
            page_log.blocked.append(route.request.url)
            route.abort()

    # Playwright cannot wrap a builtin such as list.append as a handler: use functions.
    def on_page_error(error: Error) -> None:
        page_log.errors.append(error)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "warning":
            page_log.warnings.append(message.text)

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("pageerror", on_page_error)
    page.on("console", on_console)
    return context, page


@pytest.fixture
def page(browser: Browser, page_log: PageLog) -> Iterator[Page]:
    context, page = open_page(browser, page_log, "en-GB")
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def visitor(browser: Browser, page_log: PageLog) -> Iterator[Callable[[str], Page]]:
    """``visitor("zh-CN")``: a page for a visitor whose browser prefers that language."""
    contexts: list[BrowserContext] = []

    def open_for(locale: str) -> Page:
        context, page = open_page(browser, page_log, locale)
        contexts.append(context)
        return page

    try:
        yield open_for
    finally:
        for context in contexts:
            context.close()
