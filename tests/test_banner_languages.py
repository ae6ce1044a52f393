"""The banner in every site language: one text per language in each entry, each rendered and
stored like any message (``closure-2024-03-26.zh``), and still one delivery per notice.

The Chinese wording comes from a template of the test's own (``templates/zh/banner/``), so
these tests hold whatever the built-in translations say; a language without its own template
is told in the English wording with its own dates.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx

from broadcaster import config as config_module
from broadcaster.config import Secrets
from broadcaster.dispatch import Dispatcher
from broadcaster.ledger import Ledger
from broadcaster.render import day
from broadcaster.report import Report
from tests.commands import broadcast, history
from tests.languages import CHINESE, CHINESE_REASON, LANGUAGES, ZH_TEMPLATE, in_four_languages

DEMO_NOW = "2024-03-20T09:00:00+08:00"
LATER = "2024-03-20T10:00:00+08:00"


def banner_json(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (project / "site/notices/banner.json").read_text(encoding="utf-8")
    )
    return data


def run(now: str) -> str:
    code, output = broadcast("run", "--now", now)
    assert code == 0, output
    return output


def test_four_languages_give_four_texts_per_entry(project: Path) -> None:
    in_four_languages(project)
    run(DEMO_NOW)
    data = banner_json(project)
    assert data["languages"] == [
        {"lang": "en", "name": "English"},
        {"lang": "zh", "name": "中文"},
        {"lang": "ms", "name": "Melayu"},
        {"lang": "ta", "name": "தமிழ்"},
    ]
    (entry,) = data["notices"]
    texts = entry["texts"]
    assert list(texts) == LANGUAGES
    assert all(set(texts[lang]) == {"text", "html"} for lang in LANGUAGES)
    # the fields embeds read before languages: the default language's, as they were
    assert (entry["lang"], entry["text"], entry["html"]) == (
        "en",
        texts["en"]["text"],
        texts["en"]["html"],
    )
    assert "Our outlets will be closed from <strong>26 Mar (Tue)</strong>" in entry["html"]
    # Chinese: the test's template, the reason's translation, the dates in Chinese
    zh = texts["zh"]["html"]
    assert zh.startswith("<p>本诊所") and CHINESE_REASON in zh
    assert day(date(2024, 3, 26), "zh", "SG") in zh
    # Malay and Tamil: the built-in templates' wording, their own dates
    for lang, opening in (("ms", "<p>Semua cawangan kami"), ("ta", "<p>")):
        told = texts[lang]["html"]
        assert told.startswith(opening) and "will be closed" not in told
        assert day(date(2024, 3, 26), lang, "SG") in told
        assert day(date(2024, 3, 26), "en", "SG") not in told
    assert len({texts[lang]["html"] for lang in LANGUAGES}) == 4


def test_the_calendar_and_json_ld_stay_in_the_default_language(project: Path) -> None:
    """One description each is all the formats allow: the default language's."""
    from icalendar import Calendar

    in_four_languages(project)
    run(DEMO_NOW)
    (entry,) = banner_json(project)["notices"]
    ics = (project / "site/notices/closures.ics").read_bytes()
    (event,) = Calendar.from_ical(ics).walk("VEVENT")
    assert str(event["description"]) == entry["text"]
    jsonld = json.loads((project / "site/notices/closures.jsonld").read_text(encoding="utf-8"))
    descriptions = {
        special["description"]
        for node in jsonld["@graph"]
        for special in node["specialOpeningHoursSpecification"]
    }
    assert descriptions == {"our annual team bonding event"}


def test_the_banner_is_still_one_delivery_per_notice(project: Path) -> None:
    in_four_languages(project)
    first = run(DEMO_NOW)
    second = run(LATER)
    banner = [
        (r["notice"], r["occasion"], r["state"]) for r in history() if r["channel"] == "banner"
    ]
    assert sorted(banner) == [
        ("banner:state", "publish", "sent"),
        ("closure-2024-03-26", "banner", "sent"),
    ]
    assert "closure-2024-03-26.zh" in first  # the email tells it in Chinese on its own ...
    banner_rows = [line for line in second.splitlines() if "│ banner " in line]
    assert len(banner_rows) == 1 and "already sent" in banner_rows[0]  # ... the banner does not


def test_what_is_stored_is_what_is_shown(project: Path) -> None:
    """Each language's banner text is rendered once and stored: a template edited while the
    notice is showing changes nothing until the notice does."""
    in_four_languages(project)
    run(DEMO_NOW)
    before = banner_json(project)["notices"][0]["texts"]
    (project / ZH_TEMPLATE).write_text("<p>别的话</p>\n", encoding="utf-8")
    run(LATER)
    assert banner_json(project)["notices"][0]["texts"] == before
    code, output = broadcast("preview", "closure-2024-03-26", "--channel", "banner")
    assert code == 0, output
    assert "banner [zh]" in output and "本诊所" in output


def test_validate_renders_the_banner_in_each_language(project: Path) -> None:
    in_four_languages(project, zh_template="<p>{{ no_such_thing }}</p>\n")
    code, output = broadcast("validate")
    assert code != 0, output
    flat = " ".join(output.split())
    assert ZH_TEMPLATE in flat and "no_such_thing" in flat
    assert "in zh for banner" in flat


def test_run_refuses_to_start_with_a_banner_template_broken_in_one_language(
    project: Path,
) -> None:
    in_four_languages(project, zh_template="<p>{{ no_such_thing }}</p>\n")
    code, output = broadcast("run", "--now", DEMO_NOW)
    assert code == 2, output
    assert ZH_TEMPLATE in output and "in zh for banner" in " ".join(output.split())
    assert not (project / "site/notices/banner.json").exists()


async def test_a_language_that_cannot_be_rendered_holds_the_notice_back_until_it_is_fixed(
    project: Path,
) -> None:
    """A template that breaks after ``run`` checked them (an article's text can trip one):
    shown half-translated, the fault would go unseen, so the notice's banner entry is
    ``retry`` with the template named, and the first pass after the fix shows it."""
    in_four_languages(project)
    broken = "<p>{{ no_such_thing }}</p>\n"
    report = await one_pass(project, DEMO_NOW, then_write=broken)
    (row,) = [r for r in report.rows if r.channel == "banner" and r.notice_id != "*"]
    assert (row.notice_id, row.status) == ("closure-2024-03-26", "retry")
    assert ZH_TEMPLATE in row.detail and "no_such_thing" in row.detail
    assert banner_json(project)["notices"] == []

    report = await one_pass(project, LATER, then_write=CHINESE)
    (row,) = [r for r in report.rows if r.channel == "banner"]
    assert (row.notice_id, row.status) == ("closure-2024-03-26", "sent")
    (entry,) = banner_json(project)["notices"]
    assert list(entry["texts"]) == LANGUAGES and CHINESE_REASON in entry["texts"]["zh"]["html"]


async def one_pass(project: Path, now: str, *, then_write: str) -> Report:
    """A pass in process, the Chinese template written once the config is loaded (after the
    checks ``run`` makes before its first pass)."""
    loaded = config_module.load("config/broadcaster.yaml")
    ledger = Ledger(f"sqlite:///{project / 'var/ledger.db'}")
    try:
        async with httpx.AsyncClient() as http:
            dispatcher = Dispatcher(loaded, Secrets(), ledger, http)
            (project / ZH_TEMPLATE).write_text(then_write, encoding="utf-8")
            return await dispatcher.run(datetime.fromisoformat(now))
    finally:
        ledger.close()
