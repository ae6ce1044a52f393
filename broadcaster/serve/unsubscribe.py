"""One-click unsubscribe (RFC 8058), the page behind the link, its undo, and preferences.

Every email carries ``List-Unsubscribe: <https://.../unsubscribe?token=...>`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``. Gmail's and Yahoo's button then
POSTs ``List-Unsubscribe=One-Click`` to that address, with no cookie and no page: that POST
suppresses the address at once and answers 200. The token (signed with
``BROADCAST_EMAIL_UNSUBSCRIBE_SECRET``, see :mod:`broadcaster.channels.email.tokens`) is
the whole authentication; it names one address and can only ever unsubscribe it.

A GET of the same link -- a person clicking it in the message, or a mail scanner fetching
every link -- never changes anything: it shows a page with one button (which makes the same
POST) and the choice of what to receive -- and, for someone who signed up here on a site
with several languages, in which language (a CSV subscriber's is the clinic's list's). After
the button, a page offers to undo, with a signed, expiring undo token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broadcaster.channels.email import tokens
from broadcaster.i18n import language_name
from broadcaster.ledger.subscribers import Topics
from broadcaster.serve.signing import BadToken, sign, verify
from broadcaster.serve.signup import check_form, form_token, language_choice, refused

if TYPE_CHECKING:
    from broadcaster.serve.state import Serve

UNDO_TTL = 7 * 24 * 3600
ONE_CLICK = "One-Click"


def routes(serve: Serve) -> list[Route]:
    async def page(request: Request) -> Response:
        return await _page(serve, request)

    async def one_click(request: Request) -> Response:
        return await _one_click(serve, request)

    async def preferences(request: Request) -> Response:
        return await _preferences(serve, request)

    async def undo(request: Request) -> Response:
        return await _undo(serve, request)

    return [
        Route("/unsubscribe", page, methods=["GET"]),
        Route("/unsubscribe", one_click, methods=["POST"]),
        Route("/unsubscribe/{token}", page, methods=["GET"]),
        Route("/unsubscribe/{token}", one_click, methods=["POST"]),
        Route("/preferences", preferences, methods=["POST"]),
        Route("/resubscribe", undo, methods=["POST"]),
    ]


def token_of(request: Request) -> str:
    """The token as the configured ``unsubscribe_url`` carries it: ``?token=``, ``?t=`` or
    the last path segment."""
    found = (
        request.path_params.get("token")
        or request.query_params.get("token")
        or request.query_params.get("t")
    )
    return str(found or "")


def address_of(serve: Serve, token: str) -> str | None:
    if serve.unsubscribe_key is None or not token:
        return None
    return tokens.verify(token, serve.unsubscribe_key)


async def _page(serve: Serve, request: Request) -> Response:
    token = token_of(request)
    address = address_of(serve, token)
    if address is None:
        return _invalid(serve, request)
    topics = await serve.db(serve.book.topics, address)
    suppressed = await serve.db(serve.ledger.suppression, address)
    subscriber = await serve.db(serve.book.get, address)
    choice: dict[str, Any] = {"languages": [], "language": ""}
    if subscriber is not None:  # the language of someone in the CSV is the list's
        choice = language_choice(serve, request, serve.readers.of(subscriber.language))
    return serve.page(
        request,
        "unsubscribe",
        address=address,
        token=token,
        topics=topics,
        already=suppressed is not None,
        csrf=form_token(serve),
        **choice,
    )


async def _one_click(serve: Serve, request: Request) -> Response:
    """RFC 8058: the body ``List-Unsubscribe=One-Click`` and a genuine token suppress now."""
    form = await request.form()
    address = address_of(serve, token_of(request) or str(form.get("token", "")))
    if address is None:
        return _invalid(serve, request)
    if form.get("List-Unsubscribe") != ONE_CLICK:
        return serve.page(
            request,
            "problem",
            400,
            title="Nothing was changed",
            message="Use the Unsubscribe button on the page behind the link.",
        )
    await serve.db(serve.ledger.suppress, [address], "one-click unsubscribe")
    undo = sign("undo", {"a": address}, serve.key, UNDO_TTL)
    return serve.page(request, "unsubscribed", address=address, undo=undo, csrf=form_token(serve))


async def _preferences(serve: Serve, request: Request) -> Response:
    form = await request.form()
    if check_form(serve, request, form) is None:
        return refused(serve, request)
    address = address_of(serve, str(form.get("token", "")))
    if address is None:
        return _invalid(serve, request)
    topics: Topics = "closures" if form.get("topics") == "closures" else "all"
    now = datetime.now(UTC)
    await serve.db(serve.book.set_topics, address, topics, now)
    language = serve.readers.tag(str(form.get("language", ""))[:35])
    if language and not await serve.db(serve.book.set_language, address, language, now):
        language = None  # not in the book: nothing to change
    named = language_name(language) if language and len(serve.readers.languages) > 1 else ""
    return serve.page(
        request, "preferences_saved", address=address, topics=topics, language_name=named
    )


async def _undo(serve: Serve, request: Request) -> Response:
    form = await request.form()
    if check_form(serve, request, form) is None:
        return refused(serve, request)
    try:
        address = str(verify(str(form.get("undo", "")), "undo", serve.key)["a"])
    except (BadToken, KeyError):
        return _invalid(serve, request)
    await serve.db(serve.book.unsuppress, address)
    return serve.page(request, "resubscribed", address=address)


def _invalid(serve: Serve, request: Request) -> Response:
    return serve.page(
        request,
        "problem",
        400,
        title="This link cannot be used",
        message="This link is not valid. Please use the link exactly as it is in the email.",
    )
