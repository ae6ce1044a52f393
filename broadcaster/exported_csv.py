"""A CSV as spreadsheets and mailing tools save it: which encoding, which delimiter.

Excel alone writes four kinds of file an admin may hand us: "CSV UTF-8" (a BOM, commas -- or
semicolons where the decimal separator is a comma -- and CRLF), "CSV" (the Windows code page:
cp1252 in Western Europe and the Americas), "Unicode text" (UTF-16 with a BOM, tab-separated)
and the workbook itself (.xlsx), which is no CSV at all. Google Sheets and Mailchimp write
plain UTF-8 with commas.

The encoding is decided in a fixed order, so an admin can predict it:

1. a byte-order mark (UTF-8, UTF-16 LE or BE) decides;
2. NUL bytes mean it is not text (a workbook, a PDF): refused, saying what it looks like;
3. a file that is UTF-8 throughout is UTF-8;
4. else, one that decodes as Windows-1252 and holds no UTF-8 sequence at all is read as
   Windows-1252, with a note saying so: a Mac Roman or Central European file decodes too,
   wrongly, and the note is how an admin sees that;
5. else it mixes encodings: it is read as UTF-8, and the caller skips (and reports) each row
   holding bytes that are not UTF-8 rather than give anyone a garbled name.

Steps 3 and 4 read the file once more, in 64 KiB pieces: memory stays flat for any size.

The delimiter (``,`` ``;`` or tab) is the one that splits the header line into columns the
caller can use; when that does not settle it, :class:`csv.Sniffer` over the first lines does.
An Excel ``sep=;`` first line names it outright.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from _csv import Reader

DELIMITERS = ",;\t"
CHUNK = 1 << 16
SAMPLE_LINES = 10  # lines csv.Sniffer sees when the header alone does not decide
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
CP1252_NOTE = (
    "not UTF-8, so read as Windows-1252 (what Excel's plain 'CSV' is on Western Windows); "
    "if names look wrong, save the file as CSV UTF-8"
)
MIXED_NOTE = (
    "neither UTF-8 throughout nor Windows-1252 (mixed encodings?): rows with bytes that are "
    "not UTF-8 are skipped; save the file as CSV UTF-8"
)
_SEP_HINT = re.compile(r"sep=([,;\t|])", re.IGNORECASE)


class NotCsv(Exception):
    """The file cannot be read as a CSV at all; the message says what it is and what to do."""


@dataclass(frozen=True)
class Encoding:
    codec: str
    label: str  # as an admin knows it: "UTF-8", "Windows-1252"
    errors: str = "strict"  # "replace" where bytes the codec rejects are possible
    note: str = ""  # said to the admin when the encoding was a guess


@dataclass
class Table:
    """An opened CSV: its header row, and a reader positioned after it."""

    encoding: Encoding
    delimiter: str
    header: list[str] | None  # None: the file is empty
    rows: Reader  # its ``line_num`` counts the physical lines read so far
    stream: io.TextIOWrapper

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stream.close()


def open_table(binary: IO[bytes], fits: Callable[[list[str]], bool]) -> Table:
    """Read ``binary``'s encoding and delimiter; ``fits`` says whether a header has the columns
    the caller needs (it chooses among delimiters). Raises NotCsv for a file that is not text.

    The Table takes ``binary`` over: closing it (or an error here) closes the file.
    """
    try:
        encoding = encoding_of(binary)
    except BaseException:
        binary.close()
        raise
    text = io.TextIOWrapper(binary, encoding=encoding.codec, errors=encoding.errors, newline="")
    try:
        return _table(text, encoding, fits)
    except BaseException:
        text.close()
        raise


def _table(text: io.TextIOWrapper, encoding: Encoding, fits: Callable[[list[str]], bool]) -> Table:
    first = text.readline()
    hint = _SEP_HINT.fullmatch(first.rstrip("\r\n"))
    lines = [first] if hint is None else [first, text.readline()]
    header_line = lines[-1]
    lines += [line for line in (text.readline() for _ in range(SAMPLE_LINES)) if line]
    if hint is not None:
        delimiter = hint.group(1)
    else:
        delimiter = choose_delimiter(header_line, "".join(lines), fits)
    reader = csv.reader(chain(filter(None, lines), text), delimiter=delimiter)
    if hint is not None:
        next(reader)
    return Table(encoding, delimiter, next(reader, None), reader, text)


def choose_delimiter(header_line: str, sample: str, fits: Callable[[list[str]], bool]) -> str:
    """The delimiter whose split of the header fits; if none or several do, csv.Sniffer's
    choice among them, else the one that makes the most columns (a comma on a tie)."""
    fitting = [d for d in DELIMITERS if fits(cells(header_line, d))]
    if len(fitting) == 1:
        return fitting[0]
    candidates = fitting or list(DELIMITERS)
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(candidates)).delimiter
    except csv.Error:
        sniffed = ""
    if sniffed in candidates:
        return sniffed
    return max(candidates, key=lambda d: len(cells(header_line, d)))


def cells(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def encoding_of(binary: IO[bytes]) -> Encoding:
    """The file's encoding, decided in the order the module docstring gives; rewinds."""
    head = binary.read(CHUNK)
    binary.seek(0)
    for bom, codec, label in BOMS:
        if head.startswith(bom):
            return Encoding(codec, label, "replace")
    if b"\0" in head:
        raise NotCsv(not_text(head))
    if _decodes(binary, "utf-8"):
        return Encoding("utf-8", "UTF-8")
    if _decodes(binary, "cp1252") and not _holds_utf8(binary):
        return Encoding("cp1252", "Windows-1252", note=CP1252_NOTE)
    return Encoding("utf-8", "UTF-8", "replace", MIXED_NOTE)


def not_text(head: bytes) -> str:
    """What a file with NUL bytes probably is, and what to do about it."""
    if head.startswith(b"PK\x03\x04"):
        if b"opendocument.spreadsheet" in head[:100]:
            return "this looks like an OpenDocument spreadsheet (.ods): save it as CSV UTF-8"
        return "this looks like an Excel workbook (.xlsx): save it as CSV UTF-8"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "this looks like an old Excel workbook (.xls): save it as CSV UTF-8"
    if max(head[0::2].count(0), head[1::2].count(0)) * 4 > len(head):  # ASCII, two bytes each
        return "this looks like UTF-16 text without a byte-order mark: save it as CSV UTF-8"
    return "this is not a text file (it holds NUL bytes): save the list as CSV UTF-8"


def _decodes(binary: IO[bytes], codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)("strict")
    try:
        while chunk := binary.read(CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        binary.seek(0)
    return True


def _holds_utf8(binary: IO[bytes]) -> bool:
    """Whether any byte sequence in the file is a UTF-8 character beyond ASCII: decoded with
    replacement, such a file leaves something non-ASCII besides U+FFFD (checked in C, fast)."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    try:
        while chunk := binary.read(CHUNK):
            if not decoder.decode(chunk).replace("\ufffd", "").isascii():
                return True
        return not decoder.decode(b"", final=True).replace("\ufffd", "").isascii()
    finally:
        binary.seek(0)
