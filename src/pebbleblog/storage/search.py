"""The full-text index (FTS5 table ``search_index``, kept in step by triggers on posts and pages)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from pebbleblog.models import SearchHit
from pebbleblog.storage.database import Connection, from_timestamp, to_timestamp

# Private-use characters: snippet() puts them around each match; the domain turns them into <mark>.
MARK_START, MARK_END = "\ue000", "\ue001"
SNIPPET_TOKENS = 32
# Title matches weigh ten times body matches in the bm25 rank (lower is better).
_RANK = "bm25(search_index, 10.0, 1.0)"
_FROM = (
    "FROM search_index"
    " LEFT JOIN posts p ON search_index.kind = 'post' AND p.id = search_index.rowid / 2"
    " AND p.status IN ('published', 'scheduled') AND p.published_at <= :now"
    " LEFT JOIN pages g ON search_index.kind = 'page' AND g.id = search_index.rowid / 2"
    " AND g.status = 'published'"
    " WHERE search_index MATCH :match AND coalesce(p.id, g.id) IS NOT NULL"
)


class InvalidSearch(Exception):
    """SQLite refused the full-text query (FTS5 syntax)."""


async def search(conn: Connection, match: str, now: datetime, *, limit: int, offset: int) -> list[SearchHit]:
    """Return the visible posts and pages matching the FTS5 query ``match``, best first."""
    sql = (
        "SELECT search_index.kind, coalesce(p.slug, g.slug), coalesce(p.title, g.title), p.published_at,"
        f" snippet(search_index, 1, '{MARK_START}', '{MARK_END}', '…', {SNIPPET_TOKENS})"
        f" {_FROM} ORDER BY {_RANK}, search_index.rowid LIMIT :limit OFFSET :offset"
    )
    params = {"match": match, "now": to_timestamp(now), "limit": limit, "offset": offset}
    try:
        rows = await conn.fetch_all(sql, params)
    except sqlite3.OperationalError as error:
        raise InvalidSearch(str(error)) from error
    return [
        SearchHit(str(r[0]), str(r[1]), str(r[2]), from_timestamp(r[3]) if r[3] else None, str(r[4]))
        for r in rows
    ]


async def count_matches(conn: Connection, match: str, now: datetime) -> int:
    """Return how many visible posts and pages match the FTS5 query ``match``."""
    try:
        value = await conn.fetch_value(f"SELECT count(*) {_FROM}", {"match": match, "now": to_timestamp(now)})
    except sqlite3.OperationalError as error:
        raise InvalidSearch(str(error)) from error
    return int(value or 0)
