"""Date sanity: what people get wrong by hand, each named as file:line: key: message."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from broadcaster import config
from broadcaster.checks import config_problems
from broadcaster.cli import app
from broadcaster.errors import ConfigError

SG = ZoneInfo("Asia/Singapore")
HEAD = """\
site:
  name: "Glow Aesthetics"
  url: "https://www.glow-aesthetics.example"
  timezone: "Asia/Singapore"
  outlets: ["Orchard", "Tampines"]
closures:
"""  # the first closure starts on line 7
TEAM_DAY = """\
  - start: 2024-03-26
    end: 2024-03-27
    reason: "our annual team bonding event"
"""


def write(tmp_path: Path, closures: str) -> Path:
    path = tmp_path / "broadcaster.yaml"
    path.write_text(HEAD + closures, encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    return [str(p) for p in caught.value.problems]


def warnings_of(path: Path, now: datetime | None = None) -> list[str]:
    found = config_problems(config.load(path), now)
    return sorted(str(f) for f in found if f.severity == "warning")


# -- a weekday that does not match its date ----------------------------------------------------


def test_a_wrong_weekday_in_the_message_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        TEAM_DAY + '    message: "Closed 26 Mar (Wed) and 27 Mar (Wed); back on 28 Mar (Thu)."\n',
    )
    assert errors_of(path) == [
        f'{path}:10: closures[0].message: "26 Mar (Wed)": 26 Mar 2024 is a Tuesday'
    ]


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("26 Mar (Tue)", None),
        ("26 Mar (Wed)", "26 Mar 2024 is a Tuesday"),
        ("Tuesday 26 March", None),
        ("Wednesday 26 March", "26 Mar 2024 is a Tuesday"),
        ("Tue, 26 Mar", None),
        ("Mon, 26 Mar", "26 Mar 2024 is a Tuesday"),
        ("Wed 27th of March 2024", None),
        ("Thursday, March 28", None),
        ("Friday, March 28", "28 Mar 2024 is a Thursday"),
        ("26 March 2025 (Tue)", "26 Mar 2025 is a Wednesday"),
        ("26 Mar, Thu", "26 Mar 2024 is a Tuesday"),
        ("31 Apr (Tue)", "31 Apr is not a date"),
        ("the 26th", None),  # no weekday, nothing to check
        ("Tue 26 to Wed 27 Mar", None),
        ("Mon 26 to Wed 27 Mar", "26 Mar 2024 is a Tuesday"),  # the month comes from the end
        ("Sat 30 to Mon 1 Apr", None),  # another month: not guessed
    ],
)
def test_weekday_patterns(tmp_path: Path, written: str, problem: str | None) -> None:
    path = write(tmp_path, TEAM_DAY + f'    message: "We are closed {written}."\n')
    if problem is None:
        assert config.load(path).config.closures[0].message == f"We are closed {written}."
    else:
        flagged = written.split(" to ")[0] if " to " in written else written
        assert errors_of(path) == [f'{path}:10: closures[0].message: "{flagged}": {problem}']


def test_the_year_is_inferred_from_the_closure_across_new_year(tmp_path: Path) -> None:
    closure = """\
  - start: 2024-12-30
    end: 2025-01-01
    reason: "the new year"
    message: "Closed from Mon 30 Dec to Wed 1 Jan; back on Fri 2 Jan."
"""
    path = write(tmp_path, closure)
    assert errors_of(path) == [
        f'{path}:10: closures[0].message: "Fri 2 Jan": 2 Jan 2025 is a Thursday'
    ]


def test_a_weekday_in_the_reason_is_checked_too(tmp_path: Path) -> None:
    closure = '  - start: 2024-03-26\n    reason: "our team day on Wed 26 Mar"\n'
    path = write(tmp_path, closure)
    assert errors_of(path) == [
        f'{path}:8: closures[0].reason: "Wed 26 Mar": 26 Mar 2024 is a Tuesday'
    ]


def test_a_reason_ending_in_punctuation_is_shown_as_its_sentence_reads(tmp_path: Path) -> None:
    closure = '  - start: 2024-03-29\n    reason: "Good Friday."\n'
    path = write(tmp_path, closure)
    assert warnings_of(path) == [
        f'{path}:8: closures[0].reason: ends in ".", which the sentence supplies: '
        'it reads "for Good Friday."'
    ]
    result = CliRunner().invoke(app, ["validate", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert 'it reads "for Good Friday."' in result.output


def test_a_reason_of_only_punctuation_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, '  - start: 2024-03-29\n    reason: "..."\n')
    assert errors_of(path) == [
        f"{path}:8: closures[0].reason: must say why in words, not only punctuation"
    ]


# -- dates that contradict each other -----------------------------------------------------------


def test_end_before_start_and_resume_inside_the_closure(tmp_path: Path) -> None:
    closure = """\
  - start: 2024-03-26
    end: 2024-03-25
    reason: "our annual team bonding event"
  - start: 2024-04-02
    end: 2024-04-03
    resume: 2024-04-03
    reason: "stocktaking"
"""
    path = write(tmp_path, closure)
    assert errors_of(path) == [
        f"{path}:8: closures[0].end: must not be before start",
        f"{path}:12: closures[1].resume: must be after the last closed day (end)",
    ]


# -- a closure announced in the past (relative to --now) ----------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        ("2024-03-18", None),
        ("2024-03-19", None),  # the announcement day itself
        (
            "2024-03-22",
            "announced from 19 Mar 2024 (7 days before), which is past (today is 22 Mar 2024): "
            "if it was not announced yet, it goes out on the next run, with 4 days' notice",
        ),
        (
            "2024-03-25",
            "announced from 19 Mar 2024 (7 days before), which is past (today is 25 Mar 2024): "
            "if it was not announced yet, it goes out on the next run, with 1 day's notice",
        ),
        (
            "2024-03-27",
            "already started on 26 Mar 2024 (today is 27 Mar 2024): if it was not announced "
            "yet, it never will be; the banner shows it until it reopens on 28 Mar 2024",
        ),
        ("2024-03-28", None),  # the day it reopens
        (
            "2024-04-20",
            "over: it reopened on 28 Mar 2024 (today is 20 Apr 2024); nothing more is sent for "
            "it, so it can be removed",
        ),
    ],
)
def test_a_closure_whose_announcement_is_past(
    tmp_path: Path, today: str, expected: str | None
) -> None:
    path = write(tmp_path, TEAM_DAY)
    now = datetime.fromisoformat(today).replace(hour=9, tzinfo=SG)
    assert warnings_of(path, now) == (
        [f"{path}:7: closures[0].start: {expected}"] if expected else []
    )


def test_without_now_nothing_depends_on_the_clock(tmp_path: Path) -> None:
    """``load`` checks without a time: a config valid yesterday still loads today."""
    assert warnings_of(write(tmp_path, TEAM_DAY)) == []


def test_validate_honours_now(project: Path) -> None:
    result = CliRunner().invoke(app, ["validate", "--now", "2024-03-22T09:00:00+08:00"])
    assert result.exit_code == 0, result.output
    assert (
        "config/broadcaster.yaml:13: closures[0].start: announced from 19 Mar 2024 (7 days "
        "before), which is past (today is 22 Mar 2024)" in result.output
    )
    result = CliRunner().invoke(app, ["validate", "--now", "2024-03-10T09:00:00+08:00"])
    assert "closures[0].start" not in result.output


# -- overlapping closures for the same outlet ---------------------------------------------------

RENOVATION = """\
  - start: 2024-03-27
    end: 2024-03-29
    reason: "renovation"
    outlets: ["Orchard"]
"""


def test_overlapping_closures_for_one_outlet_are_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, TEAM_DAY + RENOVATION)
    assert warnings_of(path) == [
        f"{path}:10: closures[1]: overlaps closures[0] for Orchard on 27 Mar 2024: customers "
        "get two notices for the same days (merge them, or fix the dates)",
        f"{path}:7: closures[0].resume: the reopening on 28 Mar 2024 falls inside "
        "closures[1] (Orchard closed that day)",
    ]


def test_a_multi_day_overlap_names_the_range(tmp_path: Path) -> None:
    other = '  - start: 2024-03-25\n    end: 2024-03-28\n    reason: "training"\n'
    path = write(tmp_path, TEAM_DAY + other)
    assert (
        f"{path}:10: closures[1]: overlaps closures[0] for Orchard and Tampines on 26 Mar 2024 "
        "to 27 Mar 2024: customers get two notices for the same days (merge them, or fix the "
        "dates)"
    ) in warnings_of(path)


def test_closures_of_different_outlets_or_days_do_not_overlap(tmp_path: Path) -> None:
    tampines = RENOVATION.replace("Orchard", "Tampines").replace("2024-03-27", "2024-03-29")
    orchard = '  - start: 2024-03-26\n    reason: "x"\n    outlets: ["Orchard"]\n'
    tampines_same_day = orchard.replace("Orchard", "Tampines")
    assert warnings_of(write(tmp_path, orchard + tampines_same_day + tampines)) == []


def test_the_same_closure_twice_is_reported_once_as_a_duplicate(tmp_path: Path) -> None:
    path = write(tmp_path, TEAM_DAY + TEAM_DAY)
    assert warnings_of(path) == [
        f"{path}:10: closures[1]: same closure as closures[0]; it is announced once"
    ]


# -- channels named under lifecycle: ------------------------------------------------------------

CHANNELS = """\
channels:
  banner:
    output_dir: "site/notices"
  telegram:
    chat_id: "@glowaesthetics"
lifecycle:
"""  # lifecycle's first entry is on line 16


def test_a_misspelt_channel_under_lifecycle_is_an_error_with_the_name_meant(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, TEAM_DAY + CHANNELS + "  remind: [telegarm]\n")
    assert errors_of(path) == [
        f"{path}:16: lifecycle.remind[0]: unknown channel 'telegarm' (did you mean telegram?)"
    ]


def test_a_name_like_no_channel_lists_the_channels(tmp_path: Path) -> None:
    path = write(tmp_path, TEAM_DAY + CHANNELS + "  reopen:\n    - telegram\n    - sms\n")
    assert errors_of(path) == [
        f"{path}:18: lifecycle.reopen[1]: unknown channel 'sms' (channels: banner, email, "
        "telegram, mastodon, bluesky, facebook, instagram, x, linkedin, google_business, "
        "webhook, apprise)"
    ]


def test_a_known_channel_that_is_not_configured_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, TEAM_DAY + CHANNELS + "  reopen: [mastodon, telegram]\n")
    assert warnings_of(path) == [
        f"{path}:16: lifecycle.reopen[0]: mastodon is not configured (no channels.mastodon): "
        "nothing is sent there"
    ]


def test_a_channel_that_never_posts_closure_messages_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, TEAM_DAY + CHANNELS + "  remind: [banner]\n")
    assert warnings_of(path) == [
        f"{path}:16: lifecycle.remind[0]: banner does not announce notices, so it gets no "
        "remind message"
    ]


def test_corrections_edit_says_which_channels_cannot_edit(tmp_path: Path) -> None:
    email = '  email:\n    maildir: "var/outbox"\n    from: "a@glow.example"\n'
    email += f'    subscribers: "{tmp_path}/subs.csv"\n'
    email += '    unsubscribe_url: "https://glow.example/u?t={token}"\n'
    (tmp_path / "subs.csv").write_text("email\nann@example.com\n", encoding="utf-8")
    text = TEAM_DAY + CHANNELS.replace("lifecycle:\n", email + "lifecycle:\n")
    path = write(tmp_path, text + "  corrections: edit\n")
    assert warnings_of(path) == [
        f"{path}:21: lifecycle.corrections: email cannot edit a post: a correction goes out "
        "there as a new post (only telegram and mastodon edit)"
    ]


def test_corrections_edit_where_every_channel_edits_is_quiet(tmp_path: Path) -> None:
    path = write(tmp_path, TEAM_DAY + CHANNELS + "  corrections: edit\n")
    assert warnings_of(path) == []
