"""Which revision is the newest, and the error for one this version does not know: apart
from the package, so the migration runner can import them without importing it back."""

from __future__ import annotations

#: the newest revision, which ``schema.metadata`` describes
HEAD = "0002"
#: the revision a ledger from before migrations is taken over at
BASELINE = "0001"


class UnknownRevision(Exception):
    """The ledger is at a revision this version does not have: a newer one migrated it."""

    def __init__(self, revision: str) -> None:
        super().__init__(revision)
        self.revision = revision
