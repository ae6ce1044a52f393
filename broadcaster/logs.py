"""Logging that can never leak a secret.

Every handler gets a filter that replaces each configured secret (and anything shaped like
a Telegram bot token inside a URL) with ``***`` -- in the message *and* its arguments, so
httpx's own DEBUG/INFO request lines are covered too.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable

BOT_TOKEN_IN_URL = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


class Redactor(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def add(self, secrets: Iterable[str]) -> None:
        """Redact these too (a channel registers its credentials when it is built)."""
        self.secrets = sorted({*self.secrets, *(s for s in secrets if s)}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return BOT_TOKEN_IN_URL.sub("/bot***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


#: Loggers of the libraries that see request URLs and headers (httpx logs every request URL
#: at INFO, httpcore traces at DEBUG). Their records are redacted where they are created.
LIBRARY_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2")
#: Shorter values are no real credential (tokens and app passwords are 19+ characters), and
#: redacting them process-wide would garble every log line that contains them.
MIN_SECRET_LENGTH = 8
_AT_SOURCE = Redactor(())


def redact_at_source(secrets: Iterable[str]) -> None:
    """Filter ``secrets`` out of the HTTP libraries' own log records, whatever handler (the
    CLI's, pytest's caplog, a host application's) ends up writing them."""
    _AT_SOURCE.add(s for s in secrets if len(s) >= MIN_SECRET_LENGTH)
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _AT_SOURCE not in logger.filters:
            logger.addFilter(_AT_SOURCE)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False)


def setup(secrets: Iterable[str], *, level: str = "WARNING", fmt: str = "text") -> Redactor:
    """Configure the root logger once for the CLI: stderr, redacted, text or JSON lines."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(redactor)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    return redactor
