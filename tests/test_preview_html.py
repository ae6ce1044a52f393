"""`broadcast preview NOTICE_ID --html FILE`: the page's content, read as HTML (no browser).

The browser test (tests/browser/test_preview_page.py) opens the same page in Chromium; both
build their project with :func:`preview_project`.
"""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from broadcaster.cli import app

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
#: long enough to take the closure past Bluesky's 300 graphemes (but not Telegram's 4096)
REASON = HOSTILE + " and our annual team bonding event" + ", with a long day out" * 8
NOTICE = "closure-2024-03-26"
APPRISE_PASSWORD = "apprise-s3cret-pass"
WEBHOOK_TOKEN = "hook-s3cret-token"
SECTIONS = f"""channels:
  telegram:
    chat_id: "@glowaesthetics"
    api_url: "http://127.0.0.1:9"
    cards: true
  mastodon:
    instance: "http://127.0.0.1:9"
  bluesky:
    service: "http://127.0.0.1:9"
    handle: "glowaesthetics.bsky.social"
  google_business:
    api_url: "http://127.0.0.1:9"
    token_url: "http://127.0.0.1:9/token"
    locations:
      Orchard: "locations/1111111111"
      Tampines: "2222222222"
  webhook:
    urls: ["https://hooks.example.org/kiosk?key={WEBHOOK_TOKEN}"]
  apprise:
    urls: []
"""
ENV = {
    "BROADCAST_TELEGRAM_TOKEN": "123456789:AAHfakeTOKENforTESTSxxxxxxxxxxxxxxxx",
    "BROADCAST_MASTODON_TOKEN": "fake-mastodon-token-0123456789",
    "BROADCAST_BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop",
    "BROADCAST_WEBHOOK_SECRET": "whsec_preview_0123456789",
    "BROADCAST_APPRISE_URLS": f"json://user:{APPRISE_PASSWORD}@127.0.0.1:9/notify",
    # no BROADCAST_GOOGLE_*: google_business shows as skipped, with the reason
}
CONFIGURED = [
    "banner",
    "email",
    "telegram",
    "mastodon",
    "bluesky",
    "google_business",
    "webhook",
    "apprise",
]


def preview_project(root: Path) -> dict[str, str]:
    """The example project with a hostile, over-long closure and eight channels configured;
    returns the environment (secrets) to run `broadcast` with."""
    shutil.copytree(ROOT / "config", root / "config", dirs_exist_ok=True)
    shutil.copytree(ROOT / "templates", root / "templates", dirs_exist_ok=True)
    config = root / "config/broadcaster.yaml"
    text = config.read_text(encoding="utf-8")
    text = text.replace("our annual team bonding event", REASON.replace('"', '\\"'), 1)
    text = text.replace(
        '    output_dir: "site/notices"\n',
        '    output_dir: "site/notices"\n'
        '    public_url: "https://www.glow-aesthetics.example/notices"\n',
        1,
    )
    config.write_text(text.replace("channels:\n", SECTIONS, 1), encoding="utf-8")
    return ENV


class Page(HTMLParser):
    """The parts of the page the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.channels: dict[str, dict[str, list[str]]] = {}
        self.frames: list[dict[str, str | None]] = []
        self.csp = ""
        self.text_outside_frames: list[str] = []
        self._channel = ""
        self._capture: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and found.get("http-equiv") == "Content-Security-Policy":
            self.csp = found.get("content") or ""
        if tag == "section":
            self._channel = found.get("data-channel") or ""
            self.channels[self._channel] = {"classes": [found.get("class") or ""]}
        elif tag == "div" and found.get("class") == "message":
            language = found.get("data-language") or ""
            self.channels[self._channel].setdefault("languages", []).append(language)
        elif tag == "iframe":
            self.frames.append({**found, "channel": self._channel})
        elif tag == "img":
            self.channels[self._channel].setdefault("images", []).append(found.get("src") or "")
        elif tag == "p" and "length" in (found.get("class") or ""):
            self._capture = "lengths" if "over" not in (found.get("class") or "") else "over"
        elif tag in ("pre", "span", "h2") or (
            tag == "p" and "status" in (found.get("class") or "")
        ):
            self._capture = "text"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "pre", "span", "h2"):
            self._capture = None

    def handle_data(self, data: str) -> None:
        self.text_outside_frames.append(data)
        if self._capture and self._channel:
            self.channels[self._channel].setdefault(self._capture, []).append(data.strip())


@pytest.fixture
def page(project: Path, monkeypatch: pytest.MonkeyPatch) -> Page:
    for name, value in preview_project(project).items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["preview", NOTICE, "--html", "preview.html"])
    assert result.exit_code == 0, result.output
    assert "wrote preview.html:" in result.output
    return Page((project / "preview.html").read_text(encoding="utf-8"))


def test_each_message_is_shown_in_each_language_it_goes_out_in(page: Page) -> None:
    """The example clinic writes English, 中文, Bahasa Melayu and தமிழ்: email (each subscriber
    in theirs) and the banner show all four, each labelled with the language's own name;
    Telegram, told in the site's default language only, shows one message per occasion."""
    four = ["", "中文", "Melayu", "தமிழ்"]  # "": the default language, English
    assert page.channels["email"]["languages"] == four
    assert page.channels["banner"]["languages"] == four
    assert set(page.channels["telegram"]["languages"]) == {""}
    chinese = [
        f for f in page.frames if f["channel"] == "email" and "3月26日" in (f["srcdoc"] or "")
    ]
    assert chinese and all('lang="zh' in (f["srcdoc"] or "") for f in chinese)


def test_every_configured_channel_has_a_panel(page: Page) -> None:
    assert list(page.channels) == CONFIGURED
    google = page.channels["google_business"]
    assert "skipped" in google["classes"][0]
    assert "BROADCAST_GOOGLE_CLIENT_ID" in " ".join(google["text"])


def test_lengths_are_shown_against_each_limit_and_over_long_is_highlighted(page: Page) -> None:
    assert any("/ 4096 UTF-16 units" in line for line in page.channels["telegram"]["lengths"])
    over = " ".join(page.channels["bluesky"]["over"])
    assert "/ 300 characters (graphemes)" in over and "shortened to" in over
    assert "over" not in page.channels["telegram"]


def test_text_is_escaped_and_html_only_runs_in_script_less_sandboxes(page: Page) -> None:
    assert HOSTILE in "".join(page.text_outside_frames)  # shown as text: it was escaped
    assert page.csp.startswith("default-src 'none'") and "script-src" not in page.csp
    assert page.frames and all(frame["sandbox"] == "" for frame in page.frames)
    telegram = next(f for f in page.frames if f["channel"] == "telegram")
    assert "&lt;script&gt;" in (telegram["srcdoc"] or "")  # Telegram's own escaping, kept


def test_the_notice_card_is_inlined_where_the_channel_posts_it(page: Page) -> None:
    (card,) = page.channels["telegram"]["images"]
    assert card.startswith("data:image/jpeg;base64,")
    assert "images" not in page.channels["mastodon"]


def test_non_text_channels_show_what_they_will_do_without_secrets(
    page: Page, project: Path
) -> None:
    html = (project / "preview.html").read_text(encoding="utf-8")
    assert "&#34;schema&#34;: &#34;broadcaster.notice/1&#34;" in html  # the webhook's JSON
    assert "json://user:****@127.0.0.1:9/notify" in html
    for secret in (*ENV.values(), APPRISE_PASSWORD, WEBHOOK_TOKEN):
        assert secret not in html


def test_special_hours_are_previewed_when_google_is_configured(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in preview_project(project).items():
        monkeypatch.setenv(name, value)
    for name in ("CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN"):
        monkeypatch.setenv(f"BROADCAST_GOOGLE_{name}", f"fake-google-{name.lower()}-value")
    args = ["preview", NOTICE, "--html", "g.html", "--channel", "google_business"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    page = Page((project / "g.html").read_text(encoding="utf-8"))
    assert list(page.channels) == ["google_business"]
    text = " ".join(page.channels["google_business"]["text"])
    assert "Orchard (locations/1111111111): 26 Mar (Tue) closed, 27 Mar (Wed) closed" in text


def test_an_unknown_notice_writes_nothing(project: Path) -> None:
    result = CliRunner().invoke(app, ["preview", "closure-1999-01-01", "--html", "x.html"])
    assert result.exit_code == 2 and "no notice 'closure-1999-01-01'" in result.output
    assert not (project / "x.html").exists()
