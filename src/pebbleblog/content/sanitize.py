"""The only module that imports bleach: every piece of stored HTML passes through here.

Two allow-lists: one for content an author writes (posts and pages) and a narrower one for
reader comments. Each has a version number stored next to the HTML it produced, so rows made by an
older list can be found and re-rendered.
"""

from __future__ import annotations

import re
from functools import partial
from html.parser import HTMLParser
from typing import Any

import bleach
from bleach.linkifier import LinkifyFilter

CONTENT_SANITIZER_VERSION = 2  # 2: tel: links allowed in posts and pages
COMMENT_SANITIZER_VERSION = 1

_INLINE = {
    "a",
    "abbr",
    "b",
    "br",
    "cite",
    "code",
    "del",
    "em",
    "i",
    "ins",
    "kbd",
    "mark",
    "q",
    "s",
    "small",
    "strong",
    "sub",
    "sup",
    "u",
}
_BLOCK = {"blockquote", "li", "ol", "p", "pre", "ul", "hr"}
CONTENT_TAGS = frozenset(
    _INLINE
    | _BLOCK
    | {
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "img",
        "figure",
        "figcaption",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "dl",
        "dt",
        "dd",
        "span",
        "div",
    }
)
COMMENT_TAGS = frozenset(_INLINE | _BLOCK)
CONTENT_ATTRIBUTES: dict[str, list[str]] = {
    "a": ["href", "title"],
    "abbr": ["title"],
    "img": ["src", "alt", "title", "width", "height"],
    "th": ["colspan", "rowspan", "scope"],
    "td": ["colspan", "rowspan"],
    "ol": ["start"],
}
COMMENT_ATTRIBUTES: dict[str, list[str]] = {"a": ["href", "title"], "abbr": ["title"]}
PROTOCOLS = frozenset({"http", "https", "mailto"})
# An author's own pages may link a phone number ("Call 555-0142 to book"); readers' comments may not.
CONTENT_PROTOCOLS = PROTOCOLS | {"tel"}
COMMENT_LINK_REL = "nofollow ugc noopener"

# Elements whose *contents* are not text a reader should see: dropped whole before bleach runs.
# (bleach would keep their text; it stays safe either way, because bleach still escapes it.)
_DROP_WITH_CONTENT = re.compile(
    r"<(script|style|template|noscript|iframe|object|textarea|title)\b.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)

_content_cleaner = bleach.Cleaner(
    tags=CONTENT_TAGS,
    attributes=CONTENT_ATTRIBUTES,
    protocols=CONTENT_PROTOCOLS,
    strip=True,
    strip_comments=True,
)


def _comment_link_rel(attrs: dict[Any, str], new: bool = False) -> dict[Any, str]:
    attrs[(None, "rel")] = COMMENT_LINK_REL
    return attrs


_comment_cleaner = bleach.Cleaner(
    tags=COMMENT_TAGS,
    attributes=COMMENT_ATTRIBUTES,
    protocols=PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[partial(LinkifyFilter, callbacks=[_comment_link_rel], skip_tags={"pre", "code"})],
)


def clean_content_html(html: str) -> str:
    """Return author-written HTML reduced to the content allow-list."""
    return str(_content_cleaner.clean(_DROP_WITH_CONTENT.sub("", html)))


def clean_comment_html(html: str) -> str:
    """Return comment HTML reduced to the comment allow-list, links linkified and marked ugc."""
    return str(_comment_cleaner.clean(_DROP_WITH_CONTENT.sub("", html)))


class _TextCollector(HTMLParser):
    """Collect the text of an HTML fragment, leaving out elements whose contents are not text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TEXT:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TEXT and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


_HIDDEN_TEXT = frozenset({"script", "style", "template", "noscript", "iframe", "object", "textarea", "title"})


def plain_text(html: str) -> str:
    """Return the text of an HTML fragment (tags dropped, entities decoded, spaces collapsed)."""
    collector = _TextCollector()
    collector.feed(_DROP_WITH_CONTENT.sub("", html))
    collector.close()
    return " ".join("".join(collector.parts).split())
