"""Building one subscriber's message from the notice's one rendering (no server involved)."""

from __future__ import annotations

import email
import random
import re
from datetime import timedelta
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest

from broadcaster.channels.email.message import Prepared, Recipient, Sender

SENDER = Sender("Glow Aesthetics <hello@glow-aesthetics.example>", "desk@glow-aesthetics.example")
RENDERED = {
    "subject": "Glow Aesthetics closed 26 Mar (Tue) – 27 Mar (Wed)",
    "text": "Hello [[name|there]],\n\nAll our outlets will be closed.\n\n"
    "Unsubscribe: [[unsubscribe_url]]",
    "html": "<p>Hello [[name|there]],</p><p>All our outlets will be closed.</p>"
    '<p><a href="[[unsubscribe_url]]">Unsubscribe</a></p>',
}
URL = "https://www.glow-aesthetics.example/unsubscribe?token=1.YW1lbGlh.c2ln&x=1"


def recipient(name: str = "Amelia Tan", address: str = "amelia.tan@example.com") -> Recipient:
    return Recipient(address, name, URL, "mailto:hello@glow-aesthetics.example?subject=unsub")


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message.defects == [] and all(p.defects == [] for p in message.walk())
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = (message.get_body((kind,)) for kind in ("plain", "html"))
    assert text is not None and html is not None
    return (
        str(text.get_content()).replace("\r\n", "\n"),
        str(html.get_content()).replace("\r\n", "\n"),
    )


@pytest.mark.parametrize(("language", "header"), [("zh", "zh"), ("en+zh", "en, zh"), (None, None)])
def test_the_message_says_its_language(language: str | None, header: str | None) -> None:
    """RFC 3282's Content-Language, on the message as a whole (both parts are in it)."""
    prepared = Prepared(RENDERED, SENDER, language)
    message = parse(prepared.build(1, "closure.zh/announce/email/a@x/0", recipient()).data)

    assert message["Content-Language"] == header
    assert all(part["Content-Language"] is None for part in message.iter_parts())


def test_the_message_carries_every_header_a_bulk_sender_needs() -> None:
    envelope = Prepared(RENDERED, SENDER).build(7, "closure/announce/email/a@x/0", recipient())
    message = parse(envelope.data)

    assert envelope.ref == 7
    assert envelope.sender == "hello@glow-aesthetics.example"
    assert envelope.recipient == "amelia.tan@example.com"
    assert message["From"] == "Glow Aesthetics <hello@glow-aesthetics.example>"
    assert message["To"] == "Amelia Tan <amelia.tan@example.com>"
    assert message["Reply-To"] == "desk@glow-aesthetics.example"
    assert message["Subject"] == RENDERED["subject"]
    assert message["MIME-Version"] == "1.0"
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert re.fullmatch(r"<[0-9a-f]{32}@glow-aesthetics\.example>", message["Message-ID"])
    assert message["Message-ID"] == envelope.message_id
    assert message["List-Unsubscribe"] == (
        f"<{URL}>, <mailto:hello@glow-aesthetics.example?subject=unsub>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    kinds = [(p.get_content_type(), p.get_content_charset()) for p in message.iter_parts()]
    assert kinds == [("text/plain", "utf-8"), ("text/html", "utf-8")]  # HTML last: preferred
    assert envelope.data.isascii()  # 7-bit clean: no server needs 8BITMIME or SMTPUTF8
    assert b"\r\n" in envelope.data and b"\n" not in envelope.data.replace(b"\r\n", b"")
    assert max(len(line) for line in envelope.data.split(b"\r\n")) <= 998


def test_each_recipient_gets_their_own_name_and_link_without_re_rendering() -> None:
    prepared = Prepared(RENDERED, SENDER)
    amelia = parse(prepared.build(1, "k1", recipient()).data)
    nameless = parse(prepared.build(2, "k2", recipient(name="", address="x@example.org")).data)

    text, html = parts(amelia)
    assert text.startswith("Hello Amelia Tan,\n")
    assert f"Unsubscribe: {URL}" in text
    assert "<p>Hello Amelia Tan,</p>" in html
    assert f'href="{URL.replace("&", "&amp;")}"' in html  # escaped in HTML, plain in text
    assert parts(nameless)[0].startswith("Hello there,\n")  # the [[name|there]] fallback
    assert nameless["To"] == "x@example.org"


def test_names_are_data_not_markup_or_placeholders() -> None:
    sneaky = 'Bob <b>"&" [[unsubscribe_url]]'
    text, html = parts(parse(Prepared(RENDERED, SENDER).build(1, "k", recipient(sneaky)).data))

    assert text.startswith(f"Hello {sneaky},")  # substituted once: no second pass
    assert "Hello Bob &lt;b&gt;&quot;&amp;&quot; [[unsubscribe_url]]," in html


def test_non_ascii_subject_and_names_are_encoded_and_read_back() -> None:
    rendered = {**RENDERED, "subject": "Glow Aesthetics: fermé 26 mars – 27 mars"}
    data = Prepared(rendered, SENDER).build(1, "k", recipient(name="陈伟 Zoë")).data
    message = parse(data)

    assert data.isascii()
    assert b"=?utf-8?" in data
    assert message["Subject"] == "Glow Aesthetics: fermé 26 mars – 27 mars"
    assert message["To"].addresses[0].display_name == "陈伟 Zoë"
    assert parts(message)[0].startswith("Hello 陈伟 Zoë,")


LONG_SUBJECTS = [
    # each once failed: policy.SMTP folded it so that it unfolded with a space too many or few
    "New on the Glow Aesthetics blog: Can Botox Treat Depression? Here’s the Science",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx for b Depression? 中文 Here’s 中文 Depression? what",
    "x அறிவிப்பு 标题 says அறிவிப்பு Here’s Depression? says says",
    "New on the Glow Aesthetics blog: 中秋节 opening hours & 健康 tips for 肉毒杆菌 patients",
    "New on the Glow Aesthetics blog: புதிய கட்டுரை: போடோக்ஸ் மற்றும் மனச்சோர்வு பற்றி ஆராய்ச்சி",
    "Glow Aesthetics: 👩🏽‍⚕️ Dr. Tan’s café talk — “naïve” questions answered 🇸🇬 " * 2,
    # ASCII, long enough to fold, and words that look like encoded words
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx Heres for Botox Botox Botox nave for a quite long one",
    "Our notice =?utf-8?q?not_an_encoded_word?= stays as written",
    "A" * 120 + " and a word longer than any line",
]


@pytest.mark.parametrize("subject", LONG_SUBJECTS)
def test_a_long_subject_unfolds_to_exactly_what_was_written(subject: str) -> None:
    written = " ".join(subject.split())
    data = Prepared({**RENDERED, "subject": subject}, SENDER).build(1, "k", recipient()).data
    head = data.partition(b"\r\n\r\n")[0].decode("ascii")
    folded = head[head.index("Subject:") :].split("\r\n")
    folded = folded[: 1 + next(i for i, line in enumerate(folded[1:]) if line[:1] != " ")]

    assert parse(data)["Subject"] == written  # as the email package reads it
    raw = "".join(folded)[len("Subject: ") :]
    assert str(make_header(decode_header(raw))) == written  # as RFC 2047 decoders read it
    assert all(len(line) <= 78 for line in folded if "A" * 120 not in line)


def test_the_date_is_numeric_not_the_obsolete_gmt() -> None:
    data = Prepared(RENDERED, SENDER).build(1, "k", recipient()).data
    date_line = next(line for line in data.split(b"\r\n") if line.startswith(b"Date:"))
    assert re.fullmatch(rb"Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", date_line)
    stamp = parsedate_to_datetime(date_line.decode()[len("Date: ") :])
    assert stamp.utcoffset() == timedelta(0)


def test_a_template_without_an_unsubscribe_link_gets_a_footer() -> None:
    rendered = {
        "subject": "Closed",
        "text": "Hello [[name]]",
        "html": "<html><body><p>Hello</p></body></html>",
    }
    text, html = parts(parse(Prepared(rendered, SENDER).build(1, "k", recipient()).data))

    assert text.endswith(f"Unsubscribe: {URL}")
    assert html.index("Unsubscribe</a>") < html.index("</body>")


def test_the_message_id_is_stable_per_delivery_and_unique_per_recipient() -> None:
    prepared = Prepared(RENDERED, SENDER)
    first = prepared.build(1, "closure/announce/email/a@example.com/0", recipient())
    again = prepared.build(1, "closure/announce/email/a@example.com/0", recipient())
    other = prepared.build(2, "closure/announce/email/b@example.com/0", recipient())
    forced = prepared.build(3, "closure/announce/email/a@example.com/1", recipient())

    assert first.message_id == again.message_id  # a retry keeps its id: receivers can dedupe
    assert len({first.message_id, other.message_id, forced.message_id}) == 3
    assert "example.com" not in first.message_id.partition("@")[0]  # the address is hashed


@pytest.mark.parametrize(
    "line",
    [
        ".starts with a dot",
        "ends with spaces   ",
        "x" * 300,
        "tab\tinside and = sign",
        # 76 characters only once encoded, then white space: CPython's encoder, given the
        # whole part, wrote "=20" past the limit here
        "x" * 30 + "é中中中 é=  ",
    ],
)
def test_awkward_lines_survive_quoted_printable(line: str) -> None:
    rendered = {**RENDERED, "text": f"{line}\n[[unsubscribe_url]]"}
    data = Prepared(rendered, SENDER).build(1, "k", recipient()).data
    body = data.partition(b"\r\n\r\n")[2]
    assert max(len(raw) for raw in body.split(b"\r\n")) <= 76  # quoted-printable's limit
    assert parts(parse(data))[0].startswith(f"{line}\n")


def test_any_body_stays_within_76_characters_a_line_and_reads_back_exactly() -> None:
    """Bodies made of awkward pieces (multi-byte text, "=", tabs, trailing spaces, long runs,
    placeholders), read back by the standard library's parser, as a mail client would."""
    pieces = ["a", " ", "\t", "=", "é", "中", "\n", ".", "x" * 30, "  \n", "[[name]]", "[[email]]"]
    chosen = random.Random(17)
    for _ in range(300):
        text = "".join(chosen.choice(pieces) for _ in range(chosen.randint(1, 60)))
        rendered = {**RENDERED, "text": f"{text}\n[[unsubscribe_url]]"}
        data = Prepared(rendered, SENDER).build(1, "k", recipient("Zoë 陈")).data
        body = data.partition(b"\r\n\r\n")[2]
        assert max(len(raw) for raw in body.split(b"\r\n")) <= 76
        expected = text.replace("[[name]]", "Zoë 陈").replace("[[email]]", "amelia.tan@example.com")
        assert parts(parse(data))[0] == f"{expected}\n{URL}"


def test_an_internationalised_sender_domain_goes_out_in_ascii() -> None:
    sender = Sender("Bücherei <info@Bücher.example>")
    envelope = Prepared(RENDERED, sender).build(1, "k", recipient())
    assert (sender.address, sender.domain) == (
        "info@xn--bcher-kva.example",
        "xn--bcher-kva.example",
    )
    assert envelope.sender == "info@xn--bcher-kva.example"
    assert envelope.message_id.endswith("@xn--bcher-kva.example>")
    assert parse(envelope.data)["From"].addresses[0].display_name == "Bücherei"
