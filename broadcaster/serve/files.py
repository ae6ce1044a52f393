"""The banner files, served for a site that cannot host files itself.

Only the files the banner channel writes are served (``banner.json/.html/.js``,
``closures.ics``, ``closures.jsonld``, and the notice cards), each with its own content type,
an ``ETag`` from its content (a conditional GET answers 304), and a short ``Cache-Control``,
since a pass may change them at any time. ``banner.json`` is readable from any site (CORS),
so a page can fetch it and show the notices its own way.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broadcaster.channels.cards import FOLDER
from broadcaster.channels.settings.banner import BannerConfig

if TYPE_CHECKING:
    from broadcaster.serve.state import Serve

TYPES = {
    "banner.json": "application/json; charset=utf-8",
    "banner.html": "text/html; charset=utf-8",
    "banner.js": "text/javascript; charset=utf-8",
    "closures.ics": "text/calendar; charset=utf-8",
    "closures.jsonld": "application/ld+json; charset=utf-8",
}
CARD = re.compile(r"[a-z0-9-]+\.jpg")
MAX_AGE = 60  # seconds: a browser asks again soon, and mostly gets a 304
CORS = {"banner.json", "closures.jsonld", "closures.ics"}


def routes(serve: Serve) -> list[Route]:
    async def banner_file(request: Request) -> Response:
        return await _file(serve, request, request.path_params["name"])

    async def card(request: Request) -> Response:
        name = request.path_params["name"]
        if not CARD.fullmatch(name):
            return _missing()
        return await _file(serve, request, f"{FOLDER}/{name}")

    return [
        Route("/notices/{name}", banner_file, methods=["GET", "HEAD"]),
        Route(f"/notices/{FOLDER}/{{name}}", card, methods=["GET", "HEAD"]),
    ]


async def _file(serve: Serve, request: Request, name: str) -> Response:
    banner = serve.loaded.config.channels.section("banner", BannerConfig)
    media = TYPES.get(name) or ("image/jpeg" if name.startswith(f"{FOLDER}/") else None)
    if banner is None or media is None:
        return _missing()
    content = await serve.db(_read, banner.output_dir / name)
    if content is None:
        return _missing()
    etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={MAX_AGE}",
        "X-Content-Type-Options": "nosniff",
    }
    if name in CORS:
        headers["Access-Control-Allow-Origin"] = "*"
    if etag in _tags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else content
    response = Response(body, media_type=media, headers=headers)
    response.headers["Content-Length"] = str(len(content))
    return response


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _tags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _missing() -> Response:
    return Response("Not found\n", status_code=404, media_type="text/plain; charset=utf-8")
