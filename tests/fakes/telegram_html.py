"""Telegram's HTML parse mode, as the fake Bot API applies it (channel-apis.md §1).

Only Telegram's tag subset is allowed, outside tags `<`, `>` and `&` must be escaped, the only
named entities are &lt; &gt; &amp; &quot; (numeric ones are fine), pre/code hold no other
entities and blockquotes do not nest. The limits apply to the text left after parsing.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a"}
    | {"tg-emoji", "tg-time", "code", "pre", "blockquote"}
)
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
STRAY_AMPERSAND = re.compile(r"&(?!(?:[a-zA-Z][a-zA-Z0-9]*|#[0-9]+|#[xX][0-9a-fA-F]+);)")


class TelegramHTML(HTMLParser):
    """Telegram's HTML parse mode: collects the plain text, raises ValueError like Telegram."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self.parts: list[str] = []
        self.stack: list[str] = []
        self._line_starts = [0]
        for index, char in enumerate(source):
            if char == "\n":
                self._line_starts.append(index + 1)

    def plain_text(self) -> str:
        """The text Telegram would show; ValueError("... at byte offset N") when it refuses."""
        outside_tags = TAG.sub(lambda tag: " " * len(tag.group()), self.source)
        stray = STRAY_AMPERSAND.search(outside_tags)
        if stray:  # checked up front: HTMLParser silently drops a trailing "&name"
            self._fail("Unescaped '&'", stray.start())
        self.feed(self.source)
        self.close()
        if self.stack:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1]}"')
        return "".join(self.parts)

    def _pos(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def _fail(self, what: str, position: int | None = None) -> None:
        offset = len(self.source[: self._pos() if position is None else position].encode())
        raise ValueError(f"{what} at byte offset {offset}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in ALLOWED_TAGS or (tag == "span" and attributes.get("class") != "tg-spoiler"):
            self._fail(f'Unsupported start tag "{tag}"')
        if tag == "a" and not attributes.get("href"):
            self._fail('Tag "a" must have attribute "href"')
        parent = self.stack[-1] if self.stack else None
        if parent == "code" or (parent == "pre" and tag != "code"):
            self._fail(f'Entity "{tag}" can\'t be nested in "{parent}"')
        if tag == "blockquote" and "blockquote" in self.stack:
            self._fail("Blockquotes can't be nested")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self._fail(f'Unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if any(char in data for char in "<>&"):
            self._fail("Unescaped '<', '>' or '&'")
        self.parts.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in NAMED_ENTITIES or not self.source.startswith(f"&{name};", self._pos()):
            self._fail(f'Unsupported HTML entity "&{name}"')
        self.parts.append(NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        try:
            self.parts.append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))
        except (ValueError, OverflowError):
            self._fail(f'Invalid character reference "&#{name};"')

    def handle_comment(self, data: str) -> None:
        self._fail('Unsupported start tag "!--"')

    def handle_decl(self, decl: str) -> None:
        self._fail(f'Unsupported start tag "!{decl}"')
