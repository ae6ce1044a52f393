"""The web application: its state, its routes, and how every page is answered.

Pages are Jinja templates (``broadcaster/templates/serve/*.html``; the admin's
``templates:`` folder overrides them file by file, as for messages). Every page goes out
with ``Cache-Control: no-store`` (they carry tokens), ``Referrer-Policy: same-origin`` (so a
token in the address never reaches another site) and a Content-Security-Policy that allows
no script at all.

The database is reached through the synchronous ledger, so each handler does its queries
in Starlette's thread pool and the event loop never waits on a disk.
"""

from __future__ import annotations

import logging
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.routing import Route

from broadcaster.channels.email import tokens as unsubscribe_tokens
from broadcaster.channels.settings.email import EmailConfig
from broadcaster.config import Loaded, Secrets
from broadcaster.errors import SetupError
from broadcaster.ledger import Ledger
from broadcaster.ledger.subscribers import SubscriberBook
from broadcaster.render import template_loader
from broadcaster.serve import files, ops, signup, unsubscribe
from broadcaster.serve.confirm import Confirmer
from broadcaster.serve.guard import MAX_BODY, BodyLimit, RateLimiter, origin_of
from broadcaster.serve.signing import MIN_SECRET_LENGTH
from broadcaster.serve.state import Serve, random_id

log = logging.getLogger("broadcaster.serve")


def build_state(loaded: Loaded, secrets: Secrets, ledger: Ledger) -> Serve:
    """The shared state for ``loaded``'s ``serve:`` section; SetupError if it cannot run."""
    settings = loaded.config.serve
    if settings is None:
        raise SetupError(
            str(loaded.path),
            "has no serve: section",
            "add serve: with at least public_url (see config/broadcaster.yaml)",
        )
    key = _secret(secrets.serve_secret, "BROADCAST_SERVE_SECRET", MIN_SECRET_LENGTH)
    assert key is not None
    unsubscribe_key = None
    if secrets.email_unsubscribe_secret is not None:
        unsubscribe_key = _secret(
            secrets.email_unsubscribe_secret,
            "BROADCAST_EMAIL_UNSUBSCRIBE_SECRET",
            unsubscribe_tokens.MIN_SECRET_LENGTH,
        )
    pages = page_environment(loaded)
    site = {
        "name": loaded.config.site.name,
        "url": loaded.config.site.url,
        "language": loaded.config.site.language,
    }
    email = loaded.config.channels.section("email", EmailConfig)
    confirmer = (
        Confirmer(email, secrets, ledger, pages, site)
        if email is not None and settings.signup
        else None
    )
    allowed = {o for o in (origin_of(loaded.config.site.url), origin_of(settings.public_url)) if o}
    allowed |= {o.lower() for o in settings.allowed_origins}
    return Serve(
        loaded=loaded,
        ledger=ledger,
        book=SubscriberBook(ledger.engine),
        pages=pages,
        key=key,
        unsubscribe_key=unsubscribe_key,
        confirmer=confirmer,
        per_ip=RateLimiter(settings.rate_limit.per_ip_per_hour),
        per_address=RateLimiter(settings.rate_limit.per_address_per_hour),
        allowed_origins=frozenset(allowed),
    )


def page_environment(loaded: Loaded) -> jinja2.Environment:
    return jinja2.Environment(
        loader=template_loader(loaded.config.templates),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def create_app(serve: Serve) -> BodyLimit:
    """The ASGI application: Starlette's routes inside the body cap."""
    routes = [
        *signup.routes(serve),
        *unsubscribe.routes(serve),
        *files.routes(serve),
        *ops.routes(serve),
    ]
    app = Starlette(routes=routes)
    app.state.serve = serve
    return BodyLimit(app, MAX_BODY)


def _secret(value: Any, name: str, minimum: int) -> bytes | None:
    text = value.get_secret_value() if value is not None else ""
    if not text:
        raise SetupError(
            name,
            "is not set",
            f"set it to {minimum}+ random characters, e.g. "
            'python -c "import secrets; print(secrets.token_urlsafe(32))"',
        )
    if len(text) < minimum:
        raise SetupError(name, f"is too short ({len(text)} characters)", f"use {minimum}+")
    return str(text).encode("utf-8")


__all__ = ["Route", "Serve", "build_state", "create_app", "random_id"]
