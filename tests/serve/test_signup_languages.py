"""Sign-up on a site in English, Chinese, Malay and Tamil: the form asks which language (the
browser's best match preselected), the choice travels in the signed link and is kept, and
the notices then come in it -- a real pass against a real SMTP server (aiosmtpd on
127.0.0.1). The preferences page lets someone who signed up change it.

The Chinese templates are this test's own (``zh/email/...``), so it does not depend on the
built-in translations.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from broadcaster.channels.email import tokens
from broadcaster.config import Secrets
from broadcaster.runtime import dispatcher
from broadcaster.serve.app import Serve
from tests.channels.conftest import SmtpSink

from .conftest import UNSUBSCRIBE_SECRET, Project, form_token, sign_up, write_config

ANNOUNCE = "2024-03-20T09:00:00+08:00"
ZH_TEMPLATES = {
    "confirm.subject.txt": "请确认订阅{{ site.name }}的通知",
    "confirm.txt": "{{ name or '您好' }}：\n\n请打开以下链接确认：\n\n{{ link }}",
    "confirm.html": '<html lang="{{ lang }}"><body><p><a href="{{ link }}">确认</a></p></body></html>',
    "closure.subject.txt": "{{ site.name }}休息通知：{{ start|day }}",
    "closure.txt": "[[name|您好]]，\n\n我们将于{{ start|day }}休息。",
    "closure.html": (
        '{% extends "email/_layout.html" %}{% block body %}'
        "<p>我们将于{{ start|day }}休息。</p>{% endblock %}"
    ),
}


@pytest.fixture
def project(tmp_path: pytest.TempPathFactory, sink: SmtpSink, secrets_env: None) -> Project:
    """The serve tests' project, with four languages and a folder of Chinese templates."""
    root = tmp_path
    config = write_config(root, sink.port)  # type: ignore[arg-type]
    text = config.read_text(encoding="utf-8").replace(
        '  timezone: "Asia/Singapore"\n',
        '  timezone: "Asia/Singapore"\n  languages: [en, zh, ms, ta]\n  region: SG\n',
    )
    config.write_text(text + f'templates: "{root}/templates"\n', encoding="utf-8")
    folder = root / "templates" / "zh" / "email"  # type: ignore[operator]
    folder.mkdir(parents=True)
    for name, body in ZH_TEMPLATES.items():
        (folder / name).write_text(body + "\n", encoding="utf-8")
    return Project(root, config, sink)  # type: ignore[arg-type]


def offered(page: str) -> tuple[list[tuple[str, str]], str | None]:
    """The language options of a page (value, label), and the one selected."""
    options = re.findall(r'<option value="([^"]+)" lang="[^"]+"( selected)?>([^<]+)</option>', page)
    chosen = [value for value, selected, _label in options if selected]
    return [(value, label) for value, _selected, label in options], (chosen or [None])[0]


async def confirm(client: httpx.AsyncClient, project: Project, address: str) -> None:
    path = project.confirmation_link(address).removeprefix("http://127.0.0.1:8080")
    page = (await client.get(path)).text
    token = re.search(r'name="token" value="([^"]+)"', page)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token and csrf
    done = await client.post("/confirm", data={"token": token.group(1), "csrf": csrf.group(1)})
    assert done.status_code == 200


async def test_the_form_offers_the_sites_languages_the_browsers_first(
    client: httpx.AsyncClient,
) -> None:
    chinese = await client.get("/subscribe", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    options, chosen = offered(chinese.text)
    assert options == [("en", "English"), ("zh", "中文"), ("ms", "Melayu"), ("ta", "தமிழ்")]
    assert chosen == "zh"
    assert offered((await client.get("/subscribe")).text)[1] == "en"  # no preference: default
    french = await client.get("/subscribe", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert offered(french.text)[1] == "en"
    snippet = await client.get("/signup.js", headers={"Accept-Language": "ta-SG"})
    assert 'value=\\"ta\\" lang=\\"ta\\" selected' in snippet.text  # the embedded form too


async def test_a_sign_up_in_chinese_gets_its_notices_in_chinese(
    client: httpx.AsyncClient, state: Serve, project: Project
) -> None:
    answer = await sign_up(client, "wei@example.com", name="Wei", language="zh")
    assert answer.status_code == 200

    mail = project.sink.handler.messages()["wei@example.com"].message
    assert mail["Content-Language"] == "zh"
    assert mail["Subject"] == "请确认订阅Glow Aesthetics的通知"
    await confirm(client, project, "wei@example.com")
    assert state.book.get("wei@example.com").language == "zh"  # type: ignore[union-attr]
    project.sink.handler.received.clear()

    async with dispatcher(project.loaded(), Secrets()) as d:
        await d.run(datetime.fromisoformat(ANNOUNCE))

    received = project.sink.handler.messages()
    assert set(received) == {"wei@example.com", "ann@example.com"}
    assert project.sink.handler.count() == 2
    wei = received["wei@example.com"].message
    assert (wei["Content-Language"], wei["Subject"]) == (
        "zh",
        "Glow Aesthetics休息通知：3月26日（周二）",
    )
    ann = received["ann@example.com"].message  # in the CSV, with no language: the default
    assert (ann["Content-Language"], ann["Subject"]) == (
        "en",
        "Glow Aesthetics closed 26 Mar (Tue) – 27 Mar (Wed)",
    )


async def test_a_language_the_site_does_not_have_is_the_browsers_best(
    client: httpx.AsyncClient, state: Serve, project: Project
) -> None:
    csrf = await form_token(client)
    data = {"csrf": csrf, "email": "siti@example.com", "language": "xx"}
    await client.post("/subscribe", data=data, headers={"Accept-Language": "ms-MY,en;q=0.5"})
    await confirm(client, project, "siti@example.com")

    assert state.book.get("siti@example.com").language == "ms"  # type: ignore[union-attr]


async def test_the_preferences_page_changes_the_language_of_someone_who_signed_up(
    client: httpx.AsyncClient, state: Serve
) -> None:
    state.book.confirm("wei@example.com", "Wei", datetime.now(UTC), language="zh")
    link = f"/unsubscribe?token={tokens.make('wei@example.com', UNSUBSCRIBE_SECRET)}"
    page = (await client.get(link)).text
    assert offered(page)[1] == "zh"
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf

    saved = await client.post(
        "/preferences",
        data={
            "csrf": csrf.group(1),
            "token": tokens.make("wei@example.com", UNSUBSCRIBE_SECRET),
            "topics": "all",
            "language": "ta",
        },
    )

    assert saved.status_code == 200 and "in தமிழ்" in saved.text
    assert state.book.get("wei@example.com").language == "ta"  # type: ignore[union-attr]
    listed = await client.get(
        f"/unsubscribe?token={tokens.make('ann@example.com', UNSUBSCRIBE_SECRET)}"
    )
    assert offered(listed.text) == ([], None)  # the CSV's own language: the list says it
