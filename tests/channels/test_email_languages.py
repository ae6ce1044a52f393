"""Each subscriber gets each notice once, in their language: a real pass (the dispatcher)
against a real SMTP server (aiosmtpd on 127.0.0.1), on a site in English, Chinese, Malay and
Tamil.

The list says each person's language the ways exports do (``zh-SG``, ``中文``, ``Bahasa
Melayu``, ``ta``), or says nothing, or names a language the site does not have; a person in
the subscriber book chose theirs on the sign-up page. The Chinese messages come from a
template folder of this test's own (``zh/email/...``), so the test does not depend on the
built-in translations.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broadcaster import config as config_module
from broadcaster.channels.email import CLAIM_BATCH
from broadcaster.config import Secrets
from broadcaster.ledger import Ledger
from broadcaster.ledger.subscribers import SubscriberBook
from broadcaster.report import Report
from broadcaster.runtime import dispatcher

from .conftest import Received, SmtpSink

NOW = "2024-03-20T09:00:00+08:00"
LATER = "2024-03-21T09:00:00+08:00"
SECRET = "test-unsubscribe-secret-0123456789"
PROJECT = """\
site:
  name: "Glow Aesthetics"
  url: "https://www.glow-aesthetics.example"
  timezone: "Asia/Singapore"
  languages: [en, zh, ms, ta]
  region: SG
closures:
  - start: 2024-03-26
    end: {end}
    reason: {{en: "our annual team bonding event", zh: "一年一度的团队建设活动"}}
channels:
  email:
    transport: smtp
    host: "127.0.0.1"
    port: {port}
    security: none
    from: "Glow Aesthetics <hello@glow-aesthetics.example>"
    subscribers: "{root}/subscribers.csv"
    unsubscribe_url: "https://www.glow-aesthetics.example/unsubscribe?token={{token}}"
    timeout: 10
database: "sqlite:///{root}/ledger.db"
templates: "{root}/templates"
"""
LIST = """\
email,name,language
amelia@example.com,Amelia,en
wei@example.com,Wei,zh-SG
mei@example.com,Mei,中文
WEI@Example.com,Wei again,ta
siti@example.com,Siti,Bahasa Melayu
kumar@example.com,Kumar,ta
noone@example.com,No Language,
pierre@example.com,Pierre,fr
chosen@example.com,Chose On The Page,en
"""
#: the language each address reads: ``chosen`` chose Chinese on the sign-up page, which
#: wins over the list; ``joined`` is in the book only; Wei is listed twice, in two languages,
#: and gets one message, in the site's earlier language
EXPECTED = {
    "amelia@example.com": "en",
    "wei@example.com": "zh",
    "mei@example.com": "zh",
    "siti@example.com": "ms",
    "kumar@example.com": "ta",
    "noone@example.com": "en",
    "pierre@example.com": "en",
    "chosen@example.com": "zh",
    "joined@example.com": "ms",
}
ZH_TEMPLATES = {
    "closure.subject.txt": "{{ site.name }}休息通知：{{ start|day }}",
    "closure.txt": "[[name|您好]]，\n\n我们将于{{ start|day }}至{{ end|day }}休息（{{ reason }}）。",
    "closure.html": (
        '{% extends "email/_layout.html" %}{% block body %}'
        "<p>我们将于{{ start|day }}至{{ end|day }}休息（{{ reason }}）。</p>{% endblock %}"
    ),
    "closure-update.subject.txt": "更正：{{ site.name }}休息至{{ end|day }}",
    "closure-update.txt": "[[name|您好]]，\n\n更正：我们将休息至{{ end|day }}。",
    "closure-update.html": (
        '{% extends "email/_layout.html" %}{% block body %}'
        "<p>更正：我们将休息至{{ end|day }}。</p>{% endblock %}"
    ),
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sink: SmtpSink) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BROADCAST_EMAIL_UNSUBSCRIBE_SECRET", SECRET)
    (tmp_path / "subscribers.csv").write_text(LIST, encoding="utf-8")
    folder = tmp_path / "templates" / "zh" / "email"
    folder.mkdir(parents=True)
    for name, text in ZH_TEMPLATES.items():
        (folder / name).write_text(text + "\n", encoding="utf-8")
    write_config(tmp_path, sink, end="2024-03-27")
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    book, now = SubscriberBook(ledger.engine), datetime.now(UTC)
    book.confirm("chosen@example.com", "", now, language="zh")
    book.confirm("joined@example.com", "Joined", now, language="ms")
    ledger.close()
    return tmp_path / "broadcaster.yaml"


def write_config(root: Path, sink: SmtpSink, *, end: str) -> None:
    text = PROJECT.format(root=root, port=sink.port, end=end)
    (root / "broadcaster.yaml").write_text(text, encoding="utf-8")


async def run_pass(config: Path, now: str) -> Report:
    async with dispatcher(config_module.load(config), Secrets()) as d:
        return await d.run(datetime.fromisoformat(now))


def languages(received: list[Received]) -> dict[str, str]:
    """Address -> the Content-Language of the one message it got (asserted: only one)."""
    counted = Counter(m.rcpt_tos[0] for m in received)
    assert max(counted.values()) == 1, counted
    return {m.rcpt_tos[0]: str(m.message["Content-Language"]) for m in received}


def html_of(received: Received) -> str:
    part = received.message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


async def test_each_subscriber_gets_the_notice_once_in_their_language(
    sink: SmtpSink, project: Path
) -> None:
    report = await run_pass(project, NOW)

    assert languages(sink.handler.received) == EXPECTED
    sent = {r.notice_id: r.count for r in report.rows if r.channel == "email"}
    assert sent == {
        "closure-2024-03-26": 3,
        "closure-2024-03-26.zh": 3,
        "closure-2024-03-26.ms": 2,
        "closure-2024-03-26.ta": 1,
    }
    mail = sink.handler.messages()
    wei = mail["wei@example.com"].message
    assert wei["Subject"] == "Glow Aesthetics休息通知：3月26日（周二）"
    assert wei["To"] == "Wei <wei@example.com>"  # the first of the repeated rows
    assert '<html lang="zh">' in html_of(mail["wei@example.com"])
    assert "一年一度的团队建设活动" in html_of(mail["wei@example.com"])
    amelia = mail["amelia@example.com"].message
    assert amelia["Subject"] == "Glow Aesthetics closed 26 Mar (Tue) – 27 Mar (Wed)"
    assert '<html lang="en">' in html_of(mail["amelia@example.com"])
    assert '<html lang="ta">' in html_of(mail["kumar@example.com"])  # English words for now

    again = await run_pass(project, NOW)

    assert sink.handler.count() == len(EXPECTED)
    assert {r.status for r in again.rows if r.channel == "email"} == {"already sent"}


async def test_an_address_listed_twice_far_apart_in_two_languages_gets_one_message(
    sink: SmtpSink, project: Path
) -> None:
    """Repeats within a claim batch are dropped as the list is read; further apart, the
    ledger sees that the address already has the notice in another language."""
    fillers = [f"filler{i}@example.com,Filler {i}," for i in range(CLAIM_BATCH + 10)]
    rows = ["email,name,language", "wei@example.com,Wei,zh", *fillers, "WEI@example.com,Wei,ta"]
    (project.parent / "subscribers.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    await run_pass(project, NOW)
    await run_pass(project, NOW)

    assert languages(sink.handler.received)["wei@example.com"] == "zh"
    assert sink.handler.count() == 1 + len(fillers) + 2  # and the two in the book


async def test_a_correction_goes_to_each_subscriber_in_their_language(
    sink: SmtpSink, project: Path
) -> None:
    await run_pass(project, NOW)
    sink.handler.received.clear()
    write_config(project.parent, sink, end="2024-03-28")  # one more day closed

    await run_pass(project, LATER)

    assert languages(sink.handler.received) == EXPECTED
    mail = sink.handler.messages()
    assert (
        mail["mei@example.com"].message["Subject"] == "更正：Glow Aesthetics休息至3月28日（周四）"
    )
    siti = mail["siti@example.com"].message["Subject"]
    assert siti.startswith("Perubahan: ") and "28 Mac (Kha)" in siti  # the Malay template
    assert "28 Mar (Thu)" in mail["amelia@example.com"].message["Subject"]

    await run_pass(project, LATER)
    assert sink.handler.count() == len(EXPECTED)  # the correction went once


async def test_a_new_language_is_used_from_the_next_message_and_nothing_comes_twice(
    sink: SmtpSink, project: Path
) -> None:
    """The announcement in Malay is not sent again in Tamil (its Tamil message is still due,
    and the list changed); the correction that follows is in Tamil."""
    await run_pass(project, NOW)
    ledger = Ledger(f"sqlite:///{project.parent / 'ledger.db'}")
    book = SubscriberBook(ledger.engine)
    assert book.set_language("joined@example.com", "ta", datetime.now(UTC))
    assert not book.set_language("amelia@example.com", "ta", datetime.now(UTC))  # the list's
    ledger.close()
    sink.handler.received.clear()

    again = await run_pass(project, NOW)

    assert sink.handler.count() == 0
    assert {r.status for r in again.rows if r.channel == "email"} == {"already sent"}

    write_config(project.parent, sink, end="2024-03-28")
    await run_pass(project, LATER)

    assert languages(sink.handler.received) == {**EXPECTED, "joined@example.com": "ta"}
    subject = sink.handler.messages()["joined@example.com"].message["Subject"]
    assert subject.startswith("மாற்றம்: ")  # the Tamil template's "Change of plan:"


async def test_a_language_whose_template_fails_fails_for_its_readers_only(
    sink: SmtpSink, project: Path
) -> None:
    """The Chinese message cannot be rendered: its readers' deliveries fail with the reason,
    and everyone else still gets theirs -- none of them is taken for a Chinese reader."""
    subject = project.parent / "templates" / "zh" / "email" / "closure.subject.txt"
    subject.write_text("{{ site.name }} {{ start.no_such_thing.at_all }}\n", encoding="utf-8")

    report = await run_pass(project, NOW)

    chinese = {a for a, language in EXPECTED.items() if language == "zh"}
    assert languages(sink.handler.received) == {
        a: language for a, language in EXPECTED.items() if a not in chinese
    }
    failed = [r for r in report.rows if r.notice_id == "closure-2024-03-26.zh"]
    assert [(r.status, r.count) for r in failed] == [("failed", len(chinese))]
    ledger = Ledger(f"sqlite:///{project.parent / 'ledger.db'}")
    try:
        recorded = {d.target for d in ledger.iter_history(notice_id="closure-2024-03-26.zh")}
    finally:
        ledger.close()
    assert recorded == chinese
