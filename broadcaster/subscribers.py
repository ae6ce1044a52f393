"""The email subscriber list: a CSV read as a stream, one checked row at a time.

The file may hold a million rows, so nothing here keeps the list: :func:`read` yields each row
as a :class:`Subscriber` (a valid address, normalised) or an :class:`Invalid` (with its line
number, to be reported and skipped). Columns: ``email`` (required) and ``name`` (optional),
found by header name, in any order and case; other columns are ignored.

Identity is the address in lower case (``Ann@Clinic.example`` and ``ann@clinic.example`` are
one person): it is the delivery's target in the ledger, whose unique key is what guarantees a
repeated address gets one message -- so sending needs no in-memory set of addresses.
:func:`scan` (for ``broadcast validate``) does count repeats, keeping 8 bytes of hash per
address rather than the address itself.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

MAX_NAME = 80


class SubscribersError(Exception):
    """The file cannot be used at all (missing, unreadable, no ``email`` column)."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    line: int
    address: str  # as it goes into To and RCPT TO: ASCII, domain lower-cased (IDNA)
    name: str

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


def read(path: Path) -> Generator[Subscriber | Invalid, None, None]:
    """Every data row in file order; raises SubscribersError if the file itself is unusable."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise SubscribersError(f"{path}: cannot read: {exc.strerror}") from None
    check = Checker()
    with handle:
        reader = csv.reader(handle)
        email_at, name_at = _columns(path, next(reader, None))
        last = reader.line_num
        for row in reader:
            line, last = last + 1, reader.line_num
            if any(cell.strip() for cell in row):
                yield _row(row, line, email_at, name_at, check)


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

    def warnings(self, path: Path) -> list[str]:
        lines = [f"{path}: {problem}, skipped" for problem in self.invalid]
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
    for item in read(path):
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


def _columns(path: Path, header: list[str] | None) -> tuple[int, int | None]:
    names = [cell.strip().lower() for cell in header or []]
    if "email" not in names:
        found = ", ".join(repr(n) for n in names) or "an empty file"
        raise SubscribersError(
            f"{path}: the first line must name an 'email' column (found {found})"
        )
    return names.index("email"), names.index("name") if "name" in names else None


def _row(
    row: list[str], line: int, email_at: int, name_at: int | None, check: Checker
) -> Subscriber | Invalid:
    raw = row[email_at].strip() if email_at < len(row) else ""
    if not raw:
        return Invalid(line, "no address in the email column")
    if "\ufffd" in "".join(row):
        return Invalid(line, "not UTF-8 text (save the file as CSV UTF-8)")
    try:
        address = check(raw)
    except EmailNotValidError as exc:
        return Invalid(line, f"{raw!r}: {exc}")
    name = row[name_at] if name_at is not None and name_at < len(row) else ""
    return Subscriber(line, address, clean_name(name))


def clean_name(name: str) -> str:
    """One line of printable text, short enough for a To header."""
    kept = "".join(c if c.isprintable() else " " if c.isspace() else "" for c in name)
    return " ".join(kept.split())[:MAX_NAME]
