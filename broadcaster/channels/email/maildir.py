"""The demo transport: each message becomes an ``.eml`` file in a Maildir, no server needed.

Files appear atomically (written in ``tmp/``, renamed into ``new/``), so a mail reader or a
test never sees half a message. Any mail client can open them; ``Delivered-To`` names the
envelope recipient, as a real delivery would.
"""

from __future__ import annotations

import mailbox
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from broadcaster.channels.email.message import Envelope
from broadcaster.channels.email.transport import Outcome
from broadcaster.errors import RetryableError


class MaildirTransport:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._box: mailbox.Maildir | None = None

    async def send_many(
        self, envelopes: Iterable[Envelope]
    ) -> AsyncIterator[tuple[Envelope, Outcome]]:
        for envelope in envelopes:
            yield envelope, self._write(envelope)

    def _write(self, envelope: Envelope) -> Outcome:
        data = f"Delivered-To: {envelope.recipient}\r\n".encode() + envelope.data
        try:
            if self._box is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)  # Maildir makes one level
                self._box = mailbox.Maildir(self.path, create=True)
            name = self._box.add(data.replace(b"\r\n", b"\n"))
        except OSError as exc:
            return RetryableError(f"cannot write to Maildir {self.path}: {exc.strerror}")
        return {"message_id": envelope.message_id, "file": f"new/{name}"}

    async def check(self) -> str:
        return f"writes messages as files in {self.path}/new (Maildir)"

    async def aclose(self) -> None:
        self._box = None
