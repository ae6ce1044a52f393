"""Every error broadcaster raises on purpose, as one tree.

::

    BroadcastError
    ├── ConfigError            bad YAML, unknown key, impossible dates: exit 2, nothing sent
    ├── SetupError             the machine, not the config: an unreachable database, a folder
    │                          that cannot be written, a missing extra: exit 2, nothing sent
    └── DeliveryError          one delivery on one channel did not go out
        ├── RetryableError     network, timeout, 5xx, rate limit: try again later
        │   └── NoReply        the request went out, no answer came back: it may have worked
        ├── PermanentError     auth, validation, refused: never retried, reported
        └── AlreadyDelivered   the platform says it has this post already: counts as sent

Channels raise only the DeliveryError family; the dispatcher maps each onto a ledger state
(``retry``, ``failed``, ``sent``), so no caller ever parses a provider's error strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class BroadcastError(Exception):
    """Base of every error raised on purpose."""


@dataclass
class ConfigProblem:
    """One mistake in the config, located as precisely as the YAML allows."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


@dataclass
class ConfigError(BroadcastError):
    """The config cannot be used; each problem names the file, line and key."""

    problems: list[ConfigProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass
class SetupError(BroadcastError):
    """The environment cannot be used as configured: a database that refuses connections, a
    folder that cannot be written, a package extra that is not installed.

    ``where`` names what is at fault (a file, ``file:line: key``, an environment variable);
    ``hint`` says what to do about it. Both are shown to an operator as one line, so neither
    may hold a secret.
    """

    where: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class DeliveryError(BroadcastError):
    """One delivery failed; ``message`` is safe to show (no secrets)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryableError(DeliveryError):
    """Worth another attempt; ``retry_after`` is the server's requested wait, in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoReply(RetryableError):
    """The request was sent but the reply was lost (timeout, dropped connection): the platform
    may have acted on it. Only a channel whose platform makes a repeat harmless repeats it
    (``Channel.repeat_unknown_within``); for the rest the delivery becomes ``unknown``."""


class PermanentError(DeliveryError):
    """Retrying cannot help (bad credentials, rejected content, unknown recipient)."""


class AlreadyDelivered(DeliveryError):
    """The platform refused a duplicate: the post exists, so the delivery counts as sent."""
