"""The email channel end to end: config -> dispatcher -> SMTP server (aiosmtpd on 127.0.0.1).

Every subscriber gets each notice exactly once -- repeated rows, invalid rows, suppressed
addresses, 4xx/5xx replies, reruns, and a ``broadcast run`` killed with SIGKILL mid-list.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from broadcaster import config as config_module
from broadcaster.channels.base import Skipped
from broadcaster.channels.email import EmailChannel, email_channel, tokens
from broadcaster.channels.settings.email import EmailConfig
from broadcaster.cli import app
from broadcaster.config import Secrets
from broadcaster.errors import ConfigError
from broadcaster.ledger import Delivery, Ledger
from broadcaster.report import Report
from broadcaster.runtime import dispatcher
from broadcaster.send_stream import START_AHEAD
from tests.commands import broadcast

from .conftest import SmtpSink

ROOT = Path(__file__).resolve().parents[2]
NOW = "2024-03-20T09:00:00+08:00"
LATER = "2024-03-21T12:00:00+08:00"  # the article below is due
SECRET = "test-unsubscribe-secret-0123456789"
#: the default pool: each connection has one message in flight and pipelines the next
CONNECTIONS = EmailConfig.model_fields["connections"].default
PROJECT = """\
site:
  name: "Glow Aesthetics"
  url: "https://www.glow-aesthetics.example"
  timezone: "Asia/Singapore"
  outlets: ["Orchard", "Tampines"]
closures:
  - start: 2024-03-26
    end: 2024-03-27
    reason: "our annual team bonding event"
articles:
  items:
    - title: "Can Botox Treat Depression? Here’s the Science"
      url: "https://www.glow-aesthetics.example/blog/botox-depression/"
      published: 2024-03-21T08:00:00+08:00
channels:
  email:
{email}
database: "sqlite:///{database}"
templates: "{templates}"
"""


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BROADCAST_EMAIL_UNSUBSCRIBE_SECRET", SECRET)
    return tmp_path


def write_project(root: Path, rows: list[str], **email: Any) -> Path:
    (root / "subscribers.csv").write_text("email,name\n" + "".join(f"{r}\n" for r in rows))
    settings = {
        "transport": "smtp",
        "host": "127.0.0.1",
        "security": "none",
        "from": "Glow Aesthetics <hello@glow-aesthetics.example>",
        "subscribers": str(root / "subscribers.csv"),
        "unsubscribe_url": "https://www.glow-aesthetics.example/unsubscribe?token={token}",
        "timeout": 10,
        **email,
    }
    path = root / "broadcaster.yaml"
    path.write_text(
        PROJECT.format(
            email="\n".join(f"    {k}: {v!r}".replace("'", '"') for k, v in settings.items()),
            database=root / "ledger.db",
            templates=ROOT / "templates",
        ),
        encoding="utf-8",
    )
    return path


def subscribers(count: int) -> list[str]:
    return [f"subscriber{i}@example.com,Subscriber {i}" for i in range(count)]


async def run_pass(config: Path, now: str = NOW) -> Report:
    loaded = config_module.load(config)
    async with dispatcher(loaded, Secrets()) as d:
        return await d.run(datetime.fromisoformat(now))


def email_rows(report: Report, notice: str = "closure-2024-03-26") -> list[tuple[str, str, int]]:
    """(status, detail, count) of the email rows for one notice."""
    return [
        (r.status, r.detail, r.count)
        for r in report.rows
        if r.channel == "email" and r.notice_id == notice
    ]


def email_deliveries(root: Path) -> list[Delivery]:
    ledger = Ledger(f"sqlite:///{root / 'ledger.db'}")
    try:
        return list(ledger.iter_history(channel="email"))
    finally:
        ledger.close()


def states(root: Path) -> dict[tuple[str, str], str]:
    return {(d.notice_id, d.target): d.state for d in email_deliveries(root)}


# -- the happy path, repeats, invalid rows, suppression ------------------------------------


async def test_each_subscriber_gets_the_notice_once(
    sink: SmtpSink, here: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [
        "amelia.tan@example.com,Amelia Tan",
        "Amelia.Tan@EXAMPLE.com,Amelia again",  # the same person: one message
        "not-an-address,Nobody",  # line 4: reported and skipped
        "ravi@example.org,Ravi",
        "gone@example.net,Unsubscribed Earlier",
        *subscribers(7),
    ]
    config = write_project(here, rows, port=sink.port, connections=3)
    ledger = Ledger(f"sqlite:///{here / 'ledger.db'}")
    ledger.suppress(["gone@example.net"], "unsubscribe link")
    ledger.close()

    with caplog.at_level(logging.WARNING):
        report = await run_pass(config)

    expected = {"amelia.tan@example.com", "ravi@example.org"} | {
        f"subscriber{i}@example.com" for i in range(7)
    }
    assert sink.handler.per_address() == dict.fromkeys(expected, 1)
    assert email_rows(report) == [("sent", "", 9)]
    assert "skipped 1 invalid rows: line 4: 'not-an-address'" in caplog.text
    amelia = sink.handler.messages()["amelia.tan@example.com"].message
    assert amelia["To"] == "Amelia Tan <amelia.tan@example.com>"  # the first row wins
    assert amelia["Subject"] == "Glow Aesthetics closed 26 Mar (Tue) – 27 Mar (Wed)"
    link = str(amelia["List-Unsubscribe"]).split(">")[0].removeprefix("<")
    token = link.rpartition("token=")[2]
    assert tokens.verify(token, SECRET) == "amelia.tan@example.com"
    mailto = str(amelia["List-Unsubscribe"]).split("<")[2].removesuffix(">")
    assert mailto == f"mailto:hello@glow-aesthetics.example?subject={quote('unsubscribe ' + token)}"
    body = amelia.get_body(("plain",))
    assert body is not None and link in body.get_content()

    again = await run_pass(config)
    assert email_rows(again) == [("already sent", "", 9)]
    assert sink.handler.count() == 9


async def test_4xx_waits_for_a_later_pass_and_5xx_fails_that_recipient_only(
    sink: SmtpSink, here: Path
) -> None:
    config = write_project(here, subscribers(6), port=sink.port)
    busy, unknown = "subscriber1@example.com", "subscriber4@example.com"
    sink.handler.rcpt_replies[busy] = ["451 4.7.1 Greylisted, try later"] * 3  # every in-pass try
    sink.handler.rcpt_replies[unknown] = ["550 5.1.1 No such user"]

    first = await run_pass(config)
    assert first.exit_code() == 1
    ((status, detail, count),) = email_rows(first)
    assert (status, count) == ("failed", 1)
    assert "550 5.1.1 No such user" in detail
    assert states(here)[("closure-2024-03-26", busy)] == "retry"
    assert states(here)[("closure-2024-03-26", unknown)] == "failed"
    assert set(sink.handler.per_address()) == {f"subscriber{i}@example.com" for i in (0, 2, 3, 5)}

    second = await run_pass(config, "2024-03-20T12:00:00+08:00")  # the greylisting is over
    assert sink.handler.per_address()[busy] == 1
    assert unknown not in sink.handler.per_address()  # failed is final
    assert max(sink.handler.per_address().values()) == 1
    assert email_rows(second) == [("sent", "", 1)]


async def test_a_message_whose_reply_was_lost_is_unknown_and_never_resent(
    sink: SmtpSink, here: Path
) -> None:
    config = write_project(here, subscribers(4), port=sink.port)
    lost = "subscriber2@example.com"
    sink.handler.drop_after_data = {lost}  # the server keeps the message, then hangs up

    first = await run_pass(config)
    assert first.exit_code() == 1
    ((status, detail, count),) = email_rows(first)
    assert (status, count) == ("unknown", 1)  # not hidden behind the three that went out
    assert detail.startswith("unconfirmed: ") and detail.endswith(" (3 sent)")
    assert states(here)[("closure-2024-03-26", lost)] == "unknown"

    await run_pass(config, "2024-03-20T12:00:00+08:00")
    assert sink.handler.per_address() == {f"subscriber{i}@example.com": 1 for i in range(4)}
    assert states(here)[("closure-2024-03-26", lost)] == "unknown"  # a person decides


async def test_a_list_already_served_is_not_read_again_until_it_changes(
    sink: SmtpSink, here: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A large list is walked once per notice: later passes look at the ledger, not the CSV.
    A new subscriber, or a delivery an operator asks to resend, makes it walk again."""
    caplog.set_level(logging.WARNING)
    config = write_project(here, [*subscribers(3), "not-an-address,Nobody"], port=sink.port)
    sink.handler.rcpt_replies["subscriber1@example.com"] = ["550 5.1.1 No such user"]
    await run_pass(config)
    assert "skipped 1 invalid rows" in caplog.text  # read once, problems reported
    caplog.clear()

    again = await run_pass(config)
    assert "invalid rows" not in caplog.text  # not read at all
    assert email_rows(again) == [("failed", "", 1)]  # the same verdict as reading it would give
    assert sink.handler.count() == 2

    with (here / "subscribers.csv").open("a") as csv:
        csv.write("newcomer@example.com,New\n")
    await run_pass(config)
    assert "skipped 1 invalid rows" in caplog.text  # the list changed: read again
    assert sink.handler.per_address()["newcomer@example.com"] == 1
    assert sink.handler.count() == 3

    (failed,) = [d.id for d in email_deliveries(here) if d.target == "subscriber1@example.com"]
    sink.handler.rcpt_replies.clear()
    resend = CliRunner().invoke(app, ["resolve", str(failed), "--resend", "--config", str(config)])
    assert resend.exit_code == 0, resend.output
    await run_pass(config)
    assert sink.handler.per_address()["subscriber1@example.com"] == 1
    assert max(sink.handler.per_address().values()) == 1


async def test_an_unsubscribed_address_gets_no_more_mail(sink: SmtpSink, here: Path) -> None:
    config = write_project(here, subscribers(4), port=sink.port)
    await run_pass(config)
    message = sink.handler.messages()["subscriber2@example.com"].message
    token = str(message["List-Unsubscribe"]).partition("token=")[2].partition(">")[0]

    result = CliRunner().invoke(app, ["unsubscribe", "--token", token, "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "unsubscribed subscriber2@example.com" in result.output

    report = await run_pass(config, LATER)  # the article is due now
    assert email_rows(report, "article-botox-depression") == [("sent", "", 3)]
    received = [(m.rcpt_tos[0], m.message["Subject"]) for m in sink.handler.received]
    assert (
        "subscriber2@example.com",
        "New on the Glow Aesthetics blog: Can Botox Treat Depression? Here’s the Science",
    ) not in received
    assert len(received) == 4 + 3


# -- configuration -------------------------------------------------------------------------


def section(tmp_path: Path, **overrides: Any) -> EmailConfig:
    csv = tmp_path / "subscribers.csv"
    if not csv.exists():
        csv.write_text("email,name\na@example.com,A\n")
    values = {
        "transport": "smtp",
        "from": "Glow <hello@glow.example>",
        "subscribers": str(csv),
        "unsubscribe_url": "https://glow.example/u?t={token}",
        **overrides,
    }
    return EmailConfig.model_validate(values)


@pytest.mark.parametrize(
    ("overrides", "env", "reason"),
    [
        ({}, {}, "set BROADCAST_EMAIL_UNSUBSCRIBE_SECRET (32+ random characters)"),
        ({}, {"BROADCAST_EMAIL_UNSUBSCRIBE_SECRET": "short"}, "is too short (5 characters)"),
        (
            {"username": "hello@glow.example"},
            {"BROADCAST_EMAIL_UNSUBSCRIBE_SECRET": SECRET},
            "set BROADCAST_SMTP_PASSWORD for SMTP user hello@glow.example",
        ),
        (
            {"subscribers": "missing.csv"},
            {"BROADCAST_EMAIL_UNSUBSCRIBE_SECRET": SECRET},
            "missing.csv: cannot read: No such file or directory",
        ),
    ],
)
def test_a_channel_missing_a_secret_or_its_list_is_skipped_with_the_reason(
    here: Path,
    monkeypatch: pytest.MonkeyPatch,
    overrides: dict[str, Any],
    env: dict[str, str],
    reason: str,
) -> None:
    monkeypatch.delenv("BROADCAST_EMAIL_UNSUBSCRIBE_SECRET")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    ledger = Ledger(f"sqlite:///{here / 'ledger.db'}")
    try:
        result = email_channel(section(here, **overrides), Secrets(), ledger)
    finally:
        ledger.close()
    assert isinstance(result, Skipped)
    assert result.name == "email"
    assert reason in result.reason


def test_the_maildir_demo_needs_no_secret(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BROADCAST_EMAIL_UNSUBSCRIBE_SECRET")
    ledger = Ledger(f"sqlite:///{here / 'ledger.db'}")
    try:
        result = email_channel(section(here, transport="maildir"), Secrets(), ledger)
    finally:
        ledger.close()
    assert isinstance(result, EmailChannel)


async def test_the_maildir_demo_makes_its_folders(here: Path) -> None:
    config = write_project(here, subscribers(2), transport="maildir", maildir="out/mail/box")
    report = await run_pass(config)
    assert email_rows(report) == [("sent", "", 2)]
    assert len(list((here / "out/mail/box/new").iterdir())) == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"from": "Glow"}, "from: 'Glow' is not an address like"),
        ({"reply_to": "desk@glow"}, "reply_to: 'desk@glow': The part after the @-sign"),
        ({"unsubscribe_url": "http://glow.example/u?t={token}"}, "must start with https://"),
        ({"unsubscribe_url": "https://glow.example/unsubscribe"}, "must contain {token} once"),
        ({"connections": 0}, "connections: Input should be greater than or equal to 1"),
        ({"security": "ssl"}, "security: Input should be 'none', 'starttls' or 'tls'"),
        (
            {"username": "u", "security": "none", "host": "smtp.example.net"},
            "email: security: none would send the SMTP password unencrypted",
        ),
        ({"sender": "Glow <a@glow.example>"}, "sender: unknown key"),
    ],
)
def test_config_mistakes_name_the_line_and_key(
    here: Path, overrides: dict[str, Any], message: str
) -> None:
    config = write_project(here, subscribers(1), port=2525, **overrides)
    with pytest.raises(ConfigError) as caught:
        config_module.load(config)
    text = str(caught.value)
    assert message in text
    assert text.startswith(f"{config}:")
    line = int(text.split(":")[1])
    assert line >= 16  # inside channels.email, where the admin has to look


# -- the command line ----------------------------------------------------------------------


def test_the_demo_writes_one_eml_per_subscriber_and_notice(project: Path) -> None:
    code, output = broadcast("run", "--now", NOW)
    assert code == 0, output
    outbox = project / "var/outbox/new"
    first = sorted(p.name for p in outbox.iterdir())
    subscribers_csv = (project / "config/subscribers.csv").read_text(encoding="utf-8")
    addresses = [line.split(",")[0] for line in subscribers_csv.splitlines()[1:]]
    assert len(first) == 2 * len(addresses)  # the closure and the article
    delivered = sorted(
        line.split(": ")[1]
        for path in outbox.iterdir()
        for line in path.read_text(encoding="ascii").splitlines()
        if line.startswith("Delivered-To: ")
    )
    assert delivered == sorted(addresses * 2)

    code, output = broadcast("run", "--now", NOW)
    assert code == 0 and "already sent" in output
    assert sorted(p.name for p in outbox.iterdir()) == first


def test_validate_points_at_bad_and_repeated_subscriber_rows(project: Path) -> None:
    csv = project / "config/subscribers.csv"
    csv.write_text(csv.read_text() + "amelia.tan@EXAMPLE.com,Again\nwho@,Broken\n")
    code, output = broadcast("validate")
    assert code == 0, output
    assert "config/subscribers.csv: line 9: 'who@': There must be something after the @-sign." in (
        output.replace("\n", " ")
    )
    assert "1 repeated address (line 8): each address gets one message" in output


def test_unsubscribe_by_address_is_case_insensitive_and_idempotent(here: Path) -> None:
    config = str(write_project(here, subscribers(1), port=2525))
    code, output = broadcast("unsubscribe", "Ravi@Example.ORG", "--config", config)
    assert code == 0 and "unsubscribed ravi@example.org" in output
    code, output = broadcast("unsubscribe", "ravi@example.org", "--config", config)
    assert (
        code == 0 and "ravi@example.org was already unsubscribed (broadcast unsubscribe" in output
    )
    code, output = broadcast("unsubscribe", "ravi@", "--config", config)
    assert code == 2 and "There must be something after the @-sign" in output
    code, output = broadcast("unsubscribe", "--token", "1.x.y", "--config", config)
    assert code == 2 and "this token was not made with the configured secret" in output


def test_broadcast_run_over_smtp(sink: SmtpSink, here: Path) -> None:
    config = str(write_project(here, subscribers(20), port=sink.port))
    code, output = broadcast("run", "--config", config, "--now", NOW)
    assert code == 0, output
    assert sink.handler.per_address() == {f"subscriber{i}@example.com": 1 for i in range(20)}
    assert "closure-2024-03-26" in output and "sent" in output


# -- exactly once, even when killed -----------------------------------------------------------


def start_run(config: Path, root: Path, log: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BROADCAST_EMAIL_UNSUBSCRIBE_SECRET": SECRET}
    command = [sys.executable, "-c", "from broadcaster.cli import main; main()"]
    with (root / log).open("wb") as out:
        return subprocess.Popen(
            [*command, "run", "--config", str(config), "--now", NOW],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def slow_sink(sink: SmtpSink) -> Iterator[SmtpSink]:
    sink.handler.latency = 0.02  # a real server's pace: the kill lands mid-list
    yield sink


def test_a_run_killed_mid_list_and_rerun_sends_everyone_exactly_once(
    slow_sink: SmtpSink, here: Path
) -> None:
    total = 400
    config = write_project(here, subscribers(total), port=slow_sink.port)
    killed = start_run(config, here, "killed.log")
    try:
        slow_sink.wait_for(total // 4, timeout=120)
        killed.send_signal(signal.SIGKILL)
    finally:
        killed.kill()
        killed.wait(30)
    at_kill = slow_sink.handler.count()
    assert at_kill < total, "the run finished before it could be killed"

    rerun = start_run(config, here, "rerun.log")
    assert rerun.wait(180) == 0, (here / "rerun.log").read_text()
    slow_sink.wait_idle()  # the killed run's last message too: received, or lost for good

    received = slow_sink.handler.per_address()
    ledger = {target: state for (_notice, target), state in states(here).items()}
    unknown = {target for target, state in ledger.items() if state == "unknown"}
    assert max(received.values()) == 1  # nobody got it twice
    assert len(ledger) == total
    # only what the killed run had started or marked to start (two groups ahead), two
    # messages in flight per connection, and a group's outcomes not yet written: its other
    # claims were released and sent
    assert len(unknown) <= 3 * max(START_AHEAD, CONNECTIONS // 4) + 2 * CONNECTIONS
    assert {t for t, s in ledger.items() if s != "unknown"} == {
        t for t, s in ledger.items() if s == "sent"
    }
    for address in ledger.keys() - unknown:
        assert received[address] == 1, address

    listed = start_run(config, here, "third.log")
    assert listed.wait(120) == (1 if unknown else 0)  # in doubt: a person must look
    assert slow_sink.handler.per_address() == received  # unknown is never resent blindly
    if unknown:
        assert "unknown" in (here / "third.log").read_text()  # listed for a person to settle

    # The operator settles each one from the mail server's log, as the README says.
    for d in (d for d in email_deliveries(here) if d.state == "unknown"):
        verdict = "--sent" if received.get(d.target) else "--resend"
        settled = CliRunner().invoke(app, ["resolve", str(d.id), verdict, "--config", str(config)])
        assert settled.exit_code == 0, settled.output
    final = start_run(config, here, "final.log")
    assert final.wait(120) == 0
    slow_sink.wait_idle()
    everyone = slow_sink.handler.per_address()
    assert len(everyone) == total and set(everyone.values()) == {1}


async def test_a_send_stopped_half_way_leaves_no_half_messages(sink: SmtpSink, here: Path) -> None:
    """Cancelling a pass (what a stopping worker does) closes connections cleanly."""
    sink.handler.latency = 0.05
    config = write_project(here, subscribers(40), port=sink.port)
    task = asyncio.ensure_future(run_pass(config))
    await asyncio.to_thread(sink.wait_for, 4)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    arrived = sink.handler.count()
    await asyncio.to_thread(sink.wait_idle)  # every connection closed: nothing more can arrive
    assert sink.handler.count() <= arrived + 4  # at most what was already in flight
    assert max(sink.handler.per_address().values()) == 1
