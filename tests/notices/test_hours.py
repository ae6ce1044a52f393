"""Changed opening hours, the kind added without touching a channel: ``hours:`` in the config
goes through the whole product -- announced, reminded and corrected like a closure, on the
banner and in its JSON-LD and calendar with the real times, as Google special hours beside
the clinic's own entries, by email and on every social channel."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from broadcaster import config as config_module
from broadcaster.cli import app
from broadcaster.notices import build, restore
from broadcaster.notices.hours import HoursNotice
from tests.channels.test_google_business import (  # noqa: F401 - fixtures, shared
    CHRISTMAS_EVE,
    ORCHARD,
    TAMPINES,
    Gbp,
    configured,
    gbp,
)
from tests.channels.test_more_social_end_to_end import More, more  # noqa: F401
from tests.channels.test_social_end_to_end import fakes  # noqa: F401
from tests.channels.test_webhook import SECRET, Hook, hook  # noqa: F401
from tests.commands import broadcast
from tests.fakes.support import Fakes
from tests.languages import english_only

TZ = ZoneInfo("Asia/Singapore")
#: times in messages are written as CLDR writes them in English: 9:00\u202fam (a narrow
#: no-break space before am/pm, so the two never part at a line end)
NINE, TWO, HALF_THREE = "9:00\u202fam", "2:00\u202fpm", "3:30\u202fpm"
#: ... except in a Subject, whose runs of white space the email channel makes one plain space
SUBJECT_NINE, SUBJECT_TWO, SUBJECT_HALF_THREE = "9:00 am", "2:00 pm", "3:30 pm"
SHORT_DAY = """hours:
  - start: 2024-03-28
    opens: "09:00"
    closes: "14:00"
    reason: "a staff training afternoon"
    outlets: ["Orchard"]

"""


@pytest.fixture(autouse=True)
def _in_english(request: pytest.FixtureRequest) -> None:
    """The example clinic writing English alone: one message per channel, as these tests
    count them (each language's own messages: tests/test_dispatch_languages.py)."""
    if "project" in request.fixturenames:
        english_only(request.getfixturevalue("project"))


def subjects(project: Path) -> list[str]:
    """The Subject of every message in the Maildir, decoded as a mail client shows it."""
    return sorted(
        str(email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)["Subject"])
        for eml in (project / "var/outbox/new").iterdir()
    )


def add_hours(project: Path, section: str = SHORT_DAY) -> Path:
    config = project / "config/broadcaster.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("\narticles:", "\n" + section + "articles:", 1))
    return config


def test_an_hours_change_is_a_notice_with_its_own_id_moments_and_facts(project: Path) -> None:
    loaded = config_module.load(add_hours(project))
    (notice,) = [n for n in build(loaded.config, []).items if n.kind == "hours"]
    assert isinstance(notice, HoursNotice) and notice.id == "hours-2024-03-28-orchard"
    moments = {m.occasion: (m.opens, m.closes) for m in notice.moments(TZ, 3)}
    assert set(moments) == {"announce", "remind", "banner"}  # no "we are open again"
    assert moments["banner"] == (
        datetime(2024, 3, 21, tzinfo=TZ),
        datetime(2024, 3, 29, tzinfo=TZ),  # on the banner until its day is over
    )
    assert notice.facts() == {
        "kind": "hours",
        "start": "2024-03-28",
        "end": "2024-03-28",
        "resume": "2024-03-29",
        "outlets": ["Orchard"],
        "all_outlets": False,
        "reason": "a staff training afternoon",
        "hours": {"opens": "09:00", "closes": "14:00"},
    }


def test_a_told_version_comes_back_from_the_ledger_as_an_hours_change(project: Path) -> None:
    loaded = config_module.load(add_hours(project))
    (notice,) = [n for n in build(loaded.config, []).items if n.kind == "hours"]
    assert isinstance(notice, HoursNotice)
    assert restore(json.loads(json.dumps(notice.snapshot()))) == notice


@pytest.mark.parametrize(
    ("entry", "key", "message"),
    [
        ('    opens: "09:00"\n', "hours[0].opens", "must be a time of day"),
        ('    closes: "14:00"\n', "hours[0]", "closes (08:00) must be after opens (09:00)"),
        (
            '    reason: "a staff training afternoon"\n',
            "hours[0].message",
            '"Fri 28 Mar": 28 Mar 2024 is a Thursday',
        ),
    ],
)
def test_mistakes_in_an_hours_change_name_file_line_and_key(
    project: Path, entry: str, key: str, message: str
) -> None:
    wrong = {
        '    opens: "09:00"\n': '    opens: "9am"\n',
        '    closes: "14:00"\n': '    closes: "08:00"\n',
        '    reason: "a staff training afternoon"\n': (
            '    reason: "a staff training afternoon"\n'
            '    message: "Open 9 to 2 on Fri 28 Mar for training."\n'
        ),
    }[entry]
    add_hours(project, SHORT_DAY.replace(entry, wrong))
    code, output = broadcast("validate")
    assert code == 2, output
    assert "config/broadcaster.yaml:" in output and f": {key}: " in output
    assert message in output


def test_one_run_tells_every_channel_the_new_hours_once(
    fakes: Fakes,  # noqa: F811
    more: More,  # noqa: F811
    configured: Path,  # noqa: F811
    gbp: Gbp,  # noqa: F811
    hook: Hook,  # noqa: F811
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = configured.read_text(encoding="utf-8")
    configured.write_text(
        text.replace("channels:\n", f'channels:\n  webhook:\n    urls: ["{hook.url}/kiosk"]\n', 1),
        encoding="utf-8",
    )
    monkeypatch.setenv("BROADCAST_WEBHOOK_SECRET", SECRET)
    run = CliRunner().invoke(app, ["run", "--now", "2024-03-20T09:00:00+08:00"])
    assert run.exit_code == 0, run.output
    before = (fakes.counts(), more.counts(), len(hook.fake.deliveries))
    add_hours(project)
    for _attempt in range(2):  # the second run sends nothing more
        run = CliRunner().invoke(app, ["run", "--now", "2024-03-22T09:00:00+08:00"])
        assert run.exit_code == 0, run.output
        assert fakes.counts() == tuple(n + 1 for n in before[0])  # Telegram, Mastodon, Bluesky
        assert more.counts() == tuple(n + 1 for n in before[1])  # FB, Instagram, X, LinkedIn
        assert len(hook.fake.deliveries) == before[2] + 1
    sentence = (
        f"Our Orchard outlet will be open from {NINE} to {TWO} on 28 Mar (Thu) for a staff "
        "training afternoon. Usual hours resume on 29 Mar (Fri)."
    )
    assert more.x.fake.tweets[-1]["text"] == sentence
    assert fakes.masto.fake.statuses[-1]["params"]["status"] == sentence
    document = hook.fake.documents("/kiosk")[-1]
    assert document["kind"] == "hours" and "closure" not in document  # never called a closure
    assert document["facts"]["hours"] == {"opens": "09:00", "closes": "14:00"}
    # Google: the real times on Orchard only, the clinic's Christmas Eve kept
    periods = gbp.fake.special_hours[ORCHARD]
    assert {
        "startDate": {"year": 2024, "month": 3, "day": 28},
        "openTime": {"hours": 9, "minutes": 0},
        "endDate": {"year": 2024, "month": 3, "day": 28},
        "closeTime": {"hours": 14, "minutes": 0},
    } in periods
    assert CHRISTMAS_EVE in periods
    assert "2024-03-28" not in json.dumps(gbp.fake.special_hours[TAMPINES])
    # the banner, its structured data and its calendar
    notices = project / "site/notices"
    banner = json.loads((notices / "banner.json").read_text(encoding="utf-8"))
    shown = {n["id"]: n for n in banner["notices"]}
    assert shown["hours-2024-03-28-orchard"]["text"] == sentence
    orchard = next(n for n in banner["jsonld"]["@graph"] if n["name"].endswith("Orchard"))
    assert {
        "@type": "OpeningHoursSpecification",
        "opens": "09:00",
        "closes": "14:00",
        "validFrom": "2024-03-28",
        "validThrough": "2024-03-28",
        "description": "a staff training afternoon",
    } in orchard["specialOpeningHoursSpecification"]
    calendar = (notices / "closures.ics").read_text(encoding="utf-8")
    assert "SUMMARY:Open 09:00–14:00: a staff training afternoon" in calendar
    # email: one per subscriber, in its own words
    subscribers = len((project / "config/subscribers.csv").read_text().splitlines()) - 1
    hours_mail = [s for s in subjects(project) if "Orchard open" in s]
    assert (
        hours_mail
        == [f"Glow Aesthetics Orchard open {SUBJECT_NINE}–{SUBJECT_TWO} on 28 Mar (Thu)"]
        * subscribers
    )


def test_changing_the_hours_sends_one_correction_and_the_banner_follows(project: Path) -> None:
    config = add_hours(project)
    code, output = broadcast("run", "--now", "2024-03-22T09:00:00+08:00")
    assert code == 0, output
    config.write_text(config.read_text().replace('closes: "14:00"', 'closes: "15:30"'))
    for _ in range(2):
        code, output = broadcast("run", "--now", "2024-03-23T09:00:00+08:00")
        assert code == 0, output
    subscribers = len((project / "config/subscribers.csv").read_text().splitlines()) - 1
    assert [s for s in subjects(project) if "Orchard" in s] == sorted(
        [
            "Change of plan: Glow Aesthetics Orchard open "
            f"{SUBJECT_NINE}–{SUBJECT_HALF_THREE} on 28 Mar (Thu)"
        ]
        * subscribers
        + [f"Glow Aesthetics Orchard open {SUBJECT_NINE}–{SUBJECT_TWO} on 28 Mar (Thu)"]
        * subscribers
    )
    banner = json.loads((project / "site/notices/banner.json").read_text(encoding="utf-8"))
    (hours,) = [n for n in banner["notices"] if n["kind"] == "hours"]
    assert f"will be open from {NINE} to {HALF_THREE} on 28 Mar (Thu)" in hours["text"]
    assert date.fromisoformat(hours["facts"]["start"]) == date(2024, 3, 28)
