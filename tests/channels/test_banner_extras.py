"""Closures for machines: schema.org special opening hours and a calendar to subscribe to.

Both come from the banner's entries, so they appear when a closure is announced, change when
it is corrected, and are gone once the clinic reopens.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar
from typer.testing import CliRunner

from broadcaster.channels.banner import BannerChannel
from broadcaster.cli import app
from broadcaster.config import Site

SG = ZoneInfo("Asia/Singapore")
SITE = Site(
    name="Glow Aesthetics",
    url="https://www.glow-aesthetics.example",
    timezone="Asia/Singapore",
    outlets=["Orchard", "Tampines"],
)
TEXT = (
    "Our outlets will be closed from 26 Mar (Tue) to 27 Mar (Wed) for our annual team bonding "
    "event. We will resume operations on 28 Mar (Thu)."
)
TEAM_DAY: dict[str, Any] = {
    "id": "closure-2024-03-26",
    "kind": "closure",
    "start": "2024-03-19T00:00:00+08:00",
    "end": "2024-03-28T00:00:00+08:00",
    "text": TEXT,
    "html": f"<p>{TEXT}</p>",
    "facts": {
        "kind": "closure",
        "hours": None,
        "start": "2024-03-26",
        "end": "2024-03-27",
        "resume": "2024-03-28",
        "outlets": ["Orchard", "Tampines"],
        "all_outlets": True,
        "reason": "our annual team bonding event",
    },
}
RENOVATION: dict[str, Any] = {
    **TEAM_DAY,
    "id": "closure-2024-03-29-orchard",
    "start": "2024-03-22T00:00:00+08:00",
    "end": "2024-03-30T00:00:00+08:00",
    "text": "Our Orchard outlet will be closed on 29 Mar (Fri) for renovation, sorry; back 30 Mar.",
    "facts": {
        "kind": "closure",
        "hours": None,
        "start": "2024-03-29",
        "end": "2024-03-29",
        "resume": "2024-03-30",
        "outlets": ["Orchard"],
        "all_outlets": False,
        "reason": "renovation, sorry",
    },
}
DURING = datetime(2024, 3, 23, 9, tzinfo=SG)
CLOSED_DAY = {"@type": "OpeningHoursSpecification", "opens": "00:00", "closes": "00:00"}


async def publish(tmp_path: Path, entries: list[dict[str, Any]], now: datetime = DURING) -> Any:
    return await BannerChannel(tmp_path, SITE).publish(entries, now)


def events(tmp_path: Path) -> list[Any]:
    calendar = Calendar.from_ical((tmp_path / "closures.ics").read_bytes())
    return list(calendar.walk("VEVENT"))


# -- schema.org JSON-LD ----------------------------------------------------------------------------


async def test_each_outlet_gets_its_closed_days_as_special_opening_hours(tmp_path: Path) -> None:
    await publish(tmp_path, [RENOVATION, TEAM_DAY])
    jsonld = json.loads((tmp_path / "closures.jsonld").read_text(encoding="utf-8"))
    team_day = {
        **CLOSED_DAY,
        "validFrom": "2024-03-26",
        "validThrough": "2024-03-27",
        "description": "our annual team bonding event",
    }
    renovation = {
        **CLOSED_DAY,
        "validFrom": "2024-03-29",
        "validThrough": "2024-03-29",
        "description": "renovation, sorry",
    }
    assert jsonld == {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "LocalBusiness",
                "@id": "https://www.glow-aesthetics.example/#outlet-orchard",
                "url": "https://www.glow-aesthetics.example",
                "name": "Glow Aesthetics Orchard",
                "specialOpeningHoursSpecification": [team_day, renovation],
            },
            {
                "@type": "LocalBusiness",
                "@id": "https://www.glow-aesthetics.example/#outlet-tampines",
                "url": "https://www.glow-aesthetics.example",
                "name": "Glow Aesthetics Tampines",
                "specialOpeningHoursSpecification": [team_day],
            },
        ],
    }
    banner = json.loads((tmp_path / "banner.json").read_text(encoding="utf-8"))
    assert banner["jsonld"] == jsonld


async def test_a_site_without_outlets_is_one_business(tmp_path: Path) -> None:
    site = SITE.model_copy(update={"outlets": []})
    solo = {**TEAM_DAY, "facts": {**TEAM_DAY["facts"], "outlets": []}}
    await BannerChannel(tmp_path, site).publish([solo], DURING)
    (node,) = json.loads((tmp_path / "closures.jsonld").read_text())["@graph"]
    assert node["@id"] == "https://www.glow-aesthetics.example/#business"
    assert node["name"] == "Glow Aesthetics"
    assert [s["validFrom"] for s in node["specialOpeningHoursSpecification"]] == ["2024-03-26"]
    assert events(tmp_path)[0]["LOCATION"] == "Glow Aesthetics"


async def test_the_jsonld_cannot_end_a_script_tag_it_is_inlined_in(tmp_path: Path) -> None:
    reason = "</script><script>alert(1)</script>"
    hostile = {**TEAM_DAY, "facts": {**TEAM_DAY["facts"], "reason": reason}}
    await publish(tmp_path, [hostile])
    text = (tmp_path / "closures.jsonld").read_text(encoding="utf-8")
    assert "<" not in text
    spec = json.loads(text)["@graph"][0]["specialOpeningHoursSpecification"][0]
    assert spec["description"] == reason


# -- the iCalendar file -------------------------------------------------------------------------


async def test_each_closure_is_one_all_day_event(tmp_path: Path) -> None:
    await publish(tmp_path, [RENOVATION, TEAM_DAY])
    team_day, renovation = events(tmp_path)
    assert str(team_day["UID"]) == "closure-2024-03-26@www.glow-aesthetics.example"
    assert team_day.decoded("DTSTART") == date(2024, 3, 26)
    assert team_day.decoded("DTEND") == date(2024, 3, 28)  # exclusive: closed 26 and 27
    assert team_day.decoded("DTSTAMP") == datetime(2024, 3, 18, 16, 0, tzinfo=UTC)
    assert str(team_day["SUMMARY"]) == "Closed: our annual team bonding event"
    assert str(team_day["LOCATION"]) == "Orchard, Tampines"
    assert str(team_day["DESCRIPTION"]) == TEXT
    assert str(team_day["TRANSP"]) == "TRANSPARENT"
    assert str(renovation["UID"]) == "closure-2024-03-29-orchard@www.glow-aesthetics.example"
    assert str(renovation["SUMMARY"]) == "Closed: renovation, sorry"
    assert str(renovation["LOCATION"]) == "Orchard"
    assert renovation.decoded("DTEND") == date(2024, 3, 30)


async def test_an_event_title_does_not_repeat_the_reasons_full_stop(tmp_path: Path) -> None:
    friday = {**TEAM_DAY, "facts": {**TEAM_DAY["facts"], "reason": "Good Friday."}}
    await publish(tmp_path, [friday])
    assert [str(e["SUMMARY"]) for e in events(tmp_path)] == ["Closed: Good Friday"]


async def test_the_calendar_is_valid_icalendar_with_crlf_lines(tmp_path: Path) -> None:
    await publish(tmp_path, [TEAM_DAY])
    raw = (tmp_path / "closures.ics").read_bytes()
    assert raw.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//broadcaster//closures//EN")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert b"X-WR-CALNAME:Glow Aesthetics closures" in raw
    assert b"DTSTART;VALUE=DATE:20240326" in raw


async def test_an_unchanged_calendar_is_not_rewritten(tmp_path: Path) -> None:
    await publish(tmp_path, [TEAM_DAY])
    receipt = await publish(tmp_path, [TEAM_DAY], datetime(2024, 3, 24, 9, tzinfo=SG))
    assert "closures.ics" not in receipt["changed"]
    assert "closures.jsonld" not in receipt["changed"]


async def test_both_expire_when_the_clinic_reopens(tmp_path: Path) -> None:
    await publish(tmp_path, [TEAM_DAY])
    receipt = await publish(tmp_path, [TEAM_DAY], datetime(2024, 3, 28, 0, tzinfo=SG))
    assert {"closures.ics", "closures.jsonld"} <= set(receipt["changed"])
    assert events(tmp_path) == []
    graph = json.loads((tmp_path / "closures.jsonld").read_text())["@graph"]
    assert [node["specialOpeningHoursSpecification"] for node in graph] == [[], []]


async def test_entries_without_closure_facts_are_left_out(tmp_path: Path) -> None:
    bare = {k: v for k, v in TEAM_DAY.items() if k != "facts"}
    await publish(tmp_path, [bare])
    assert events(tmp_path) == []
    assert json.loads((tmp_path / "banner.json").read_text())["notices"][0]["id"] == bare["id"]


# -- through `broadcast run`: announced, corrected, expired --------------------------------------


def run(now: str) -> None:
    result = CliRunner().invoke(app, ["run", "--now", now])
    assert result.exit_code == 0, result.output


def test_the_calendar_follows_the_closure_through_its_life(project: Path) -> None:
    config = project / "config/broadcaster.yaml"
    text = config.read_text(encoding="utf-8")
    original = "  - start: 2024-03-26\n    end: 2024-03-27\n"
    assert original in text
    config.write_text(text.replace(original, original + "    id: team-day-2024\n"))
    notices = project / "site/notices"
    run("2024-03-18T09:00:00+08:00")
    assert events(notices) == []  # not announced yet
    run("2024-03-20T09:00:00+08:00")
    (announced,) = events(notices)
    assert announced.decoded("DTSTART") == date(2024, 3, 26)
    moved = config.read_text().replace(
        "start: 2024-03-26\n    end: 2024-03-27", "start: 2024-03-27\n    end: 2024-03-28"
    )
    config.write_text(moved)
    run("2024-03-22T09:00:00+08:00")
    (corrected,) = events(notices)
    assert (
        str(corrected["UID"])
        == str(announced["UID"])
        == "team-day-2024@www.glow-aesthetics.example"
    )
    assert (corrected.decoded("DTSTART"), corrected.decoded("DTEND")) == (
        date(2024, 3, 27),
        date(2024, 3, 29),
    )
    run("2024-03-29T09:00:00+08:00")
    assert events(notices) == []
