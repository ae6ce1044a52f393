"""Sign-up as a patient does it, in headless Chromium: the clinic's own page (on one
127.0.0.1 port) embeds the form from ``broadcast serve`` (on another), the confirmation
email arrives at a real SMTP server (aiosmtpd on 127.0.0.1), its link is followed and
confirmed, and the next notice -- sent by the real ``broadcast run`` -- reaches the new
subscriber exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from tests.channels.conftest import SinkHandler, SmtpSink
from tests.serve.conftest import (
    SERVE_SECRET,
    UNSUBSCRIBE_SECRET,
    LiveServer,
    Project,
    free_socket,
    write_config,
)

if TYPE_CHECKING:
    from tests.browser.conftest import PageLog, Site

pytestmark = pytest.mark.browser
ADDRESS = "mei.lin@example.com"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink(SinkHandler()) as running:
        yield running


def broadcast_run(root: Path, config: Path, now: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCAST_")}
    env |= {
        "BROADCAST_EMAIL_UNSUBSCRIBE_SECRET": UNSUBSCRIBE_SECRET,
        "BROADCAST_SERVE_SECRET": SERVE_SECRET,
    }
    done = subprocess.run(
        [sys.executable, "-m", "broadcaster", "run", "--config", str(config), "--now", now],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_sign_up_on_the_clinic_page_confirm_by_email_then_get_the_next_notice_once(
    page: Page,
    site: Site,
    page_log: PageLog,
    smtp: SmtpSink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BROADCAST_EMAIL_UNSUBSCRIBE_SECRET", UNSUBSCRIBE_SECRET)
    monkeypatch.setenv("BROADCAST_SERVE_SECRET", SERVE_SECRET)
    sock = free_socket()
    clinic = site.base_url.split("/", 3)[:3]
    config = write_config(
        tmp_path,
        smtp.port,
        public_url=f"http://127.0.0.1:{sock.getsockname()[1]}",
        origins=["/".join(clinic)],
    )
    project = Project(tmp_path, config, smtp)
    (site.root / "index.html").write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>Glow Aesthetics</title></head>'
        "<body><h1>Glow Aesthetics</h1><p>Get our news:</p>"
        '<div id="broadcast-signup"></div>'
        f'<script src="http://127.0.0.1:{sock.getsockname()[1]}/signup.js" defer></script>'
        "</body></html>",
        encoding="utf-8",
    )
    ledger = project.ledger()
    with LiveServer(project.loaded(), ledger, sock):
        page.goto(f"{site.base_url}/index.html")
        page.get_by_label("Email address").fill("Mei.Lin@Example.com")
        page.get_by_label("Name (optional)").fill("Mei Lin")
        page.get_by_role("button", name="Subscribe").click()
        expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

        smtp.wait_for(1)
        link = project.confirmation_link(ADDRESS)
        page.goto(link)
        page.get_by_role("button", name="Confirm my subscription").click()
        expect(page.get_by_role("heading", name="You are subscribed")).to_be_visible()
    ledger.close()
    assert not page_log.errors

    broadcast_run(tmp_path, config, "2024-03-20T09:00:00+08:00")  # the closure is announced
    broadcast_run(tmp_path, config, "2024-03-20T10:00:00+08:00")  # again: nothing new

    notices = [m for m in smtp.handler.received if ADDRESS in m.rcpt_tos]
    assert len(notices) == 2  # the confirmation, then the closure once
    closure = notices[1].message
    assert "closed" in str(closure["Subject"]).lower()
    assert closure["To"] == f"Mei Lin <{ADDRESS}>"


def test_the_unsubscribe_page_button_then_undo_in_a_real_browser(
    page: Page, smtp: SmtpSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from broadcaster.channels.email import tokens

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BROADCAST_EMAIL_UNSUBSCRIBE_SECRET", UNSUBSCRIBE_SECRET)
    monkeypatch.setenv("BROADCAST_SERVE_SECRET", SERVE_SECRET)
    sock = free_socket()
    config = write_config(
        tmp_path, smtp.port, public_url=f"http://127.0.0.1:{sock.getsockname()[1]}"
    )
    project = Project(tmp_path, config, smtp)
    ledger = project.ledger()
    token = tokens.make("ann@example.com", UNSUBSCRIBE_SECRET)
    with LiveServer(project.loaded(), ledger, sock) as server:
        page.goto(f"{server.url}/unsubscribe?token={token}")
        assert not ledger.suppressed(["ann@example.com"])  # opening the link changed nothing
        page.get_by_role("button", name="Unsubscribe").click()
        expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
        assert ledger.suppressed(["ann@example.com"])

        page.get_by_role("button", name="Undo: keep me subscribed").click()
        expect(page.get_by_role("heading", name="You are subscribed again")).to_be_visible()
        assert not ledger.suppressed(["ann@example.com"])
    ledger.close()
