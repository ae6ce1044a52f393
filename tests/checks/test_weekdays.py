"""A weekday next to a date, in Chinese, Malay and Tamil: the right one passes, a wrong one
stops the config with file:line: key (the language in the key) and the right weekday in that
language and in English. (English's own cases: tests/test_checks.py.)

Dates and weekdays as ICU writes them (Node's Intl.DateTimeFormat, tests/reference) for every
day of a leap year, right and with each of the six wrong weekdays, and the forms people type
around them (``3月26日（周二）``, ``26 Mac (Sel)``, ``மார். 26 (செவ்.)``) built from ICU's parts.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from string import Formatter

import pytest

from broadcaster import config
from broadcaster.checks.weekdays import wrong_weekdays
from tests.commands import broadcast
from tests.reference.node import Parts, intl_parts
from tests.test_checks import errors_of

HEAD = """\
site:
  name: "Glow Aesthetics"
  url: "https://www.glow-aesthetics.example"
  timezone: "Asia/Singapore"
  languages: [{languages}]
  region: SG
closures:
  - start: 2024-03-26
    end: 2024-03-27
    reason: "our annual team bonding event"
"""  # the message (line 11) follows

# -- the forms people type, through the config -------------------------------------------------

TUESDAY = "26 Mar 2024 is a Tuesday"
TYPED = [
    ("zh", "3月26日（周二）", None),
    ("zh", "3月26日(星期二)", None),
    ("zh", "3月26日 周二", None),
    ("zh", "3月26日礼拜二", None),
    ("zh", "3月26号（周二）", None),
    ("zh", "2024年3月26日星期二", None),
    ("zh", "3月31日（星期天）", None),
    ("zh", "3月31日（礼拜天）", None),
    ("zh", "26/3（二）", None),  # CLDR's zh in Singapore writes 26/03/24: the day first
    ("zh", "5/3（二）", None),  # the 5th of March
    ("zh", "3/26（二）", None),  # 26 is no month: the 26th of March, as written in China
    ("zh", "3-5（二）", None),  # ... and 3-26: month first with a dash (CLDR's M-d)
    ("zh", "3月26日（周三）", f"{TUESDAY} (星期二)"),
    ("zh", "3月26日(星期三)", f"{TUESDAY} (星期二)"),
    ("zh", "3月26日 周三", f"{TUESDAY} (星期二)"),
    ("zh", "3月26日礼拜三", f"{TUESDAY} (星期二)"),
    ("zh", "26/3（三）", f"{TUESDAY} (星期二)"),
    ("zh", "3/5（二）", "3 May 2024 is a Friday (星期五)"),
    ("zh", "4月31日（周二）", "31 Apr is not a date"),
    ("zh", "3月26日至28日（周四）", None),  # the 28th has no month of its own: not guessed
    ("ms", "26 Mac (Sel)", None),
    ("ms", "Selasa, 26 Mac", None),
    ("ms", "26 Mac 2024 (Selasa)", None),
    ("ms", "26 Mac (S)", None),  # S is Selasa or Sabtu: no weekday at all
    ("ms", "26 Mac (Rab)", f"{TUESDAY} (Selasa)"),
    ("ms", "Rabu, 26 Mac", f"{TUESDAY} (Selasa)"),
    ("ms", "26 Mac 2025 (Sel)", "26 Mar 2025 is a Wednesday (Rabu)"),
    ("ta", "மார். 26 (செவ்.)", None),
    ("ta", "26 மார்ச் (செவ்வாய்)", None),
    ("ta", "செவ்வாய், 26 மார்ச், 2024", None),
    ("ta", "26 மார்ச் (செவ்வாய்க்கிழமை)", None),
    ("ta", "மார். 26 (புத.)", f"{TUESDAY} (செவ்வாய்)"),
    ("ta", "26 மார்ச் (புதன்)", f"{TUESDAY} (செவ்வாய்)"),
    ("ta", "26 மார்ச் (புதன்கிழமை)", f"{TUESDAY} (செவ்வாய்)"),
    ("ta", "வியாழக்கிழமை, 26 மார்ச்", f"{TUESDAY} (செவ்வாய்)"),
]


def write(tmp_path: Path, message: str, languages: str = "en, zh, ms, ta") -> Path:
    path = tmp_path / "broadcaster.yaml"
    path.write_text(HEAD.format(languages=languages) + message, encoding="utf-8")
    return path


@pytest.mark.parametrize(("language", "written", "problem"), TYPED)
def test_what_people_type(tmp_path: Path, language: str, written: str, problem: str | None) -> None:
    text = f"{written} Glow Aesthetics"
    path = write(tmp_path, f'    message: {{en: "Closed.", {language}: "{text}"}}\n')
    if problem is None:
        assert config.load(path).config.closures[0].message == {"en": "Closed.", language: text}
    else:
        key = f"closures[0].message.{language}"
        assert errors_of(path) == [f'{path}:11: {key}: "{written}": {problem}']


def test_the_key_of_each_language_is_named_on_its_own_line(tmp_path: Path) -> None:
    message = """\
    message:
      en: "Closed Tue 26 Mar."
      zh: "3月26日（周二）及3月27日（周四）休息。"
      ta: "மார். 26 (செவ்.) மூடப்பட்டுள்ளது."
"""
    path = write(tmp_path, message)
    assert errors_of(path) == [
        f'{path}:13: closures[0].message.zh: "3月27日（周四）": 27 Mar 2024 is a Wednesday (星期三)'
    ]


def test_english_in_a_chinese_text_is_read_as_english(tmp_path: Path) -> None:
    path = write(
        tmp_path, '    message: {en: "Closed", zh: "3月26日（周二）休息 / Closed 26 Mar (Wed)"}\n'
    )
    assert errors_of(path) == [f'{path}:11: closures[0].message.zh: "26 Mar (Wed)": {TUESDAY}']


def test_a_plain_text_is_in_the_default_language(tmp_path: Path) -> None:
    path = write(tmp_path, '    message: "3月26日（周三）休息"\n', languages="zh, en")
    assert errors_of(path) == [
        f'{path}:11: closures[0].message: "3月26日（周三）": {TUESDAY} (星期二)'
    ]


def test_the_reason_is_read_in_its_languages_too(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    text = path.read_text(encoding="utf-8").replace(
        '    reason: "our annual team bonding event"\n',
        '    reason: {en: "our team day", ms: "hari pasukan kami, Rabu, 26 Mac"}\n',
    )
    path.write_text(text, encoding="utf-8")
    assert errors_of(path) == [
        f'{path}:10: closures[0].reason.ms: "Rabu, 26 Mac": {TUESDAY} (Selasa)'
    ]


def test_validate_names_the_file_line_and_key_and_sends_nothing(project: Path) -> None:
    path = project / "config/broadcaster.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('      zh: "年度团队建设活动"', '      zh: "3月26日（周三）团队活动"', 1)
    path.write_text(text, encoding="utf-8")
    line = text[: text.index("3月26日（周三）")].count("\n") + 1
    for command in (("validate",), ("run", "--now", "2024-03-20T09:00:00+08:00")):
        code, output = broadcast(*command)
        assert (code, output.splitlines()) == (
            2,
            [
                f"error config/broadcaster.yaml:{line}: closures[0].reason.zh: "
                f'"3月26日（周三）": {TUESDAY} (星期二)'
            ],
        )
    assert not (project / "site").exists(), "the banner was written"
    assert not (project / "var").exists(), "an email went out, or the ledger was opened"


# -- every day of a year, as ICU writes it -----------------------------------------------------

YEAR = [date(2024, 1, 1) + timedelta(days=n) for n in range(366)]
#: and the six days after it, whose weekdays are written wrong beside the year's last days
DAYS = YEAR + [date(2025, 1, 1) + timedelta(days=n) for n in range(6)]
#: Intl.DateTimeFormat options, by name: the pieces the forms below are made of
INTL = {
    "d MMM": {"month": "short", "day": "numeric"},  # 3月26日, 26 Mac, மார். 26
    "d MMMM": {"month": "long", "day": "numeric"},  # 3月26日, 26 Mac, 26 மார்ச்
    "E d MMM": {"month": "short", "day": "numeric", "weekday": "short"},  # 3月26日周二
    "EEEE d MMMM": {"month": "long", "day": "numeric", "weekday": "long"},
    "E d M": {"month": "numeric", "day": "numeric", "weekday": "short"},  # 3-26周二
    "full": {"dateStyle": "full"},  # 2024年3月26日星期二, Selasa, 26 Mac 2024
    "short": {"dateStyle": "short"},  # 26/03/24
    "E": {"weekday": "short"},  # 周二, Sel, செவ்.
    "EEEE": {"weekday": "long"},  # 星期二, Selasa, செவ்வாய்
    "EEEEE": {"weekday": "narrow"},  # 二, செ
}
#: each language's forms: ICU's own, and what people type around ICU's parts
FORMS = {
    "zh": [
        "{E d MMM}",
        "{EEEE d MMMM}",
        "{E d M}",
        "{full}",
        "{d MMMM}（{E}）",
        "{d MMMM}({EEEE})",
        "{d MMMM} {E}",
        "{short}（{EEEEE}）",
    ],
    "ms": ["{E d MMM}", "{EEEE d MMMM}", "{full}", "{d MMM} ({E})", "{short} ({E})"],
    "ta": [
        "{E d MMM}",
        "{EEEE d MMMM}",
        "{full}",
        "{d MMM} ({E})",
        "{d MMMM} ({EEEE})",
        "{short} ({EEEEE})",
    ],
}


def icu(language: str) -> dict[str, list[Parts]]:
    formats = {name: (f"{language}-SG", options) for name, options in INTL.items()}
    return intl_parts([day.isoformat() for day in DAYS], formats)


def written(form: str, parts: dict[str, list[Parts]], day: int, weekday_of: int) -> str:
    """``form`` for DAYS[day], its weekday that of DAYS[weekday_of]."""
    pieces = {
        name: "".join(
            dict(parts[name][weekday_of])["weekday"] if kind == "weekday" else value
            for kind, value in parts[name][day]
        )
        for _text, name, _spec, _conversion in Formatter().parse(form)
        if name
    }
    return form.format(**pieces)


@pytest.mark.parametrize("language", ["zh", "ms", "ta"])
def test_every_day_of_a_year_in_icus_words(language: str) -> None:
    parts = icu(language)
    checked = 0
    for form in FORMS[language]:
        for n, day in enumerate(YEAR):
            right = written(form, parts, n, n)
            assert wrong_weekdays(right, language, "SG", day) == [], right
            name = written("{EEEE}", parts, n, n)
            for shift in range(1, 7):
                wrong = written(form, parts, n, n + shift)
                problem = f"{day.day} {day:%b %Y} is a {day:%A} ({name})"
                assert wrong_weekdays(wrong, language, "SG", day) == [(wrong, problem)]
                checked += 1
    assert checked == len(FORMS[language]) * 366 * 6
