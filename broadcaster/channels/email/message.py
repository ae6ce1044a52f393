"""One notice's email, prepared once, then personalised per recipient by substitution.

The Jinja templates are rendered once per notice (the dispatcher stores the result). What
differs per recipient is left in the rendered text as placeholders, which Jinja passes
through untouched because they are not Jinja syntax::

    [[name]]              the subscriber's name ("" if the CSV has none)
    [[name|there]]        ... or "there" when the name is empty
    [[email]]             the subscriber's address
    [[unsubscribe_url]]   their own one-click unsubscribe link

:class:`Prepared` splits each part at the placeholders once, and encodes in quoted-printable
once every line that holds none; building a message is then a join, an HTML-escape of the
values in the HTML part, and the encoding of the few lines that hold a value -- no template
engine and no ``email.message`` object per recipient. A body without
``[[unsubscribe_url]]`` gets a one-line unsubscribe footer, because bulk mail must show one.

The output is a complete RFC 5322 message (CRLF line ends): ``multipart/alternative`` with
text first and HTML last, UTF-8 in quoted-printable, and the headers Gmail and Yahoo require
of bulk senders (List-Unsubscribe with an HTTPS link and a mailto, and
List-Unsubscribe-Post for RFC 8058 one-click), and ``Content-Language`` (RFC 3282) saying
which of the site's languages the message is in.
"""

from __future__ import annotations

import binascii
import hashlib
import html
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr

PLACEHOLDER = re.compile(r"\[\[\s*(name|email|unsubscribe_url)\s*(?:\|([^\]\n]*))?\]\]")
TEXT_FOOTER = "\n\n--\nUnsubscribe: [[unsubscribe_url]]"
HTML_FOOTER = (
    '<p style="font:12px/1.5 Arial,sans-serif;color:#777777;text-align:center">'
    '<a href="[[unsubscribe_url]]" style="color:#777777">Unsubscribe</a></p>'
)

#: a part split at its placeholders: literal text, then (name, fallback) pairs
Pieces = tuple[str | tuple[str, str], ...]
#: a part line by line: a line without placeholders already in quoted-printable, a line with
#: them as its pieces, to be filled and encoded per recipient
Lines = tuple[str | Pieces, ...]


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message ready for a transport: the channel's payload."""

    ref: int  # the delivery id, so outcomes find their ledger row
    sender: str  # MAIL FROM (where bounces go)
    recipient: str  # RCPT TO
    message_id: str
    data: bytes  # the whole message, CRLF line ends, not dot-stuffed


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str
    name: str
    unsubscribe_url: str
    unsubscribe_mailto: str


@dataclass(frozen=True)
class Sender:
    """Who the mail is from, as configured (``from``, ``reply_to``)."""

    from_header: str  # "Glow Aesthetics <hello@glow.example>"
    reply_to: str | None = None
    address: str = field(init=False)  # the bare address: MAIL FROM, where bounces go
    domain: str = field(init=False)  # for Message-IDs and EHLO

    def __post_init__(self) -> None:
        local, _, domain = parseaddr(self.from_header)[1].rpartition("@")
        domain = domain.lower().encode("idna").decode("ascii")  # bücher.example -> xn--...
        object.__setattr__(self, "address", f"{local}@{domain}")
        object.__setattr__(self, "domain", domain)


class Prepared:
    """A rendered message (subject, text, html) split for fast per-recipient building."""

    def __init__(
        self, rendered: Mapping[str, str], sender: Sender, language: str | None = None
    ) -> None:
        self.rendered = dict(rendered)
        self.sender = sender
        subject = " ".join(rendered["subject"].split())
        self.subject = _split(subject)
        self.text = _by_line(_with_footer(_lines(rendered["text"]), TEXT_FOOTER, html_part=False))
        self.html = _by_line(_with_footer(_lines(rendered["html"]), HTML_FOOTER, html_part=True))
        digest = hashlib.sha256(repr(sorted(rendered.items())).encode()).hexdigest()
        self.boundary = f"=_broadcaster_{digest[:24]}"  # "=_" never occurs in QP text
        self._fixed_subject = _subject(subject) if len(self.subject) == 1 else None
        self._head = _header_block(sender, self.boundary, language)

    def build(self, ref: int, key: str, recipient: Recipient) -> Envelope:
        """The complete message for one recipient; ``key`` makes its Message-ID."""
        values = {
            "name": recipient.name,
            "email": recipient.address,
            "unsubscribe_url": recipient.unsubscribe_url,
        }
        message_id = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{self.sender.domain}>"
        subject = self._fixed_subject or _subject(_fill(self.subject, values, False))
        head = (
            f"{_to_line(recipient)}"
            f"{subject}"
            f"Date: {_date()}\r\n"
            f"Message-ID: {message_id}\r\n"
            f"List-Unsubscribe: <{recipient.unsubscribe_url}>,\r\n"
            f" <{recipient.unsubscribe_mailto}>\r\n"
        )
        text = _encoded(self.text, values, False)
        body = _encoded(self.html, values, True)
        boundary = self.boundary
        data = (
            f"{self._head}{head}"
            'Content-Type: multipart/alternative;\r\n boundary="' + boundary + '"\r\n\r\n'
            f"--{boundary}\r\n"
            'Content-Type: text/plain; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            f"{text}\r\n"
            f"--{boundary}\r\n"
            'Content-Type: text/html; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            f"{body}\r\n"
            f"--{boundary}--\r\n"
        )
        return Envelope(ref, self.sender.address, recipient.address, message_id, data.encode())


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _with_footer(body: str, footer: str, *, html_part: bool) -> str:
    if any(isinstance(p, tuple) and p[0] == "unsubscribe_url" for p in _split(body)):
        return body
    if html_part and "</body>" in body:
        return body.replace("</body>", footer + "</body>", 1)
    return body + footer


def _split(text: str) -> Pieces:
    pieces: list[str | tuple[str, str]] = []
    position = 0
    for match in PLACEHOLDER.finditer(text):
        pieces.append(text[position : match.start()])
        pieces.append((match.group(1), (match.group(2) or "").strip()))
        position = match.end()
    pieces.append(text[position:])
    return tuple(pieces)


def _fill(pieces: Pieces, values: Mapping[str, str], escape: bool) -> str:
    out = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
        else:
            value = values[piece[0]] or piece[1]
            out.append(html.escape(value) if escape else value)
    return "".join(out)


def _by_line(text: str) -> Lines:
    """``text`` line by line, each line without a placeholder encoded here, once."""
    lines: list[str | Pieces] = []
    for line in text.split("\n"):
        pieces = _split(line)
        lines.append(_qp(line) if len(pieces) == 1 else pieces)
    return tuple(lines)


def _encoded(lines: Lines, values: Mapping[str, str], escape: bool) -> str:
    """The part for one recipient, in quoted-printable with CRLF line ends."""
    return "\r\n".join(
        line if isinstance(line, str) else _qp(_fill(line, values, escape)) for line in lines
    )


def _qp(line: str) -> str:
    """One line (no line end) in quoted-printable: ``=`` soft breaks keep every encoded line
    within RFC 2045's 76 characters.

    Encoded a line at a time, not the part at once: besides letting lines without a
    placeholder be encoded once per notice, this keeps the limit where CPython's encoder,
    given several lines, writes a line that ends in white space past it (``=20`` appended
    after 76 characters)."""
    encoded = binascii.b2a_qp(line.encode("utf-8"), quotetabs=False, istext=True, header=False)
    return encoded.decode("ascii").replace("\n", "\r\n")


def _to_line(recipient: Recipient) -> str:
    """The To header, cheaply: this runs once per message (the email package's folding is
    ~20 times slower, so it is kept for the headers built once per notice)."""
    name = recipient.name
    if not name:
        return f"To: {recipient.address}\r\n"
    if name.isascii():
        return f"To: {formataddr((name, recipient.address))}\r\n"
    return (
        f"To: {Header(name, 'utf-8').encode(linesep=chr(13) + chr(10))} <{recipient.address}>\r\n"
    )


def _header_block(sender: Sender, boundary: str, language: str | None = None) -> str:
    lines = _fold("From", sender.from_header)
    if sender.reply_to:
        lines += _fold("Reply-To", sender.reply_to)
    if language:  # RFC 3282; a message in several languages ("en+zh") lists each
        lines += f"Content-Language: {', '.join(language.split('+'))}\r\n"
    return lines + "MIME-Version: 1.0\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"


def _subject(value: str) -> str:
    """The Subject header, folded so that every reader unfolds it to exactly ``value``.

    Not ``policy.SMTP``'s folder: on long subjects mixing ASCII and other scripts it drops the
    space between encoded words or doubles it at a fold (``Depression?  Here’s``) in about
    one subject in seven. Plain ASCII is folded at its spaces (unfolding puts each one back);
    anything else becomes a run of RFC 2047 encoded words, between which readers ignore the
    folding white space, each holding whole characters.
    """
    value = " ".join(value.split())
    if value.isascii() and "=?" not in value:  # "=?" would be read as an encoded word
        return f"Subject: {_fold_at_spaces(value, len('Subject: '))}\r\n"
    encoded = Header(value, "utf-8", header_name="Subject").encode(linesep="\r\n")
    return f"Subject: {encoded}\r\n"


def _fold_at_spaces(value: str, used: int, width: int = 78) -> str:
    """Break before words that would pass ``width``; a word longer than a line stays whole."""
    lines = [""]
    for word in value.split(" "):
        room = width - (used if len(lines) == 1 else 1)
        if lines[-1] and len(lines[-1]) + 1 + len(word) > room:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}" if lines[-1] else word
    return "\r\n ".join(lines)


def _fold(name: str, value: str) -> str:
    """``Name: value`` folded and RFC 2047-encoded as needed, ending in CRLF."""
    return str(policy.SMTP.header_factory(name, value).fold(policy=policy.SMTP))


_date_cache: tuple[int, str] = (0, "")


def _date() -> str:
    """The Date header value (``+0000``, not the obsolete ``GMT``), made at most once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, format_datetime(datetime.fromtimestamp(now, UTC)))
    return _date_cache[1]
