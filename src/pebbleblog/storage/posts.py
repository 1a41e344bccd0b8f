"""The posts table (and its tags): parameterised SQL in, Post dataclasses out."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from pebbleblog.models import BodyFormat, OldSlug, Post, PostInput, PostKey, PostStatus, Tag
from pebbleblog.storage.database import Connection, from_timestamp, to_timestamp
from pebbleblog.storage.tags import ensure_tags

# What lists show; the same words as the partial index posts_listed, so SQLite can use it.
_LISTED = "status IN ('published', 'scheduled')"
_VISIBLE = f"{_LISTED} AND published_at <= :now"
_MAX_ID = 2**63 - 1


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


async def get_visible_post(
    conn: Connection, slug: str, now: datetime, *, details: bool = True
) -> Post | None:
    """Return the published (or due scheduled) post with ``slug``; without ``details``, no tags or count."""
    row = await conn.fetch_one(
        f"SELECT p.*{_DETAILS if details else ''} FROM posts p WHERE p.slug = :slug AND {_VISIBLE}",
        {"slug": slug, "now": to_timestamp(now)},
    )
    if row is None:
        return None
    return _detailed(row) if details else _post(row)


# A post's tags (in name order, as JSON) and its approved comment count, read beside its row (the
# post's table is ``p``), so that a post or a page of them comes in one statement.
_DETAILS = (
    ", (SELECT json_group_array(json_array(id, slug, name)) FROM (SELECT dt.id, dt.slug, dt.name"
    " FROM post_tags dpt JOIN tags dt ON dt.id = dpt.tag_id WHERE dpt.post_id = p.id ORDER BY dt.name))"
    " AS tag_list,"
    " (SELECT count(*) FROM comments dc WHERE dc.post_id = p.id AND dc.status = 'approved')"
    " AS approved_comments"
)


def _detailed(row: sqlite3.Row) -> Post:
    """Return the post of a row read with ``_DETAILS``, its tags and comment count filled in."""
    tags = tuple(Tag(int(i), str(s), str(n)) for i, s, n in json.loads(row["tag_list"]))
    return replace(_post(row), tags=tags, comment_count=int(row["approved_comments"]))


async def list_visible_posts(
    conn: Connection,
    now: datetime,
    *,
    limit: int,
    before: PostKey | None = None,
    after: PostKey | None = None,
    tag_id: int | None = None,
    oldest_first: bool = False,
) -> list[Post]:
    """Return visible posts strictly between the keys ``after`` and ``before``, newest first.

    ``oldest_first`` gives the ones just after ``after`` (a list's newer page); ``tag_id`` keeps
    one tag's posts. Each call reads one short range of an index, wherever the keys are.
    """
    query = _listed_query(
        now,
        "p.*" + _DETAILS,
        limit=limit,
        before=before,
        after=after,
        tag_id=tag_id,
        oldest_first=oldest_first,
    )
    return [_detailed(r) for r in await conn.fetch_all(*query)]


async def count_visible_posts(
    conn: Connection,
    now: datetime,
    *,
    most: int,
    before: PostKey | None = None,
    after: PostKey | None = None,
    tag_id: int | None = None,
) -> int:
    """Return how many visible posts lie between the keys, counting no further than ``most``."""
    sql, params = _listed_query(now, "p.id", limit=most, before=before, after=after, tag_id=tag_id)
    return int(await conn.fetch_value(f"SELECT count(*) FROM ({sql})", params))


async def key_at(
    conn: Connection,
    now: datetime,
    offset: int,
    *,
    tag_id: int | None = None,
    before: PostKey | None = None,
    after: PostKey | None = None,
) -> PostKey | None:
    """Return the key of the visible post ``offset`` places from the newest (an old numbered page)."""
    query = _listed_query(
        now, "p.published_at, p.id", limit=1, before=before, after=after, tag_id=tag_id, offset=offset
    )
    rows = await conn.fetch_all(*query)
    return PostKey(from_timestamp(rows[0][0]), int(rows[0][1])) if rows else None


async def get_neighbours(conn: Connection, post: Post, now: datetime) -> tuple[Post | None, ...]:
    """Return the visible posts just before and just after ``post`` in publication order (one trip)."""
    assert post.published_at is not None, "only published posts have neighbours"
    key = PostKey(post.published_at, post.id)
    older_sql, older = _prefixed(_listed_query(now, "p.*", limit=1, before=key), "o_")
    newer_sql, newer = _prefixed(_listed_query(now, "p.*", limit=1, after=key, oldest_first=True), "n_")
    rows = await conn.fetch_all(
        f"SELECT 0 AS side, * FROM ({older_sql}) UNION ALL SELECT 1 AS side, * FROM ({newer_sql})",
        {**older, **newer},
    )
    found = {int(row["side"]): _post(row) for row in rows}
    return found.get(0), found.get(1)


def _prefixed(query: tuple[str, dict[str, object]], prefix: str) -> tuple[str, dict[str, object]]:
    """Return a query with its parameters renamed, so that two can run as one statement."""
    sql, params = query
    return re.sub(r":(\w+)", rf":{prefix}\1", sql), {prefix + k: v for k, v in params.items()}


async def publication_span(conn: Connection, now: datetime) -> tuple[datetime, datetime] | None:
    """Return when the oldest and the newest visible posts were published (None: nothing is)."""
    oldest = await conn.fetch_all(*_listed_query(now, "p.published_at", limit=1, oldest_first=True))
    newest = await conn.fetch_all(*_listed_query(now, "p.published_at", limit=1))
    if not oldest or not newest:
        return None
    return from_timestamp(oldest[0][0]), from_timestamp(newest[0][0])


async def count_in_periods(
    conn: Connection, now: datetime, periods: Sequence[tuple[datetime, datetime]]
) -> list[int]:
    """Return how many visible posts were published in each [start, end) period, in order.

    One statement counts every period over the index of listed posts, never reading the table.
    """
    cutoff = to_timestamp(now + timedelta(seconds=1))  # published_at <= now, at second precision
    bounds = [[to_timestamp(start), min(to_timestamp(end), cutoff)] for start, end in periods]
    rows = await conn.fetch_all(
        "SELECT (SELECT count(*) FROM posts WHERE status IN ('published', 'scheduled')"
        " AND published_at >= json_extract(b.value, '$[0]') AND published_at < json_extract(b.value, '$[1]'))"
        " FROM json_each(:bounds) b ORDER BY b.key",
        {"bounds": json.dumps(bounds)},
    )
    return [int(r[0]) for r in rows]


async def list_sitemap_posts(
    conn: Connection, now: datetime, first_id: int = 0, end_id: int = _MAX_ID
) -> list[tuple[str, datetime]]:
    """Return (slug, last change) of the visible posts with ids in [first_id, end_id), by id."""
    rows = await conn.fetch_all(  # stored times compare as text, so max() picks the later one
        "SELECT slug, max(published_at, updated_at) FROM posts"
        f" WHERE id >= :first AND id < :end AND {_VISIBLE} ORDER BY id",
        {"first": first_id, "end": end_id, "now": to_timestamp(now)},
    )
    return [(str(r[0]), from_timestamp(r[1])) for r in rows]


async def list_id_blocks(conn: Connection, now: datetime, size: int) -> list[int]:
    """Return the numbers n of the id blocks [n * size, (n + 1) * size) holding visible posts."""

    def block_of_first_visible(from_id: str) -> str:
        return f"(SELECT id FROM posts WHERE id >= {from_id} AND {_VISIBLE} ORDER BY id LIMIT 1) / :size"

    rows = await conn.fetch_all(  # skips from block to block along the ids: the cost is per block
        f"WITH RECURSIVE blocks(n) AS (SELECT {block_of_first_visible('0')}"
        f" UNION ALL SELECT {block_of_first_visible('(n + 1) * :size')} FROM blocks WHERE n IS NOT NULL)"
        " SELECT n FROM blocks WHERE n IS NOT NULL",
        {"size": size, "now": to_timestamp(now)},
    )
    return [int(r[0]) for r in rows]


async def first_publication_time(conn: Connection, now: datetime) -> datetime | None:
    """Return when the oldest visible post was published."""
    rows = await conn.fetch_all(*_listed_query(now, "p.published_at", limit=1, oldest_first=True))
    return from_timestamp(rows[0][0]) if rows else None


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


def _listed_query(
    now: datetime,
    columns: str,
    *,
    limit: int,
    before: PostKey | None = None,
    after: PostKey | None = None,
    tag_id: int | None = None,
    oldest_first: bool = False,
    offset: int = 0,
) -> tuple[str, dict[str, object]]:
    """Select ``columns`` of visible posts ``p`` in key order between two keys, from one index range.

    "Published by now" and "before the key" are folded into one upper key, because SQLite reads an
    index range between one lower and one upper bound and would scan from any other bound it got.
    A tag's posts are read from post_tags, whose listed_at copies the post's published_at.
    """
    upper = min(before, PostKey(now, _MAX_ID)) if before else PostKey(now, _MAX_ID)
    params: dict[str, object] = {"at": to_timestamp(upper.published_at), "id": upper.id}
    params.update(limit=limit, offset=offset, tag_id=tag_id)
    if tag_id is None:
        source, at, post_id = "posts p", "p.published_at", "p.id"
        clauses = [f"p.{_LISTED}"]
    else:
        source, at, post_id = "post_tags pt JOIN posts p ON p.id = pt.post_id", "pt.listed_at", "pt.post_id"
        clauses = ["pt.tag_id = :tag_id", f"p.{_LISTED}"]
    clauses.append(f"({at}, {post_id}) < (:at, :id)")
    if after is not None:
        clauses.append(f"({at}, {post_id}) > (:after_at, :after_id)")
        params.update(after_at=to_timestamp(after.published_at), after_id=after.id)
    order = "" if oldest_first else " DESC"
    sql = (
        f"SELECT {columns} FROM {source} WHERE {' AND '.join(clauses)}"
        f" ORDER BY {at}{order}, {post_id}{order} LIMIT :limit OFFSET :offset"
    )
    return sql, params


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
    """Return posts in every state, newest first (drafts without a date first).

    Undated drafts and dated posts are read separately, each in the order of the index on
    (published_at, id), so a page costs an index walk to its offset instead of a sort of every post.
    """
    undated = int(await conn.fetch_value("SELECT count(*) FROM posts WHERE published_at IS NULL"))
    rows = await conn.fetch_all(
        f"SELECT p.*{_DETAILS} FROM posts p WHERE p.published_at IS NULL ORDER BY p.id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    rows += await conn.fetch_all(
        f"SELECT p.*{_DETAILS} FROM posts p WHERE p.published_at IS NOT NULL"
        " ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?",
        (limit - len(rows), max(0, offset - undated)),
    )
    return [_detailed(r) for r in rows]


async def count_all_posts(conn: Connection) -> int:
    """Return how many posts exist in any state."""
    return int(await conn.fetch_value("SELECT count(*) FROM posts"))


async def get_post(conn: Connection, post_id: int) -> Post | None:
    """Return the post with ``post_id`` in any state."""
    row = await conn.fetch_one(f"SELECT p.*{_DETAILS} FROM posts p WHERE p.id = ?", (post_id,))
    return None if row is None else _detailed(row)


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
