"""Full-text search over visible posts and pages: the reader's words become a safe FTS5 query."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from pebbleblog.models import ResultPage, SearchHit
from pebbleblog.settings import Settings
from pebbleblog.storage import Database
from pebbleblog.storage import search as index

MAX_QUERY_CHARS = 200
MAX_TERMS = 12
# Matches ranked by relevance at most; beyond, the newest are shown (see storage.search.search).
MAX_RANKED = 200
# A "quoted phrase" (the closing quote may be missing) with an optional trailing *, or a bare word.
_TERM = re.compile(r'"([^"]*)"?(\*?)|([^\s"]+)')
# Whole tags, and the pieces of a tag that a snippet's edges cut through.
_TAG = re.compile(r"<[a-zA-Z/!][^>]*>|^[^<>]*?\"\s*/?>|<[a-zA-Z/][^>]*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKDOWN = re.compile(r"\*+|`+|(?m:^\s*#+\s)|(?<!\w)_+|_+(?!\w)")
_MARKS = re.compile(f"({index.MARK_START}|{index.MARK_END})")

HELP = 'Search for words, a "quoted phrase", or the start of a word followed by * (massag*).'


@dataclass(frozen=True, slots=True)
class Found:
    """A search hit and its snippet as (text, is_match) parts; the template escapes and marks them."""

    hit: SearchHit
    parts: tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class SearchResults:
    """What the search page shows: the query as used, a message for the reader, one page of hits."""

    query: str
    message: str
    result: ResultPage[Found]


def build_match(words: str) -> str:
    """Return an FTS5 query matching every term of ``words``, each quoted so no syntax gets through."""
    terms = []
    for phrase, star, word in _TERM.findall(_plain(words)):
        text, prefix = (phrase, star) if word == "" else (word.rstrip("*"), "*" if word.endswith("*") else "")
        if any(ch.isalnum() for ch in text):
            terms.append('"' + text.replace('"', '""') + '"' + prefix)
    return " ".join(terms[:MAX_TERMS])


async def search(db: Database, settings: Settings, raw: str, number: int, now: datetime) -> SearchResults:
    """Return one page of the visible posts and pages matching the reader's query ``raw``."""
    query = _plain(raw).strip()[:MAX_QUERY_CHARS]  # shown back to the reader, so no control characters
    per_page = settings.site.posts_per_page
    empty: ResultPage[Found] = ResultPage([], number, per_page, 0)
    match = build_match(query)
    if not match:
        return SearchResults(query, HELP if raw.strip() else "", empty)
    offset = (number - 1) * per_page
    try:
        hits, matched = await index.search(
            db.reader, match, now, limit=per_page, offset=offset, most=MAX_RANKED
        )
    except index.InvalidSearch:
        return SearchResults(query, f"That search could not be run. {HELP}", empty)
    found = [Found(h, snippet_parts(h.snippet)) for h in hits]
    result = ResultPage(found, number, per_page, min(matched, MAX_RANKED))
    return SearchResults(query, _message(raw, result, matched > MAX_RANKED), result)


def snippet_parts(snippet: str) -> tuple[tuple[str, bool], ...]:
    """Split a marked snippet into (text, is_match) parts, with markup and Markdown syntax removed."""
    text = _MARKDOWN.sub("", _LINK.sub(r"\1", _TAG.sub(" ", snippet)))
    parts: list[tuple[str, bool]] = []
    inside = False
    for piece in _MARKS.split(html.unescape(text)):
        if piece in (index.MARK_START, index.MARK_END):
            inside = piece == index.MARK_START  # a stray mark in the content only moves a highlight
        elif piece:
            parts.append((re.sub(r"\s+", " ", piece), inside))
    return tuple(parts)


def _plain(text: str) -> str:
    """Return ``text`` normalised, with control characters (NUL included) turned into spaces."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)


def _message(raw: str, result: ResultPage[Found], more: bool) -> str:
    cut = " (only its first 200 characters were used)" if len(raw.strip()) > MAX_QUERY_CHARS else ""
    if result.total == 0:
        return f"Nothing matched your search{cut}. {HELP}"
    if not result.items:
        return f"There is no page {result.number} of results; there are {result.page_count}."
    if more:
        return (
            f"More than {MAX_RANKED} results{cut}: the {MAX_RANKED} newest are shown, those with your"
            " words in the title first. Add a word to narrow the search."
        )
    found = "1 result" if result.total == 1 else f"{result.total} results"
    return f"{found}{cut}."
