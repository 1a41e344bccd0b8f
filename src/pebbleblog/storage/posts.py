"""The posts table (and its tags): parameterised SQL in, Post dataclasses out."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import replace
from datetime import datetime

from pebbleblog.models import BodyFormat, OldSlug, Post, PostInput, PostStatus, Tag
from pebbleblog.storage.database import Connection, from_timestamp, to_timestamp
from pebbleblog.storage.tags import ensure_tags, tags_for_posts

_VISIBLE = "status IN ('published', 'scheduled') AND published_at <= :now"
_NEWEST_FIRST = "ORDER BY published_at DESC, id DESC"


async def insert_post(tx: Connection, post: PostInput, now: datetime) -> int:
    """Insert a post with its tags and return its id."""
    stamp = to_timestamp(now)
    post_id = await tx.insert(
        "INSERT INTO posts (slug, title, subtitle, excerpt_source, excerpt_html, body_source,"
        " body_html, render_version, status, author, published_at, created_at, updated_at,"
        " comments_open, source_key, body_format) VALUES (:slug, :title, :subtitle, :excerpt_source,"
        " :excerpt_html, :body_source, :body_html, :render_version, :status, :author,"
        " :published_at, :created_at, :updated_at, :comments_open, :source_key, :body_format)"
        " RETURNING id",
        {
            "slug": post.slug,
            "title": post.title,
            "subtitle": post.subtitle,
            "excerpt_source": post.excerpt_source,
            "excerpt_html": post.excerpt_html,
            "body_source": post.body_source,
            "body_html": post.body_html,
            "render_version": post.render_version,
            "status": str(post.status),
            "author": post.author,
            "published_at": to_timestamp(post.published_at) if post.published_at else None,
            "created_at": to_timestamp(post.created_at) if post.created_at else stamp,
            "updated_at": to_timestamp(post.updated_at) if post.updated_at else stamp,
            "comments_open": int(post.comments_open),
            "source_key": post.source_key,
            "body_format": str(post.body_format),
        },
    )
    tag_ids = await ensure_tags(tx, post.tags)
    await tx.execute_many(
        "INSERT INTO post_tags (post_id, tag_id) VALUES (?, ?)", [(post_id, t) for t in tag_ids]
    )
    return post_id


async def get_post_id_by_slug(conn: Connection, slug: str) -> int | None:
    """Return the id of the post (in any state) with ``slug``."""
    value = await conn.fetch_value("SELECT id FROM posts WHERE slug = ?", (slug,))
    return None if value is None else int(value)


async def get_post_id_by_source(conn: Connection, source_key: str) -> int | None:
    """Return the id of the post imported from ``source_key``, if any."""
    value = await conn.fetch_value("SELECT id FROM posts WHERE source_key = ?", (source_key,))
    return None if value is None else int(value)


async def slug_exists(conn: Connection, slug: str) -> bool:
    """Tell whether any post (in any state) already uses ``slug``."""
    return await conn.fetch_value("SELECT 1 FROM posts WHERE slug = ?", (slug,)) is not None


async def get_visible_post(conn: Connection, slug: str, now: datetime) -> Post | None:
    """Return the published (or due scheduled) post with ``slug``."""
    row = await conn.fetch_one(
        f"SELECT * FROM posts WHERE slug = :slug AND {_VISIBLE}",
        {"slug": slug, "now": to_timestamp(now)},
    )
    return None if row is None else (await _with_tags(conn, [_post(row)]))[0]


async def list_visible_posts(
    conn: Connection,
    now: datetime,
    *,
    limit: int,
    offset: int = 0,
    tag_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Post]:
    """Return visible posts, newest first, optionally of one tag or within [start, end)."""
    where, params = _filters(now, tag_id, start, end)
    rows = await conn.fetch_all(
        f"SELECT * FROM posts WHERE {where} {_NEWEST_FIRST} LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    return await _with_tags(conn, [_post(r) for r in rows])


async def count_visible_posts(
    conn: Connection,
    now: datetime,
    *,
    tag_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> int:
    """Return how many visible posts match the same filters as :func:`list_visible_posts`."""
    where, params = _filters(now, tag_id, start, end)
    return int(await conn.fetch_value(f"SELECT count(*) FROM posts WHERE {where}", params))


async def get_neighbours(conn: Connection, post: Post, now: datetime) -> tuple[Post | None, ...]:
    """Return the visible posts just before and just after ``post`` in publication order."""
    assert post.published_at is not None, "only published posts have neighbours"
    params = {"now": to_timestamp(now), "at": to_timestamp(post.published_at), "id": post.id}
    older = await conn.fetch_one(
        f"SELECT * FROM posts WHERE {_VISIBLE} AND (published_at < :at OR"
        f" (published_at = :at AND id < :id)) {_NEWEST_FIRST} LIMIT 1",
        params,
    )
    newer = await conn.fetch_one(
        f"SELECT * FROM posts WHERE {_VISIBLE} AND (published_at > :at OR"
        " (published_at = :at AND id > :id)) ORDER BY published_at, id LIMIT 1",
        params,
    )
    return tuple(None if r is None else _post(r) for r in (older, newer))


async def list_publication_times(conn: Connection, now: datetime) -> list[datetime]:
    """Return the publication time of every visible post, newest first."""
    rows = await conn.fetch_all(
        f"SELECT published_at FROM posts WHERE {_VISIBLE} {_NEWEST_FIRST}",
        {"now": to_timestamp(now)},
    )
    return [from_timestamp(r[0]) for r in rows]


async def first_publication_time(conn: Connection, now: datetime) -> datetime | None:
    """Return when the oldest visible post was published."""
    value = await conn.fetch_value(
        f"SELECT min(published_at) FROM posts WHERE {_VISIBLE}", {"now": to_timestamp(now)}
    )
    return None if value is None else from_timestamp(value)


async def count_by_state(conn: Connection, now: datetime) -> dict[str, int]:
    """Return how many posts are published (visible), scheduled (not yet due) and drafts."""
    row = await conn.fetch_one(
        f"SELECT sum(CASE WHEN {_VISIBLE} THEN 1 ELSE 0 END),"
        " sum(CASE WHEN status <> 'draft' AND published_at > :now THEN 1 ELSE 0 END),"
        " sum(CASE WHEN status = 'draft' THEN 1 ELSE 0 END) FROM posts",
        {"now": to_timestamp(now)},
    )
    assert row is not None, "an aggregate always returns a row"
    return {"published": int(row[0] or 0), "scheduled": int(row[1] or 0), "draft": int(row[2] or 0)}


def _filters(
    now: datetime, tag_id: int | None, start: datetime | None, end: datetime | None
) -> tuple[str, dict[str, object]]:
    clauses = [_VISIBLE]
    params: dict[str, object] = {"now": to_timestamp(now)}
    if tag_id is not None:
        clauses.append("id IN (SELECT post_id FROM post_tags WHERE tag_id = :tag_id)")
        params["tag_id"] = tag_id
    if start is not None and end is not None:
        clauses.append("published_at >= :start AND published_at < :end")
        params.update(start=to_timestamp(start), end=to_timestamp(end))
    return " AND ".join(clauses), params


async def _with_tags(conn: Connection, posts: list[Post]) -> list[Post]:
    tags: dict[int, list[Tag]] = defaultdict(list)
    for post_id, tag in await tags_for_posts(conn, [p.id for p in posts]):
        tags[post_id].append(tag)
    counts = await _approved_comment_counts(conn, [p.id for p in posts])
    return [replace(p, tags=tuple(tags[p.id]), comment_count=counts.get(p.id, 0)) for p in posts]


async def _approved_comment_counts(conn: Connection, post_ids: list[int]) -> dict[int, int]:
    if not post_ids:
        return {}
    marks = ",".join("?" * len(post_ids))
    rows = await conn.fetch_all(
        f"SELECT post_id, count(*) FROM comments WHERE status = 'approved'"
        f" AND post_id IN ({marks}) GROUP BY post_id",
        post_ids,
    )
    return {int(r[0]): int(r[1]) for r in rows}


def _post(row: sqlite3.Row) -> Post:
    return Post(
        id=row["id"],
        slug=row["slug"],
        title=row["title"],
        subtitle=row["subtitle"],
        excerpt_source=row["excerpt_source"],
        excerpt_html=row["excerpt_html"],
        body_source=row["body_source"],
        body_html=row["body_html"],
        render_version=row["render_version"],
        status=PostStatus(row["status"]),
        author=row["author"],
        published_at=from_timestamp(row["published_at"]) if row["published_at"] else None,
        created_at=from_timestamp(row["created_at"]),
        updated_at=from_timestamp(row["updated_at"]),
        comments_open=bool(row["comments_open"]),
        source_key=row["source_key"],
        body_format=BodyFormat(row["body_format"]),
    )


async def list_all_posts(conn: Connection, limit: int, offset: int) -> list[Post]:
    """Return posts in every state, newest first (drafts without a date first)."""
    rows = await conn.fetch_all(
        "SELECT * FROM posts ORDER BY published_at IS NOT NULL, published_at DESC, id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return await _with_tags(conn, [_post(r) for r in rows])


async def count_all_posts(conn: Connection) -> int:
    """Return how many posts exist in any state."""
    return int(await conn.fetch_value("SELECT count(*) FROM posts"))


async def get_post(conn: Connection, post_id: int) -> Post | None:
    """Return the post with ``post_id`` in any state."""
    row = await conn.fetch_one("SELECT * FROM posts WHERE id = ?", (post_id,))
    return None if row is None else (await _with_tags(conn, [_post(row)]))[0]


async def update_post(tx: Connection, post_id: int, post: PostInput, now: datetime) -> None:
    """Replace a post's fields and tags."""
    await tx.execute(
        "UPDATE posts SET slug = ?, title = ?, subtitle = ?, excerpt_source = ?, excerpt_html = ?,"
        " body_source = ?, body_html = ?, render_version = ?, status = ?, author = ?, published_at = ?,"
        " comments_open = ?, body_format = ?, updated_at = ? WHERE id = ?",
        (
            post.slug,
            post.title,
            post.subtitle,
            post.excerpt_source,
            post.excerpt_html,
            post.body_source,
            post.body_html,
            post.render_version,
            str(post.status),
            post.author,
            to_timestamp(post.published_at) if post.published_at else None,
            int(post.comments_open),
            str(post.body_format),
            to_timestamp(now),
            post_id,
        ),
    )
    await tx.execute("DELETE FROM post_tags WHERE post_id = ?", (post_id,))
    tag_ids = await ensure_tags(tx, post.tags)
    await tx.execute_many(
        "INSERT INTO post_tags (post_id, tag_id) VALUES (?, ?)", [(post_id, t) for t in tag_ids]
    )


async def delete_post(tx: Connection, post_id: int) -> bool:
    """Delete a post with its comments; tell whether it existed."""
    await tx.execute("DELETE FROM old_slugs WHERE kind = 'post' AND target_id = ?", (post_id,))
    return await tx.execute("DELETE FROM posts WHERE id = ?", (post_id,)) > 0


async def remember_old_slug(tx: Connection, kind: str, slug: str, target_id: int) -> None:
    """Record that ``slug`` used to lead to a post or page (so the old address can redirect)."""
    await tx.execute(
        "INSERT INTO old_slugs (kind, slug, target_id) VALUES (?, ?, ?)"
        " ON CONFLICT (kind, slug) DO UPDATE SET target_id = excluded.target_id",
        (kind, slug, target_id),
    )


async def forget_old_slug(tx: Connection, kind: str, slug: str) -> None:
    """Stop redirecting ``slug`` (a post or page is using it again)."""
    await tx.execute("DELETE FROM old_slugs WHERE kind = ? AND slug = ?", (kind, slug))


async def current_slug_for(conn: Connection, kind: str, old_slug: str) -> str | None:
    """Return the current slug of the post or page that used to be at ``old_slug``."""
    table = "posts" if kind == "post" else "pages"
    value = await conn.fetch_value(
        f"SELECT t.slug FROM old_slugs o JOIN {table} t ON t.id = o.target_id"
        " WHERE o.kind = ? AND o.slug = ?",
        (kind, old_slug),
    )
    return None if value is None else str(value)


async def list_old_slugs(conn: Connection) -> list[OldSlug]:
    """Return every remembered old slug with the current slug it leads to."""
    rows = await conn.fetch_all(
        "SELECT o.kind, o.slug, coalesce(p.slug, g.slug) FROM old_slugs o"
        " LEFT JOIN posts p ON o.kind = 'post' AND p.id = o.target_id"
        " LEFT JOIN pages g ON o.kind = 'page' AND g.id = o.target_id ORDER BY o.kind, o.slug"
    )
    return [OldSlug(str(r[0]), str(r[1]), str(r[2])) for r in rows if r[2] is not None]
