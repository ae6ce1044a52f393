"""Validation of app.bsky.feed.post records, as the fake PDS applies it (channel-apis.md §3).

Error messages follow @atproto/lexicon's wording ("Record/text must not be longer than 300
graphemes"). The facet range checks (inside the text, start < end, no overlaps) are stricter
than the real PDS, which stores such facets and lets clients render them wrongly: in tests a bad
range is always a client bug. Link text that does not look like its URI is only reported.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .base import graphemes

POST = "app.bsky.feed.post"
LINK = "app.bsky.richtext.facet#link"
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
EMBEDS = ("images", "video", "external", "record", "recordWithMedia")


class InvalidRecord(ValueError):
    """A lexicon violation: 400 InvalidRequest."""


def _bad(message: str) -> InvalidRecord:
    return InvalidRecord(f"Invalid {POST} record: {message}")


def _require(container: dict[str, Any], key: str, kind: type, where: str) -> Any:
    """A required property of the given JSON type, or the lexicon's error."""
    value = container.get(key)
    if value is None:
        raise _bad(f'{where} must have the property "{key}"')
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _bad(f"{where}/{key} must be a {kind.__name__}")
    return value


def validate_post(record: Any) -> list[str]:
    """Raise InvalidRecord for violations; return tolerated link-text mismatches."""
    if not isinstance(record, dict):
        raise _bad("Record must be an object")
    if record.get("$type") != POST:
        raise InvalidRecord(f"Invalid $type: expected {POST}, got {record.get('$type')}")
    text = _require(record, "text", str, "Record")
    if graphemes(text) > 300:
        raise _bad("Record/text must not be longer than 300 graphemes")
    if len(text.encode()) > 3000:
        raise _bad("Record/text must not be longer than 3000 characters")
    _check_created_at(_require(record, "createdAt", str, "Record"))
    langs = record.get("langs", [])
    if not isinstance(langs, list) or not all(isinstance(lang, str) for lang in langs):
        raise _bad("Record/langs must be an array of strings")
    if len(langs) > 3:
        raise _bad("Record/langs must not have more than 3 elements")
    if "embed" in record:
        _check_embed(record["embed"])
    return check_facets(record.get("facets", []), text.encode())


def _check_created_at(value: str) -> None:
    try:
        valid = bool(DATETIME.match(value)) and datetime.fromisoformat(value) is not None
    except ValueError:
        valid = False
    if not valid:
        raise _bad(
            "Record/createdAt must be an valid atproto datetime (both RFC-3339 and ISO-8601)"
        )


def check_facets(facets: Any, text: bytes) -> list[str]:
    """Byte ranges strictly; link display text only reported (shortened URLs are fine)."""
    if not isinstance(facets, list):
        raise _bad("Record/facets must be an array")
    spans: list[tuple[int, int]] = []
    mismatches: list[str] = []
    for n, facet in enumerate(facets):
        where = f"Record/facets/{n}"
        if not isinstance(facet, dict):
            raise _bad(f"{where} must be an object")
        index = _require(facet, "index", dict, where)
        start = _require(index, "byteStart", int, f"{where}/index")
        end = _require(index, "byteEnd", int, f"{where}/index")
        if not 0 <= start < end <= len(text):
            raise _bad(
                f"{where}/index [{start}, {end}) is not a range inside the text's {len(text)} bytes"
            )
        spans.append((start, end))
        features = _require(facet, "features", list, where)
        for m, feature in enumerate(features):
            uri = _check_feature(feature, f"{where}/features/{m}")
            if uri is not None:
                mismatches += _link_text_mismatch(text[start:end], uri, where)
    for (_, end), (start, _) in zip(sorted(spans), sorted(spans)[1:], strict=False):
        if start < end:
            raise _bad("Record/facets must not overlap")
    return mismatches


def _check_feature(feature: Any, where: str) -> str | None:
    """Validate one facet feature; return the URI of a link feature."""
    if not isinstance(feature, dict) or not isinstance(feature.get("$type"), str):
        raise _bad(f'{where} must be an object which includes the "$type" property')
    kind = feature["$type"]
    if kind == LINK:
        return str(_require(feature, "uri", str, where))
    if kind == "app.bsky.richtext.facet#mention":
        _require(feature, "did", str, where)
    elif kind == "app.bsky.richtext.facet#tag":
        _require(feature, "tag", str, where)
    return None  # other types: the union is open, as in the lexicon


def _link_text_mismatch(segment: bytes, uri: str, where: str) -> list[str]:
    """The linked text should be a (possibly shortened) rendering of the URI."""
    try:
        shown = segment.decode()
    except UnicodeDecodeError:
        return [f"{where}: range splits a UTF-8 character"]
    shown = shown.removesuffix("...").removesuffix("…")
    bare = uri.split("://", 1)[-1]
    candidates = (uri, bare, bare.removeprefix("www."))
    if shown and any(candidate.startswith(shown) for candidate in candidates):
        return []
    return [f"{where}: text {shown!r} does not render {uri!r}"]


def _check_embed(embed: Any) -> None:
    """external{uri,title,description,thumb?} and images[1..4]{image,alt}; others shallowly."""
    if not isinstance(embed, dict) or not isinstance(embed.get("$type"), str):
        raise _bad('Record/embed must be an object which includes the "$type" property')
    kind = embed["$type"].removeprefix("app.bsky.embed.")
    if kind not in EMBEDS:
        raise _bad(f"Record/embed $type must be one of app.bsky.embed.{{{','.join(EMBEDS)}}}")
    if kind == "external":
        external = _require(embed, "external", dict, "Record/embed")
        for key in ("uri", "title", "description"):
            _require(external, key, str, "Record/embed/external")
        if "thumb" in external:
            _check_blob(external["thumb"], "Record/embed/external/thumb", 1_000_000)
    if kind == "images":
        images = _require(embed, "images", list, "Record/embed")
        if not 1 <= len(images) <= 4:
            raise _bad("Record/embed/images must have between 1 and 4 elements")
        for n, image in enumerate(images):
            where = f"Record/embed/images/{n}"
            if not isinstance(image, dict):
                raise _bad(f"{where} must be an object")
            _require(image, "alt", str, where)
            _check_blob(image.get("image"), f"{where}/image", 2_000_000)


def _check_blob(blob: Any, where: str, max_size: int) -> None:
    if not isinstance(blob, dict) or blob.get("$type") != "blob":
        raise _bad(f"{where} should be a blob ref")
    if not str(blob.get("mimeType", "")).startswith("image/"):
        raise _bad(f"{where} mimeType must be image/*")
    if int(blob.get("size", 0)) > max_size:
        raise _bad(f"{where} file is too large: {blob.get('size')} bytes, max {max_size}")
