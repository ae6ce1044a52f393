"""What every handler of ``broadcast serve`` shares (:class:`Serve`, one per process), apart
from the app that builds it, so each group of handlers can use it without importing the app."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from broadcaster.config import Loaded
from broadcaster.language_match import LanguageMatch
from broadcaster.ledger import Ledger
from broadcaster.ledger.subscribers import SubscriberBook
from broadcaster.serve.confirm import Confirmer
from broadcaster.serve.guard import RateLimiter

T = TypeVar("T")


@dataclass
class Serve:
    """Everything the handlers share; one per process."""

    loaded: Loaded
    ledger: Ledger
    book: SubscriberBook
    pages: jinja2.Environment
    key: bytes  # BROADCAST_SERVE_SECRET: form tokens, confirmation and undo links
    unsubscribe_key: bytes | None  # BROADCAST_EMAIL_UNSUBSCRIBE_SECRET: the links in email
    confirmer: Confirmer | None  # None: sign-up is off (no email channel, or serve.signup)
    per_ip: RateLimiter
    per_address: RateLimiter
    allowed_origins: frozenset[str] = field(default_factory=frozenset)

    @property
    def settings(self) -> Any:
        assert self.loaded.config.serve is not None
        return self.loaded.config.serve

    @cached_property
    def readers(self) -> LanguageMatch:
        """The site's languages, to match a form's or a browser's choice against."""
        return LanguageMatch(self.loaded.config.site.all_languages)

    @property
    def site(self) -> dict[str, str]:
        site = self.loaded.config.site
        return {"name": site.name, "url": site.url, "language": site.language}

    async def db(self, work: Callable[..., T], *args: Any) -> T:
        """Run a ledger query off the event loop."""
        return await run_in_threadpool(work, *args)

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        """A page from ``serve/<name>.html``, with the headers every page needs."""
        template = self.pages.get_template(f"serve/{name}.html")
        html = template.render(site=self.site, prefix=request.scope.get("root_path", ""), **context)
        return HTMLResponse(html, status_code=status, headers=page_headers(self))


def page_headers(serve: Serve) -> dict[str, str]:
    actions = " ".join(["'self'", *sorted(serve.allowed_origins)])
    return {
        "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin",  # no-referrer would make Origin "null"
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
            f"form-action 'self' {actions}; frame-ancestors 'none'; base-uri 'none'"
        ),
    }


def random_id() -> str:
    return os.urandom(8).hex()
