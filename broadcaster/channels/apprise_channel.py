"""The Apprise escape hatch: any service Apprise supports (Slack, Discord, Matrix, ntfy...).

Optional: ``pip install 'broadcaster[apprise]'``; a config with ``channels.apprise`` is refused
without the package (exit 2, naming that command), never quietly skipped. The URLs come from ``channels.apprise.urls`` and from
BROADCAST_APPRISE_URLS (space- or comma-separated): they embed credentials, so the
environment is the better place for them. A URL is never printed -- logs, errors and
receipts use Apprise's privacy form (``discord://4...8/J...s/``), and the URLs and their
secret-looking parts are redacted from Apprise's and urllib3's own log records.

Each URL is one target in the ledger, keyed by its scheme and a digest of Apprise's identity
of the URL (who it reaches and with which credentials, not its display options), so
exactly-once holds per service and changing ``?format=`` does not resend everything.

Apprise's ``notify()`` answers only True or False. False may be an outage or a refused
credential, and Apprise cannot tell us which, so it is treated as retryable: the ledger
retries it with back-off, and the error says to check the URL if it keeps failing. Each
service's own length limit and overflow policy are Apprise's (``?overflow=`` in the URL).

Apprise's plugins block, so each notification runs in a thread of the channel's own pool:
``concurrency`` (default 16) at once, at most ``per_host`` (4) to one host.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from broadcaster import logs
from broadcaster.channels.base import Channel, Outgoing, Receipt, Skipped, Target
from broadcaster.errors import PermanentError, RetryableError, SetupError

if TYPE_CHECKING:
    from apprise.plugins.base import NotifyBase

    from broadcaster.channels import Deps
    from broadcaster.channels.settings.apprise import AppriseConfig

INSTALL_HINT = "pip install 'broadcaster[apprise]'"
#: Apprise's and requests' loggers see full URLs (debug lines, "Unparseable URL ...")
LOGGERS = ("apprise", "urllib3.connectionpool")
_REDACTOR = logs.Redactor(())


@dataclass(frozen=True)
class Notification:
    """One delivery: which service, and what to say."""

    key: str
    title: str
    body: str


class AppriseChannel(Channel):
    name = "apprise"
    accepts = frozenset({"announce", "remind", "reopen", "publish"})
    parts = ("text",)

    def __init__(self, services: dict[str, NotifyBase], title: str) -> None:
        self._services = services  # target key -> Apprise plugin instance
        self.title = title
        self._threads: ThreadPoolExecutor | None = None  # made at the first send

    def server_of(self, outgoing: Outgoing) -> str:
        service = self._services.get(outgoing.target.key)
        host = getattr(service, "host", None)
        port = getattr(service, "port", None)
        return f"{host}:{port}" if isinstance(host, str) and host else outgoing.target.key

    async def aclose(self) -> None:
        threads, self._threads = self._threads, None
        if threads is not None:
            await asyncio.to_thread(threads.shutdown)

    def targets(self) -> list[Target]:
        return [Target(key, {"service": privacy_url(s)}) for key, s in self._services.items()]

    def build(self, outgoing: Outgoing) -> Notification:
        return Notification(outgoing.target.key, self.title, outgoing.message["text"])

    async def send(self, payload: Notification) -> Receipt:
        service = self._services.get(payload.key)
        if service is None:
            raise PermanentError(f"apprise: {payload.key} is no longer configured")
        shown = privacy_url(service)
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self.concurrency, thread_name_prefix="apprise")
        notify = partial(service.notify, body=payload.body, title=payload.title)
        try:
            ok = await asyncio.get_running_loop().run_in_executor(self._threads, notify)
        except Exception as exc:  # a plugin bug must not end the pass; its text may hold a URL
            raise RetryableError(f"apprise: {shown}: {type(exc).__name__}") from None
        if not ok:
            raise RetryableError(
                f"apprise: {service.service_name} ({shown}) did not accept the notification; "
                "Apprise reports only success or failure, so it is retried (if it keeps "
                "failing, check the URL and the service)"
            )
        return {"service": service.service_name, "url": shown}


def from_config(section: AppriseConfig, deps: Deps) -> Channel | Skipped:
    """``channels.apprise.urls`` plus BROADCAST_APPRISE_URLS as a channel."""
    from_env = deps.secrets.apprise_urls
    urls = [*section.urls, *split_urls(from_env.get_secret_value() if from_env else None)]
    channel = apprise_channel(urls, deps.config.site.name)
    if isinstance(channel, AppriseChannel):
        channel.concurrency, channel.per_host = section.concurrency, section.per_host
    return channel


def apprise_channel(urls: Sequence[str], title: str) -> AppriseChannel | Skipped:
    """The channel for these URLs, or Skipped (no URL, or one it cannot parse); SetupError
    when the package cannot be imported (the config check lets no such config through, so
    this is an installation broken since)."""
    try:
        import apprise
    except ImportError as exc:
        raise SetupError(
            "channels.apprise", f"cannot import apprise: {exc}", INSTALL_HINT
        ) from None
    urls = [u for u in dict.fromkeys(urls) if u]
    if not urls:
        return Skipped("apprise", "no URLs: set channels.apprise.urls or BROADCAST_APPRISE_URLS")
    _redact(urls)
    services: dict[str, NotifyBase] = {}
    for number, url in enumerate(urls, 1):
        with warnings.catch_warnings():  # Apprise's e-mail plugin imports the deprecated imghdr
            warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
            service = apprise.Apprise.instantiate(url)
        if service is None:
            scheme = urlsplit(url).scheme or "?"
            return Skipped(
                "apprise",
                f"URL #{number} ({scheme}://...) is not a valid Apprise URL; "
                "see https://github.com/caronc/apprise/wiki",
            )
        services[target_key(url, service)] = service
    return AppriseChannel(services, title)


def split_urls(text: str | None) -> list[str]:
    """BROADCAST_APPRISE_URLS: URLs separated by spaces, commas or newlines."""
    return [u for u in re.split(r"[\s,]+", text or "") if u]


def target_key(url: str, service: NotifyBase) -> str:
    """``<scheme>#<digest>`` of Apprise's identity of the URL (its credentials and where it
    reaches, not its display options); the whole URL's digest when a plugin has none."""
    identity: Any = getattr(service, "url_identifier", None)
    text = url if identity in (None, True, False) else repr(identity)
    scheme = urlsplit(url).scheme.lower() or "apprise"
    return f"{scheme}#{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def privacy_url(service: NotifyBase) -> str:
    """The URL with its secrets masked, as Apprise prints it, without the default options."""
    shown = str(service.url(privacy=True))  # type: ignore[no-untyped-call]
    return shown.split("?", 1)[0]


def _redact(urls: Sequence[str]) -> None:
    """Keep every URL, and every part of it that may be a credential, out of the logs."""
    parts: set[str] = set(urls)
    for url in urls:
        split = urlsplit(url)
        parts |= {unquote(p) for p in [*split.path.split("/"), split.password or ""]}
        parts |= {unquote(v) for _k, v in parse_qsl(split.query)}
        parts |= {split.netloc.split("@")[0]} if "@" in split.netloc else set()
    secrets = [p for p in parts if len(p) >= logs.MIN_SECRET_LENGTH]
    _REDACTOR.add(secrets)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)
    logs.redact_at_source(secrets)
