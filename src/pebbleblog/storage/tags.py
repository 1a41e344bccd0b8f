"""The tags table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pebbleblog.models import Tag
from pebbleblog.storage.database import Connection, from_timestamp, to_timestamp


async def ensure_tags(tx: Connection, tags: Iterable[tuple[str, str]]) -> list[int]:
    """Create any missing tags from (slug, name) pairs and return their ids, once each."""
    ids: list[int] = []
    for slug, name in tags:
        await tx.execute(
            "INSERT INTO tags (slug, name) VALUES (?, ?) ON CONFLICT (slug) DO NOTHING",
            (slug, name),
        )
        tag_id = int(await tx.fetch_value("SELECT id FROM tags WHERE slug = ?", (slug,)))
        if tag_id not in ids:
            ids.append(tag_id)
    return ids


async def get_tag(conn: Connection, slug: str) -> Tag | None:
    """Return the tag with ``slug``."""
    row = await conn.fetch_one("SELECT id, slug, name FROM tags WHERE slug = ?", (slug,))
    return None if row is None else Tag(row["id"], row["slug"], row["name"])


async def list_tags(conn: Connection) -> list[Tag]:
    """Return every tag, in the order they were created."""
    rows = await conn.fetch_all("SELECT id, slug, name FROM tags ORDER BY id")
    return [Tag(r["id"], r["slug"], r["name"]) for r in rows]


async def list_visible_tags(conn: Connection, now: datetime) -> list[tuple[Tag, datetime]]:
    """Return the tags that have visible posts, each with the last change of its newest post.

    The newest post is found from the index on (tag_id, listed_at), one lookup per tag, however
    many posts the tag has; its change (edit or publication) is when the tag's page last changed.
    """
    rows = await conn.fetch_all(
        "SELECT * FROM (SELECT t.id, t.slug, t.name, (SELECT max(p.updated_at, p.published_at)"
        " FROM post_tags pt JOIN posts p ON p.id = pt.post_id WHERE pt.tag_id = t.id"
        " AND pt.listed_at <= :now AND p.status IN ('published', 'scheduled')"
        " ORDER BY pt.listed_at DESC, pt.post_id DESC LIMIT 1) AS changed FROM tags t) AS visible"
        " WHERE changed IS NOT NULL ORDER BY slug",
        {"now": to_timestamp(now)},
    )
    return [(Tag(r[0], r[1], r[2]), from_timestamp(r[3])) for r in rows]
