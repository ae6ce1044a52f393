"""The email subscriber list: a CSV read as a stream, one checked row at a time.

The file may hold a million rows, so nothing here keeps the list: :func:`read` yields each row
as a :class:`Subscriber` (a valid address, normalised) or an :class:`Invalid` (with its line
number, to be reported and skipped). Columns are found by header name, in any order, under
the spellings spreadsheets and mailing tools export (:class:`Layout`): an email column
(required), a name or first and last names, a language; other columns are ignored. How the
file is decoded and split -- Excel's semicolons, Windows-1252, UTF-16 -- is
:mod:`broadcaster.exported_csv`'s business.

Identity is the address in lower case (``Ann@Clinic.example`` and ``ann@clinic.example`` are
one person): it is the delivery's target in the ledger, whose unique key is what guarantees a
repeated address gets one message -- so sending needs no in-memory set of addresses.
:func:`scan` (for ``broadcast validate``) does count repeats, keeping 8 bytes of hash per
address rather than the address itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from broadcaster import exported_csv

MAX_NAME = 80
EMPTY_LIST = "no subscribers: the file has no rows under its header line"


class SubscribersError(Exception):
    """The file cannot be used at all (missing, unreadable, no ``email`` column)."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    line: int
    address: str  # as it goes into To and RCPT TO: ASCII, domain lower-cased (IDNA)
    name: str
    language: str = ""  # as written in a ``language`` column, if the list has one

    @property
    def key(self) -> str:
        """The ledger target and the suppression-list key."""
        return self.address.lower()


@dataclass(frozen=True, slots=True)
class Invalid:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def read(path: Path, notes: list[str] | None = None) -> Generator[Subscriber | Invalid, None, None]:
    """Every data row in file order; raises SubscribersError if the file itself is unusable.

    ``notes`` receives what an admin should know about the file as a whole (that its encoding
    was a guess), once the first row has been asked for.
    """
    try:
        binary = path.open("rb")
    except OSError as exc:
        raise SubscribersError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        table = exported_csv.open_table(binary, lambda header: bool(_email_columns(header)))
    except exported_csv.NotCsv as exc:
        raise SubscribersError(f"{path}: {exc}") from None
    with table:
        try:
            layout = Layout.of(table)
        except ValueError as exc:
            raise SubscribersError(f"{path}: {exc}") from None
        if notes is not None and table.encoding.note:
            notes.append(f"{path}: {table.encoding.note}")
        rows, last = table.rows, table.rows.line_num
        for row in rows:
            line, last = last + 1, rows.line_num
            if any(cell.strip() for cell in row):
                yield layout.row(row, line)


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
DOT_ATOM = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")


class Checker:
    """email-validator's verdict on addresses, at a fraction of its cost for long lists.

    Checking a domain (IDNA, reserved names) is most of email-validator's work, and a list
    has few distinct domains: each is checked once, by email-validator, on the first address
    that uses it. After that an address on a known domain whose local part is a plain
    ``dot-atom`` (RFC 5322: ``ann.lee+news``) needs nothing more; anything else -- quoted,
    non-ASCII, odd dots, too long -- still goes through email-validator in full.
    """

    MAX_DOMAINS = 10_000

    def __init__(self) -> None:
        self._domains: dict[str, str] = {}  # as written -> checked ASCII form

    def __call__(self, raw: str) -> str:
        """The address to send to (ASCII, domain lower-cased); EmailNotValidError if invalid."""
        local, _, domain = raw.rpartition("@")
        known = self._domains.get(domain)
        if (
            known is not None
            and len(local) <= 64
            and len(local) + 1 + len(known) <= 254
            and DOT_ATOM.fullmatch(local)
        ):
            return f"{local}@{known}"
        checked = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
        if len(self._domains) < self.MAX_DOMAINS:
            self._domains[domain] = checked.ascii_domain
        return checked.ascii_email or checked.normalized


def normalise(address: str) -> str:
    """The canonical lower-case form of an address, or ValueError saying what is wrong."""
    try:
        checked = validate_email(address.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{address.strip()!r}: {exc}") from None
    return (checked.ascii_email or checked.normalized).lower()


@dataclass
class Report:
    """What :func:`scan` found; ``invalid`` keeps the first ``keep`` problems only."""

    rows: int = 0
    valid: int = 0
    invalid_count: int = 0
    duplicates: int = 0
    invalid: list[Invalid] = field(default_factory=list)
    repeated_lines: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the file as a whole

    def warnings(self, path: Path) -> list[str]:
        lines = list(self.notes)
        if not self.rows:
            lines.append(f"{path}: {EMPTY_LIST}")
        lines += [f"{path}: {problem}, skipped" for problem in self.invalid]
        if self.invalid_count > len(self.invalid):
            lines.append(f"{path}: ... and {self.invalid_count - len(self.invalid)} more invalid")
        if self.duplicates:
            at = ", ".join(str(n) for n in self.repeated_lines)
            more = ", ..." if self.duplicates > len(self.repeated_lines) else ""
            count = (
                "1 repeated address"
                if self.duplicates == 1
                else f"{self.duplicates} repeated addresses"
            )
            lines.append(
                f"{path}: {count} (line{'s' if self.duplicates > 1 else ''} {at}{more}): "
                "each address gets one message"
            )
        return lines


def scan(path: Path, keep: int = 20) -> Report:
    """Check the whole file: counts, the first problems, and repeated addresses."""
    report = Report()
    seen: set[bytes] = set()
    for item in read(path, report.notes):
        report.rows += 1
        if isinstance(item, Invalid):
            report.invalid_count += 1
            if len(report.invalid) < keep:
                report.invalid.append(item)
            continue
        digest = hashlib.blake2b(item.key.encode(), digest_size=8).digest()
        if digest in seen:
            report.duplicates += 1
            if len(report.repeated_lines) < keep:
                report.repeated_lines.append(item.line)
        else:
            seen.add(digest)
            report.valid += 1
    return report


#: header spellings, compared after :func:`header_key` (so "E-Mail Address" is "emailaddress")
EMAIL_HEADERS = frozenset({"email", "emailaddress", "mail"})
NAME_HEADERS = ("name", "fullname")
FIRST_NAME_HEADERS = ("firstname", "givenname")
LAST_NAME_HEADERS = ("lastname", "familyname", "surname")
LANGUAGE_HEADERS = ("language", "lang")
ACCEPTED = "email, e-mail, email address, e-mail address, email_address, mail"


def header_key(cell: str) -> str:
    """A header cell as compared: lower case, without spaces, hyphens, underscores or a BOM."""
    return re.sub(r"[\s\-_\ufeff]+", "", cell).casefold()


def _email_columns(header: list[str]) -> list[int]:
    return [at for at, cell in enumerate(header) if header_key(cell) in EMAIL_HEADERS]


def _first_of(header: list[str], spellings: tuple[str, ...]) -> int | None:
    keys = [header_key(cell) for cell in header]
    return next((at for at, key in enumerate(keys) if key in spellings), None)


@dataclass(frozen=True)
class Layout:
    """Where each field is in a row, and how to read one; columns not named here are ignored.

    The name is the first ``name``/``full name`` column, or else ``first name`` and
    ``last name`` joined (Mailchimp and most clinic systems export them apart).
    """

    email: int
    name: int | None
    first: int | None
    last: int | None
    language: int | None
    #: why a row holding bytes its encoding cannot read is skipped (None: all were checked)
    undecodable: str | None
    check: Checker = field(default_factory=Checker, compare=False)

    @classmethod
    def of(cls, table: exported_csv.Table) -> Layout:
        """The layout of ``table``'s header; ValueError says why there is none."""
        header = table.header or []
        found = _email_columns(header)
        if len(found) > 1:
            named = ", ".join(f"{header[at].strip()!r} (column {at + 1})" for at in found)
            raise ValueError(f"{len(found)} columns look like the email column: {named}; keep one")
        if not found:
            raise ValueError(_no_email_column(table.header))
        return cls(
            email=found[0],
            name=_first_of(header, NAME_HEADERS),
            first=_first_of(header, FIRST_NAME_HEADERS),
            last=_first_of(header, LAST_NAME_HEADERS),
            language=_first_of(header, LANGUAGE_HEADERS),
            undecodable=f"not {table.encoding.label} text (save the file as CSV UTF-8)"
            if table.encoding.errors == "replace"
            else None,
        )

    def row(self, row: list[str], line: int) -> Subscriber | Invalid:
        raw = _cell(row, self.email).strip()
        if not raw:
            return Invalid(line, "no address in the email column")
        if self.undecodable and "\ufffd" in "".join(row):
            return Invalid(line, self.undecodable)
        try:
            address = self.check(raw)
        except EmailNotValidError as exc:
            return Invalid(line, f"{raw!r}: {exc}")
        language = _cell(row, self.language).strip() if self.language is not None else ""
        return Subscriber(line, address, self.name_in(row), language)

    def name_in(self, row: list[str]) -> str:
        """The name column, or else first and last names joined."""
        name = _cell(row, self.name)
        if not name.strip() and (self.first is not None or self.last is not None):
            name = f"{_cell(row, self.first)} {_cell(row, self.last)}"
        return clean_name(name)


def _cell(row: list[str], at: int | None) -> str:
    return row[at] if at is not None and at < len(row) else ""


def _no_email_column(header: list[str] | None) -> str:
    if header is None:
        return "the file is empty: its first line must name the columns, e.g. email,name"
    if not any(cell.strip() for cell in header):
        return "the first line is blank: it must name the columns, e.g. email,name"
    found = ", ".join(repr(cell.strip()) for cell in header)
    message = (
        f"the first line must name an email column (found {found}; accepted: {ACCEPTED}, "
        "in any case)"
    )
    if any("@" in cell for cell in header):
        message += ": the first line looks like a subscriber, so add a header line above it"
    return message


def clean_name(name: str) -> str:
    """One line of printable text, short enough for a To header."""
    if name.isprintable():  # the usual case, checked in C: nothing to drop
        return " ".join(name.split())[:MAX_NAME]
    kept = "".join(c if c.isprintable() else " " if c.isspace() else "" for c in name)
    return " ".join(kept.split())[:MAX_NAME]
