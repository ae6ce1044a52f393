"""Text as a patient reads it: feed titles and summaries, and an admin's phrases in sentences.

Feeds carry text in several forms (RSS ``<description>`` is escaped HTML, with or without
CDATA; Atom says ``text``, ``html`` or ``xhtml``). feedparser tells which in
``title_detail.type``/``summary_detail.type`` and has already undone the XML layer; what is
left is either plain text or HTML. HTML goes through a real parser (BeautifulSoup over the
standard library's ``html.parser``), never a regular expression, because a claim such as
``downtime <1 day, results >6 months`` is prose a browser shows as written, not a tag to
delete. The result is the text a browser shows: entities decoded once, inline tags leaving
no gap (``<a>Glow</a>.`` is ``Glow.``), paragraphs and line breaks as new lines, runs of
white space as one space. Templates escape it again, once, for HTML channels. (The parser is
loaded only for text that has markup to parse: most runs never need it.)

WordPress adds boilerplate that is no part of the article ("The post X appeared first on
Y.", "Continue reading", ``[…]``); it is dropped, and a summary cut short ends in ``…``.
"""

from __future__ import annotations

import re
import sys
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bs4 import BeautifulSoup
    from bs4.element import PageElement, Tag

#: elements a browser lays out as blocks: a line break before and after
BLOCKS = frozenset(
    "address article aside blockquote dd div dl dt figcaption figure footer form h1 h2 h3 h4"  # noqa: SIM905
    " h5 h6 header hr li main nav ol pre section table tbody thead tfoot tr ul".split()
)
#: blocks with a blank line around them (``innerText``'s two required line breaks)
PARAGRAPHS = frozenset({"p"})
#: never shown (feedparser's sanitiser removes most of them already)
HIDDEN = frozenset({"script", "style", "template", "head", "title", "noscript"})

_SPACE = re.compile(r"[ \t\n\r\f]+")  # HTML's white space; a no-break space is text
_MORE = re.compile(r"^\s*(continue reading|read more)\b", re.IGNORECASE)
_BOILERPLATE = (
    re.compile(r"\s*\bThe post [^\n]*? appeared first on [^\n]*\Z"),  # WordPress's feed footer
    re.compile(r"\s*\bContinue reading\b[^\n]*\Z", re.IGNORECASE),
    re.compile(r"\s*\(more(?:…|\.\.\.)\)\s*\Z"),  # WordPress's default <!--more--> link
)
_CUT = re.compile(r"\s*\[\s*(?:…|\.\.\.)\s*\]\s*\Z")  # an excerpt's "[…]"
_ENDS_SENTENCE = re.compile(r"[.!?…。！？:;\"'”’)\]]\Z")
#: the sentence around a clause ends it: Latin stops, and the full-width ones of Chinese
_TRAILING_STOPS = re.compile(r"[\s.…!?,;:。！？，、；：．]+\Z")


def feed_title(value: str, content_type: str = "text/plain") -> str:
    """A feed entry's title as one line of plain text."""
    return " ".join(feed_text(value, content_type).split())


def feed_summary(value: str, content_type: str = "text/html") -> str:
    """A feed entry's summary as plain text, without the blog engine's boilerplate."""
    return without_boilerplate(feed_text(value, content_type))


def feed_text(value: str, content_type: str) -> str:
    """Plain text of a feed field whose type (a MIME type) feedparser reported."""
    if "html" in content_type:  # text/html, application/xhtml+xml
        return html_to_text(value)
    return " ".join(value.split())


def html_to_text(html: str) -> str:
    """What a browser shows for ``html``, as text (the rules of ``innerText``, simplified)."""
    if "<" not in html and "&" not in html:  # no tag, no entity: only white space to fold
        return _assemble([_SPACE.sub(" ", html)])
    _load_bs4()
    from bs4.element import Tag

    pieces: list[str | int] = []  # text, or the number of line breaks a block needs
    stack: list[tuple[PageElement, bool]] = [(_parse(html), False)]
    while stack:  # depth-first without recursion: a feed may nest tags very deeply
        node, closing = stack.pop()
        if closing or not isinstance(node, Tag):
            pieces.extend(_piece(node, closing))
            continue
        if node.name in HIDDEN or _is_more_link(node):
            continue
        pieces.extend(_piece(node, closing))
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.contents))
    return _assemble(pieces)


#: what ``import bs4`` loads for what broadcaster never asks of it: CSS selectors (soupsieve
#: compiles its grammar as it is imported: 40 ms) and guessing the encoding of bytes (the
#: text here is always ``str``)
BS4_EXTRAS = ("soupsieve", "charset_normalizer")


def _load_bs4() -> None:
    """Import bs4 without :data:`BS4_EXTRAS`, each marked missing while it is imported (bs4
    then leaves that feature out, as when the package is not installed); afterwards anything
    else in the process may import them as usual."""
    if "bs4" in sys.modules:
        return
    missing = [name for name in BS4_EXTRAS if name not in sys.modules]
    for name in missing:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "soupsieve is not installed": on purpose
            import bs4  # noqa: F401
    finally:
        for name in missing:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def _parse(html: str) -> BeautifulSoup:
    """The parsed fragment. A summary that is only a URL or a file name is still text: bs4's
    warning that it "looks like a URL" is about its users' mistakes, not ours."""
    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        return BeautifulSoup(html, "html.parser")


def _piece(node: PageElement, closing: bool) -> list[str | int]:
    from bs4.element import NavigableString, PreformattedString, Tag

    if isinstance(node, Tag):
        if node.name == "br":
            return [] if closing else ["\n"]
        breaks = 2 if node.name in PARAGRAPHS else 1 if node.name in BLOCKS else 0
        return [breaks] if breaks else []
    if isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
        return [_SPACE.sub(" ", str(node))]  # comments, CDATA, doctypes are not shown
    return []


def _is_more_link(tag: Tag) -> bool:
    """WordPress's "Continue reading"/"Read more" link: it points at the article we link."""
    return tag.name == "a" and (
        "more-link" in tag.get_attribute_list("class") or bool(_MORE.match(tag.get_text()))
    )


def _assemble(pieces: list[str | int]) -> str:
    """Join text and block breaks: breaks only between text, never more than a blank line."""
    out: list[str] = []
    pending = 0
    for piece in pieces:
        if isinstance(piece, int):
            pending = max(pending, piece)
            continue
        if pending and out:
            out.append("\n" * pending)
        pending = 0
        out.append(piece)
    text = re.sub(r" *\n *", "\n", re.sub(r" {2,}", " ", "".join(out)))
    lines = [line.strip() for line in text.split("\n")]  # a line of only no-break spaces
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def without_boilerplate(text: str) -> str:
    """``text`` without trailing blog-engine phrases; a summary cut short ends in ``…``."""
    previous = None
    while previous != text:
        previous = text
        for pattern in _BOILERPLATE:
            text = pattern.sub("", text)
        if _CUT.search(text):
            text = _CUT.sub("", text)
            if text and not _ENDS_SENTENCE.search(text):
                text += "…"
    return text.strip()


def clause(phrase: str) -> str:
    """An admin's phrase ready to go inside a sentence: without punctuation of its own at the end.

    Templates write ``for {{ reason|clause }}.``; a reason typed as ``Good Friday.`` would
    otherwise end the sentence twice (``Good Friday..``), and ``Good Friday!`` as ``!.``
    (in Chinese, ``因{{ reason|clause }}，``: ``耶稣受难日。`` would read ``耶稣受难日。，``).
    ``broadcast validate`` warns when something was dropped.
    """
    return _TRAILING_STOPS.sub("", phrase.strip())
