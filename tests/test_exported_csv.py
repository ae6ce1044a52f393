"""How a CSV's encoding and delimiter are decided (broadcaster.exported_csv), in the order the
module promises. (What that means for a subscriber list: tests/test_subscribers.py.)"""

from __future__ import annotations

import codecs
import io

import pytest

from broadcaster.exported_csv import (
    CHUNK,
    CP1252_NOTE,
    MIXED_NOTE,
    Encoding,
    NotCsv,
    choose_delimiter,
    encoding_of,
)

NAMES = "email,name\r\nzoe@example.ie,Zoë O’Brien\r\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF8 + NAMES.encode(), Encoding("utf-8-sig", "UTF-8", "replace")),
        (NAMES.encode("utf-16"), Encoding("utf-16", "UTF-16", "replace")),
        (codecs.BOM_UTF16_BE + NAMES.encode("utf-16-be"), Encoding("utf-16", "UTF-16", "replace")),
        (NAMES.encode(), Encoding("utf-8", "UTF-8")),
        (b"email\r\na@example.com\r\n", Encoding("utf-8", "UTF-8")),
        (NAMES.encode("cp1252"), Encoding("cp1252", "Windows-1252", note=CP1252_NOTE)),
        # UTF-8 and Windows-1252 pasted together: neither reading is right for every row
        (
            NAMES.encode() + NAMES.encode("cp1252"),
            Encoding("utf-8", "UTF-8", "replace", MIXED_NOTE),
        ),
        # bytes Windows-1252 leaves undefined (0x81): not Windows-1252 either
        (b"email\r\na@example.com,\x81\r\n", Encoding("utf-8", "UTF-8", "replace", MIXED_NOTE)),
    ],
    ids=["utf-8 BOM", "utf-16 LE", "utf-16 BE", "utf-8", "ascii", "cp1252", "mixed", "neither"],
)
def test_the_encoding_is_decided_in_a_fixed_order(data: bytes, expected: Encoding) -> None:
    binary = io.BytesIO(data)
    assert encoding_of(binary) == expected
    assert binary.tell() == 0  # rewound for the reader


def test_utf8_is_found_however_far_into_the_file_it_is() -> None:
    """A long Windows-1252 file with one UTF-8 name, split across two 64 KiB pieces."""
    head = b"email,name\r\n" + b"a@example.com,Zo\xeb\r\n" * (CHUNK // 20)
    pad = b"x" * (CHUNK - len(head) - 1)
    data = head + pad + "é".encode() + b"\r\n"
    assert data[CHUNK - 1 : CHUNK + 1] == "é".encode()
    assert encoding_of(io.BytesIO(data)).note == MIXED_NOTE
    assert encoding_of(io.BytesIO(data.replace("é".encode(), b"\xe9"))).note == CP1252_NOTE


def test_utf16_without_a_bom_is_named_not_guessed() -> None:
    with pytest.raises(NotCsv, match="looks like UTF-16 text without a byte-order mark"):
        encoding_of(io.BytesIO(NAMES.encode("utf-16-le")))


def has_email(header: list[str]) -> bool:
    return any(cell.strip().lower() == "email" for cell in header)


@pytest.mark.parametrize(
    ("header", "sample", "delimiter"),
    [
        ("email;name\r\n", "", ";"),  # the header decides
        ("Name\temail\r\n", "", "\t"),
        ("email\r\n", "email\r\na@example.com\r\n", ","),  # one column: any will do
        ("name;phone\r\n", "name;phone\r\nAnn;1\r\n", ";"),  # no fit: sniffed (for the message)
    ],
)
def test_the_delimiter_is_the_one_that_finds_the_columns(
    header: str, sample: str, delimiter: str
) -> None:
    assert choose_delimiter(header, sample or header, has_email) == delimiter
