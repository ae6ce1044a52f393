"""Sign-up with double opt-in: the hosted page, the embeddable form, and the confirmation.

What a sign-up answers never depends on who the address belongs to: new, pending and
already confirmed addresses all get the same "check your inbox" page, byte for byte, and the
confirmation email leaves after the answer (a background task), so not even the time taken
tells them apart. A confirmed subscriber is sent nothing; a new or pending one one email per
request, at most ``serve.rate_limit.per_address_per_hour`` an hour.

Against bots: a honeypot field people never see (filled in: the same answer, nothing done),
a per-IP rate limit (429), and the form token, signed and expiring, without which a post is
refused (403) -- as is one from a page that is neither this application nor an allowed site.

Only the signed link proves the address is the person's own, and only a click on the page
behind it (a POST) confirms: mail scanners fetch every link in a message, so a GET never
changes anything.

On a site with several languages the form asks which one the person reads (preselected:
their browser's ``Accept-Language``, best matched among the site's languages); the choice
travels in the signed link, is kept with the subscriber, and chooses which message of each
notice they get (:mod:`broadcaster.channels.email.audience`). The confirmation email is
written in it too, where the templates have that language (``zh/email/confirm.txt``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broadcaster.channels.banner import _script_safe
from broadcaster.i18n import language_name
from broadcaster.ledger.subscribers import Topics
from broadcaster.serve.confirm import Confirmation
from broadcaster.serve.guard import origin_of, posted_from_allowed_page
from broadcaster.serve.signing import BadToken, sign, verify
from broadcaster.subscribers import clean_name, normalise

if TYPE_CHECKING:
    from broadcaster.serve.state import Serve

log = logging.getLogger("broadcaster.serve")

FORM_TTL = 24 * 3600  # a form token lasts a day: long enough for a page left open
HONEYPOT = "website"
PLACEHOLDER = '/*FORM_HTML*/""'


def routes(serve: Serve) -> list[Route]:
    async def hosted(request: Request) -> Response:
        if serve.confirmer is None:
            return _closed(serve, request)
        return serve.page(request, "subscribe", form=form_context(serve, request, hosted=True))

    async def subscribe(request: Request) -> Response:
        return await _subscribe(serve, request)

    async def snippet(request: Request) -> Response:
        return _snippet(serve, request)

    async def confirm_page(request: Request) -> Response:
        token = request.query_params.get("token", "")
        try:
            verify(token, "confirm", serve.key)
        except BadToken as bad:
            return _bad_link(serve, request, bad)
        return serve.page(
            request, "confirm", token=token, csrf=form_token(serve), action="/confirm"
        )

    async def confirm(request: Request) -> Response:
        return await _confirm(serve, request)

    return [
        Route("/", hosted, methods=["GET"]),
        Route("/subscribe", hosted, methods=["GET"]),
        Route("/subscribe", subscribe, methods=["POST"]),
        Route("/signup.js", snippet, methods=["GET"]),
        Route("/confirm", confirm_page, methods=["GET"]),
        Route("/confirm", confirm, methods=["POST"]),
    ]


def form_token(serve: Serve) -> str:
    from broadcaster.serve.state import random_id

    return sign("form", {"r": random_id()}, serve.key, FORM_TTL)


def form_context(
    serve: Serve, request: Request, *, hosted: bool, error: str = "", email: str = ""
) -> dict[str, Any]:
    """What ``serve/_form.html`` needs: the hosted page posts to itself, the embedded form
    to the public address."""
    prefix = request.scope.get("root_path", "")
    action = f"{prefix}/subscribe" if hosted else f"{serve.settings.public_url}/subscribe"
    return {
        "action": action,
        "csrf": form_token(serve),
        "honeypot": HONEYPOT,
        "error": error,
        "email": email,
        **language_choice(serve, request),
    }


def language_choice(serve: Serve, request: Request, chosen: str | None = None) -> dict[str, Any]:
    """``languages`` to offer -- (code, name in itself), none on a site with one language --
    and the ``language`` preselected: ``chosen``, else the browser's best match."""
    readers = serve.readers
    offered = [(code, language_name(code)) for code in readers.languages]
    if chosen is None:
        chosen = readers.best_for(request.headers.get("accept-language", ""))
    return {"languages": offered if len(offered) > 1 else [], "language": chosen}


def posted_language(serve: Serve, request: Request, form: FormData) -> str:
    """The language a form asked for: one of the site's, else the browser's best match."""
    readers = serve.readers
    asked = readers.tag(str(form.get("language", ""))[:35])
    return asked or readers.best_for(request.headers.get("accept-language", ""))


def check_form(serve: Serve, request: Request, form: FormData) -> str | None:
    """CSRF: the posting page is allowed and the form token genuine and fresh; the request
    id it carries, or None to refuse."""
    own = origin_of(str(request.base_url)) or ""
    if not posted_from_allowed_page(request.headers, own, serve.allowed_origins):
        return None
    try:
        data = verify(str(form.get("csrf", "")), "form", serve.key)
    except BadToken:
        return None
    request_id = data.get("r")
    return request_id if isinstance(request_id, str) else None


async def _subscribe(serve: Serve, request: Request) -> Response:
    if serve.confirmer is None:
        return _closed(serve, request)
    form = await request.form()
    request_id = check_form(serve, request, form)
    if request_id is None:
        return refused(serve, request)
    client = request.client.host if request.client else "unknown"
    if not serve.per_ip.allow(client):
        response = serve.page(
            request,
            "problem",
            429,
            title="Too many requests",
            message=("Too many sign-ups from your network. Please try again later."),
        )
        response.headers["Retry-After"] = str(serve.per_ip.retry_after(client))
        return response
    if form.get(HONEYPOT):
        return _check_inbox(serve, request)
    raw = str(form.get("email", ""))[:320]
    try:
        address = normalise(raw)
    except ValueError:
        context = form_context(
            serve, request, hosted=True, error="Please enter a valid email address.", email=raw
        )
        return serve.page(request, "subscribe", 400, form=context)
    name = clean_name(str(form.get("name", "")))
    topics: Topics = "closures" if form.get("topics") == "closures" else "all"
    response = _check_inbox(serve, request)
    if not serve.per_address.allow(address):
        return response  # the same answer: nothing tells a bot it was limited
    language = posted_language(serve, request, form)
    now = datetime.now(UTC)
    before = await serve.db(serve.book.request, address, name, language, "form", now)
    if before != "confirmed":
        link = _confirm_link(serve, address, name, topics, language, request_id)
        confirmation = Confirmation(request_id, address, name, link, language)
        response.background = BackgroundTask(_send, serve, confirmation)
    return response


def _confirm_link(
    serve: Serve, address: str, name: str, topics: Topics, language: str, request_id: str
) -> str:
    ttl = serve.settings.confirm_hours * 3600
    data = {"a": address, "n": name, "t": topics, "l": language, "r": request_id}
    token = sign("confirm", data, serve.key, ttl)
    return f"{serve.settings.public_url}/confirm?token={token}"


async def _send(serve: Serve, confirmation: Confirmation) -> None:
    assert serve.confirmer is not None
    try:
        await serve.confirmer.send(confirmation)
    except Exception:  # a background task has nobody to answer: log it, keep serving
        log.exception("sending a confirmation email failed")


async def _confirm(serve: Serve, request: Request) -> Response:
    form = await request.form()
    if check_form(serve, request, form) is None:
        return refused(serve, request)
    try:
        data = verify(str(form.get("token", "")), "confirm", serve.key)
    except BadToken as bad:
        return _bad_link(serve, request, bad)
    address, name = str(data["a"]), str(data.get("n", ""))
    topics: Topics = "closures" if data.get("t") == "closures" else "all"
    language = serve.readers.tag(str(data["l"])) if data.get("l") else None  # older links: none
    now = datetime.now(UTC)
    await serve.db(serve.book.confirm, address, name, now, "form", language)
    await serve.db(serve.book.set_topics, address, topics, now)
    await serve.db(serve.book.unsuppress, address)  # signing up again is consent again
    return serve.page(request, "confirmed", address=address, topics=topics)


def _snippet(serve: Serve, request: Request) -> Response:
    """``signup.js``: puts the form (with a fresh token) into ``#broadcast-signup``."""
    if serve.confirmer is None:
        html = ""
    else:
        template = serve.pages.get_template("serve/_form.html")
        html = template.render(
            site=serve.site, form=form_context(serve, request, hosted=False), embedded=True
        )
    script = resources.files("broadcaster").joinpath("assets/signup.js").read_text("utf-8")
    body = script.replace(PLACEHOLDER, _script_safe(json.dumps(html)), 1)
    return Response(
        body,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def _check_inbox(serve: Serve, request: Request) -> Response:
    return serve.page(request, "check_inbox")


def _closed(serve: Serve, request: Request) -> Response:
    return serve.page(
        request,
        "problem",
        503,
        title="Sign-up is not available",
        message="Signing up by email is not available at the moment.",
    )


def refused(serve: Serve, request: Request) -> Response:
    """A form that failed its CSRF check: the sign-up's, or the unsubscribe page's."""
    return serve.page(
        request,
        "problem",
        403,
        title="Please try again",
        message="This form has expired or was not sent from our page. Please reload it and try again.",
    )


def _bad_link(serve: Serve, request: Request, bad: BadToken) -> Response:
    message = (
        "This link has expired. Please sign up again to get a new one."
        if bad.reason == "expired"
        else "This link is not valid. Please use the link exactly as it is in the email."
    )
    return serve.page(request, "problem", 400, title="This link cannot be used", message=message)
