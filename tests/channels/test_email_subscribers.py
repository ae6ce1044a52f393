"""The subscriber CSV (broadcaster.subscribers): streamed, checked, problems located by line."""

from __future__ import annotations

import contextlib
import logging
import tracemalloc
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email

from broadcaster.exported_csv import CP1252_NOTE
from broadcaster.subscribers import (
    Checker,
    Invalid,
    Subscriber,
    SubscribersError,
    normalise,
    read,
    scan,
)

from .conftest import SmtpSink
from .test_email import email_rows, run_pass, write_project


def csv_file(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "subscribers.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_rows_become_subscribers_with_their_line_numbers(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "\ufeffName,Phone,EMAIL\r\n"  # a BOM, other columns, any order and case
        "Amelia Tan,+65 1234,Amelia.Tan@Example.COM\r\n"
        "\r\n"
        '"Ravi\nKumar",,ravi@bücher.example\r\n'  # a quoted field spanning two lines
        ",,siti@example.net\r\n",
    )
    rows = list(read(path))

    assert rows == [
        Subscriber(2, "Amelia.Tan@example.com", "Amelia Tan"),
        Subscriber(4, "ravi@xn--bcher-kva.example", "Ravi Kumar"),
        Subscriber(6, "siti@example.net", ""),
    ]
    assert [s.key for s in rows if isinstance(s, Subscriber)] == [
        "amelia.tan@example.com",
        "ravi@xn--bcher-kva.example",
        "siti@example.net",
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("not-an-address,Bob", "'not-an-address': An email address must have an @-sign."),
        ("bob@localhost,Bob", "'bob@localhost': The part after the @-sign is not valid."),
        ("bób@example.com,Bob", "'bób@example.com': Internationalized characters before"),
        (",Nobody", "no address in the email column"),
        ("two words@example.com,Bob", "'two words@example.com': The email address contains"),
    ],
)
def test_an_invalid_row_is_reported_with_its_line_and_skipped(
    tmp_path: Path, row: str, reason: str
) -> None:
    path = csv_file(tmp_path, f"email,name\nok@example.com,Ok\n{row}\nlast@example.com,Last\n")
    rows = list(read(path))

    assert [r.line for r in rows] == [2, 3, 4]
    problem = rows[1]
    assert isinstance(problem, Invalid)
    assert problem.reason.startswith(reason)
    assert str(problem).startswith(f"line 3: {reason}")
    assert isinstance(rows[2], Subscriber)


def test_a_row_that_is_not_utf8_is_invalid_not_garbled(tmp_path: Path) -> None:
    """A UTF-8 BOM says what the file is: a row in another encoding is skipped, not misread.
    (Files without a BOM, in Windows-1252 and other encodings: tests/test_subscribers.py.)"""
    path = tmp_path / "subscribers.csv"
    path.write_bytes(
        "\ufeffemail,name\nann@example.com,Ann\n".encode() + b"zoe@example.com,Zo\xeb\n"
    )
    assert list(read(path)) == [
        Subscriber(2, "ann@example.com", "Ann"),
        Invalid(3, "not UTF-8 text (save the file as CSV UTF-8)"),
    ]


def test_a_file_without_an_email_column_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        SubscribersError, match=r"must name an email column \(found 'name', 'phone';"
    ):
        list(read(csv_file(tmp_path, "name,phone\nBob,123\n")))


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SubscribersError, match="cannot read: No such file"):
        list(read(tmp_path / "nope.csv"))


def test_names_are_cleaned_for_the_to_header(tmp_path: Path) -> None:
    path = csv_file(tmp_path, 'email,name\na@example.com,"  Ann \t\x07 Lee  "\n')
    assert list(read(path)) == [Subscriber(2, "a@example.com", "Ann Lee")]


def test_scan_counts_repeats_case_insensitively_and_keeps_the_first_problems(
    tmp_path: Path,
) -> None:
    lines = ["email,name", "a@example.com,A", "A@EXAMPLE.com,again", "b@example.com,B"]
    lines += [f"bad{i},X" for i in range(25)] + ["a@example.com,third"]
    path = csv_file(tmp_path, "\n".join(lines) + "\n")
    report = scan(path)

    assert (report.rows, report.valid, report.invalid_count, report.duplicates) == (29, 2, 25, 2)
    assert [p.line for p in report.invalid] == list(range(5, 25))  # the first 20
    assert report.repeated_lines == [3, 30]
    warnings = report.warnings(path)
    assert warnings[0] == f"{path}: line 5: 'bad0': An email address must have an @-sign., skipped"
    assert warnings[20] == f"{path}: ... and 5 more invalid"
    assert warnings[21] == (
        f"{path}: 2 repeated addresses (lines 3, 30): each address gets one message"
    )


def test_a_large_list_is_streamed_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name\n")
        for i in range(3_000):
            out.write(f"subscriber{i}@example.com,Subscriber number {i}\n")
    tracemalloc.start()
    try:
        count = sum(1 for row in read(path) if isinstance(row, Subscriber))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 3_000
    assert peak < 250_000  # the list held as objects would take about 1 MB


def test_normalise_gives_the_ledger_key() -> None:
    assert normalise(" Amelia.Tan@Example.COM ") == "amelia.tan@example.com"
    assert normalise("ravi@Bücher.example") == "ravi@xn--bcher-kva.example"
    with pytest.raises(ValueError, match="'x@y': The part after the @-sign is not valid"):
        normalise("x@y")


TRICKY = [
    "plain@example.com",
    "Mixed.Case@Example.COM",
    "a!#$%&'*+/=?^_`{|}~-@example.com",
    "dots.in.the.middle@example.com",
    ".leading@example.com",
    "trailing.@example.com",
    "two..dots@example.com",
    '"quoted local"@example.com',
    "x" * 64 + "@example.com",
    "x" * 65 + "@example.com",
    "y" * 60 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 61 + ".com",
    "ünïcode@example.com",
    "ravi@bücher.example",
    "a b@example.com",
    "a@b@example.com",
    "a@ex_ample.com",
    "a@example.test",
    "a@localhost",
]


@pytest.mark.parametrize("address", TRICKY)
def test_the_fast_check_agrees_with_email_validator(address: str) -> None:
    """A domain is checked once by email-validator; later addresses on it take a shortcut."""
    check = Checker()
    domain = address.rpartition("@")[2]
    with contextlib.suppress(EmailNotValidError):
        check(f"warm.up@{domain}")  # the domain is now known (if valid)
    try:
        expected: str | None = validate_email(
            address, check_deliverability=False, allow_smtputf8=False
        ).ascii_email
    except EmailNotValidError:
        expected = None
    try:
        got: str | None = check(address)
    except EmailNotValidError:
        got = None
    assert got == expected


async def test_a_european_excel_list_gets_each_subscriber_one_message(
    sink: SmtpSink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Excel's plain "CSV" in a French or German locale: semicolons, CRLF, Windows-1252."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BROADCAST_EMAIL_UNSUBSCRIBE_SECRET", "test-unsubscribe-secret-0123456789")
    config = write_project(tmp_path, [], port=sink.port)
    (tmp_path / "subscribers.csv").write_bytes(
        "E-Mail;Name;Solde\r\n"
        "rene.dupont@example.fr;René Dupont;12,50\r\n"
        "zoe@example.ie;Zoë O’Brien;0\r\n"
        "Rene.Dupont@EXAMPLE.fr;René again;1\r\n"  # the same person: one message
        'lee.ann@example.com;"Lee; Ann";3\r\n'.encode("cp1252")
    )

    with caplog.at_level(logging.WARNING):
        report = await run_pass(config)

    assert sink.handler.per_address() == {
        "rene.dupont@example.fr": 1,
        "zoe@example.ie": 1,
        "lee.ann@example.com": 1,
    }
    assert email_rows(report) == [("sent", "", 3)]
    received = sink.handler.messages()
    assert received["zoe@example.ie"].message["To"] == "Zoë O’Brien <zoe@example.ie>"
    assert received["lee.ann@example.com"].message["To"] == '"Lee; Ann" <lee.ann@example.com>'
    assert f"email: {tmp_path / 'subscribers.csv'}: {CP1252_NOTE}" in caplog.text
