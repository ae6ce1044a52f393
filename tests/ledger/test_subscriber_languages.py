"""The subscriber book keeps each person's language: asked for on the sign-up form, kept when
the link confirms it, changed on the preferences page, read beside each chunk of the CSV
(SQLite, and PostgreSQL when BROADCAST_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from broadcaster.ledger import Ledger
from broadcaster.ledger.subscribers import SubscriberBook

NOW = datetime(2024, 3, 20, 1, 0, tzinfo=UTC)


def test_a_language_is_kept_from_sign_up_to_confirmation(ledger: Ledger) -> None:
    book = SubscriberBook(ledger.engine)
    book.request("wei@x.example", "Wei", "zh", "form", NOW)
    book.request("pending@x.example", "", "ta", "form", NOW)
    book.import_rows([("ann@x.example", "Ann")], "import:x.csv", NOW)
    assert not book.any_language()  # a pending choice is no choice yet: no query per chunk
    book.confirm("wei@x.example", "Wei", NOW, language="zh")
    assert book.any_language()
    book.confirm("gone@x.example", "", NOW, language="ms")  # removed meanwhile: made again
    book.import_rows([("siti@x.example", "Siti", "ms")], "import:x.csv", NOW)

    asked = ["wei@x.example", "pending@x.example", "gone@x.example", "siti@x.example"]
    assert book.languages([*asked, "ann@x.example", "csv@x.example"]) == {
        "wei@x.example": "zh",
        "gone@x.example": "ms",
        "siti@x.example": "ms",
    }  # only confirmed subscribers who chose one
    assert book.get("ann@x.example").language is None  # type: ignore[union-attr]
    assert book.languages([]) == {}


def test_a_change_of_language_changes_the_lists_version(ledger: Ledger) -> None:
    book = SubscriberBook(ledger.engine)
    book.confirm("wei@x.example", "Wei", NOW, language="zh")
    before = book.version()

    assert book.set_language("wei@x.example", "ta", NOW + timedelta(minutes=1))
    assert not book.set_language("csv-only@x.example", "ta", NOW)

    assert book.languages(["wei@x.example"]) == {"wei@x.example": "ta"}
    assert book.version() != before  # a message already sent to the list is walked again
