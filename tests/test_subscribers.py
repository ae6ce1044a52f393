"""Subscriber lists as admins export them: Excel (three ways), Google Sheets, Mailchimp, a
clinic system. Each file is written byte for byte as that tool writes it, and read back.

(Rows, addresses and line numbers in general: tests/channels/test_email_subscribers.py.)
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from pathlib import Path

import pytest

from broadcaster.exported_csv import CP1252_NOTE, MIXED_NOTE
from broadcaster.subscribers import EMPTY_LIST, Invalid, Subscriber, SubscribersError, read, scan
from tests.commands import broadcast


def table(rows: list[list[str]], delimiter: str, newline: str = "\r\n") -> str:
    """The text csv.writer makes -- which quotes exactly as Excel does."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return out.getvalue()


PEOPLE = [
    ("rene.dupont@example.fr", "René Dupont"),
    ("zoe@example.ie", "Zoë O’Brien"),
    ("lee.ann@example.com", "Lee; Ann, PhD"),  # a delimiter inside a quoted cell
]
ASIAN = [("lee.siew.lan@example.sg", "李小龍"), ("lukasz@example.pl", "Łukasz Żak")]

FORMS = {
    # Excel "CSV UTF-8" where the decimal separator is a comma: BOM, semicolons, CRLF
    "excel-csv-utf8-semicolon": table(
        [["E-Mail", "Name", "Balance"]] + [[a, n, "12,50"] for a, n in PEOPLE], ";"
    ).encode("utf-8-sig"),
    # Excel "CSV UTF-8" in English locales: BOM, commas, CRLF
    "excel-csv-utf8-comma": table([["Email", "Name"], *map(list, PEOPLE)], ",").encode("utf-8-sig"),
    # Excel plain "CSV" on Western Windows: the ANSI code page, no BOM
    "excel-csv-cp1252-comma": table([["Email", "Name"], *map(list, PEOPLE)], ",").encode("cp1252"),
    "excel-csv-cp1252-semicolon": table([["E-mail", "Full name"], *map(list, PEOPLE)], ";").encode(
        "cp1252"
    ),
    # Excel "Unicode Text": UTF-16 little-endian with a BOM, tab-separated
    "excel-unicode-text": table(
        [["Email Address", "Name"], *map(list, PEOPLE + ASIAN)], "\t"
    ).encode("utf-16"),
    "utf-16-big-endian": codecs.BOM_UTF16_BE
    + table([["Email Address", "Name"], *map(list, ASIAN)], "\t").encode("utf-16-be"),
    # Google Sheets "Download > CSV": plain UTF-8, no BOM, commas
    "google-sheets": table([["email", "name"], *map(list, PEOPLE + ASIAN)], ",", "\n").encode(),
    # Mailchimp "Export audience": names split in two, many other columns
    "mailchimp": (
        "Email Address,First Name,Last Name,Address,Phone Number,MEMBER_RATING,OPTIN_TIME,"
        "CONFIRM_TIME,LATITUDE,LONGITUDE,TIMEZONE,CC,LAST_CHANGED,LEID,EUID,NOTES,TAGS\n"
        'rene.dupont@example.fr,René,Dupont,,,2,"2023-01-05 10:00:00",,,,,FR,,1,a1,,\n'
        'zoe@example.ie,Zoë,,,,2,,,,,,IE,,2,b2,,"""VIP"""\n'
        'nameless@example.com,,,"1 Main St, Springfield",,2,,,,,,US,,3,c3,,\n'
    ).encode(),
    # a clinic system's export: its own spellings, names apart, a language column
    "clinic-system": table(
        [
            ["patient_id", "Given name", "Family name", "E-Mail Address", "Language"],
            ["P-001", "René", "Dupont", "Rene.Dupont@Example.FR", "fr"],
            ["P-002", "Siew Lan", "Lee", "lee.siew.lan@example.sg", "en"],
        ],
        ";",
    ).encode("cp1252"),
    "another-clinic-system": table(
        [
            ["id", "firstname", "lastname", "email_address", "lang"],
            ["7", "Zoë", "O’Brien", "zoe@example.ie", "en"],
        ],
        ",",
        "\n",
    ).encode(),
    # an Excel-made file whose first line names the delimiter; old Mac line ends (CR only)
    "excel-sep-hint": b"sep=;\r\nMail;name\r\nzoe@example.ie;Zo\xeb\r\n",
    "one-column-cr-only": b"Mail\rzoe@example.ie\rlee.ann@example.com\r",
}

EXPECTED = {
    "excel-csv-utf8-semicolon": PEOPLE,
    "excel-csv-utf8-comma": PEOPLE,
    "excel-csv-cp1252-comma": PEOPLE,
    "excel-csv-cp1252-semicolon": PEOPLE,
    "excel-unicode-text": PEOPLE + ASIAN,
    "utf-16-big-endian": ASIAN,
    "google-sheets": PEOPLE + ASIAN,
    "mailchimp": [
        ("rene.dupont@example.fr", "René Dupont"),
        ("zoe@example.ie", "Zoë"),
        ("nameless@example.com", ""),
    ],
    "clinic-system": [
        ("Rene.Dupont@example.fr", "René Dupont"),
        ("lee.siew.lan@example.sg", "Siew Lan Lee"),
    ],
    "another-clinic-system": [("zoe@example.ie", "Zoë O’Brien")],
    "excel-sep-hint": [("zoe@example.ie", "Zoë")],
    "one-column-cr-only": [("zoe@example.ie", ""), ("lee.ann@example.com", "")],
}


def csv_file(tmp_path: Path, data: bytes, name: str = "subscribers.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("form", FORMS)
def test_each_export_is_read_as_its_tool_wrote_it(tmp_path: Path, form: str) -> None:
    rows = list(read(csv_file(tmp_path, FORMS[form])))
    assert all(isinstance(row, Subscriber) for row in rows), rows
    assert [(row.address, row.name) for row in rows if isinstance(row, Subscriber)] == (
        EXPECTED[form]
    )


@pytest.mark.parametrize(
    ("form", "notes"),
    [
        ("excel-csv-utf8-semicolon", []),
        ("google-sheets", []),
        ("excel-unicode-text", []),
        ("excel-csv-cp1252-comma", [CP1252_NOTE]),  # a guess, so it is said
    ],
)
def test_only_a_guessed_encoding_is_mentioned(tmp_path: Path, form: str, notes: list[str]) -> None:
    path = csv_file(tmp_path, FORMS[form])
    assert scan(path).warnings(path) == [f"{path}: {note}" for note in notes]


def test_a_language_column_is_carried(tmp_path: Path) -> None:
    rows = list(read(csv_file(tmp_path, FORMS["clinic-system"])))
    assert [row.language for row in rows if isinstance(row, Subscriber)] == ["fr", "en"]


def test_line_numbers_stay_right_with_crlf_and_quoted_line_breaks(tmp_path: Path) -> None:
    text = table(
        [
            ["Email", "Name", "Notes"],
            ["ann@example.com", "Ann", "first line\r\nsecond line\r\nthird"],  # lines 2-4
            ["not-an-address", "Bob", ""],  # line 5
            ["cy@example.com", "Cy", ""],  # line 6
        ],
        ";",
    )
    for encoded in (text.encode("utf-8-sig"), text.encode("utf-16"), text.encode("cp1252")):
        rows = list(read(csv_file(tmp_path, encoded)))
        assert [row.line for row in rows] == [2, 5, 6]
        assert isinstance(rows[1], Invalid) and rows[1].reason.startswith("'not-an-address'")


def test_a_file_that_mixes_encodings_skips_the_rows_it_cannot_read(tmp_path: Path) -> None:
    """Two exports pasted together: reading all as Windows-1252 would garble the UTF-8 names
    ("RenÃ©"), so the file is read as UTF-8 and the one foreign row is reported instead."""
    data = "email,name\r\nrene@example.fr,René\r\n".encode() + b"zoe@example.ie,Zo\xeb\r\n"
    path = csv_file(tmp_path, data)
    assert list(read(path)) == [
        Subscriber(2, "rene@example.fr", "René"),
        Invalid(3, "not UTF-8 text (save the file as CSV UTF-8)"),
    ]
    assert scan(path).warnings(path)[0] == f"{path}: {MIXED_NOTE}"


def test_a_list_with_only_its_header_is_fine_but_said(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "\ufeffEmail;Name\r\n".encode())
    assert list(read(path)) == []
    assert scan(path).warnings(path) == [f"{path}: {EMPTY_LIST}"]


def workbook(mimetype: str | None = None) -> bytes:
    """A zip as a spreadsheet application writes it (the parts that identify it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        if mimetype:
            archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return out.getvalue()


ACCEPTED = "accepted: email, e-mail, email address, e-mail address, email_address, mail"
REFUSED = {
    "xlsx": (workbook(), "this looks like an Excel workbook (.xlsx): save it as CSV UTF-8"),
    "ods": (
        workbook("application/vnd.oasis.opendocument.spreadsheet"),
        "this looks like an OpenDocument spreadsheet (.ods): save it as CSV UTF-8",
    ),
    "xls": (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
        "this looks like an old Excel workbook (.xls): save it as CSV UTF-8",
    ),
    "png": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "this is not a text file (it holds NUL bytes): save the list as CSV UTF-8",
    ),
    "empty": (b"", "the file is empty: its first line must name the columns, e.g. email,name"),
    "only-a-bom": (
        codecs.BOM_UTF8,
        "the file is empty: its first line must name the columns, e.g. email,name",
    ),
    "blank-first-line": (
        b"\r\nemail,name\r\n",
        "the first line is blank: it must name the columns, e.g. email,name",
    ),
    "no-email-column": (
        "Name;Téléphone\r\nAnn;123\r\n".encode("cp1252"),
        f"the first line must name an email column (found 'Name', 'Téléphone'; {ACCEPTED}, "
        "in any case)",
    ),
    "no-header": (
        b"ann@example.com,Ann\r\nbob@example.com,Bob\r\n",
        f"the first line must name an email column (found 'ann@example.com', 'Ann'; "
        f"{ACCEPTED}, in any case): the first line looks like a subscriber, so add a header "
        "line above it",
    ),
    "two-email-columns": (
        b"Email,Name,E-Mail Address\r\n",
        "2 columns look like the email column: 'Email' (column 1), 'E-Mail Address' "
        "(column 3); keep one",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_file_that_cannot_be_a_list_is_refused_saying_why(tmp_path: Path, case: str) -> None:
    data, message = REFUSED[case]
    path = csv_file(tmp_path, data)
    with pytest.raises(SubscribersError) as caught:
        next(read(path), None)
    assert str(caught.value) == f"{path}: {message}"


def test_a_workbook_given_as_the_list_is_a_config_error(project: Path) -> None:
    """The refusal reaches the admin as file:line: key: message, exit 2, nothing sent."""
    config = (project / "config/broadcaster.yaml").read_text()
    line = next(n for n, row in enumerate(config.splitlines(), 1) if "subscribers.csv" in row)
    (project / "config/subscribers.csv").write_bytes(workbook())
    code, output = broadcast("validate")
    assert code == 2
    assert (
        f"config/broadcaster.yaml:{line}: channels.email.subscribers: config/subscribers.csv: "
        "this looks like an Excel workbook (.xlsx): save it as CSV UTF-8"
    ) in output
