"""The comments table."""

from __future__ import annotations

import sqlite3

from pebbleblog.models import Comment, CommentInput, CommentStatus
from pebbleblog.storage.database import Connection, from_timestamp, to_timestamp


async def insert_comment(tx: Connection, comment: CommentInput) -> int:
    """Insert a comment and return its id."""
    comment_id = await tx.execute(
        "INSERT INTO comments (post_id, parent_id, status, author_name, author_email,"
        " author_website, title, body_source, body_html, sanitizer_version, created_at,"
        " source_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            comment.post_id,
            comment.parent_id,
            str(comment.status),
            comment.author_name,
            comment.author_email,
            comment.author_website,
            comment.title,
            comment.body_source,
            comment.body_html,
            comment.sanitizer_version,
            to_timestamp(comment.created_at),
            comment.source_key,
        ),
    )
    assert comment_id is not None, "INSERT must return a row id"
    return comment_id


async def get_comment_id_by_source(conn: Connection, source_key: str) -> int | None:
    """Return the id of the comment imported from ``source_key``, if any."""
    value = await conn.fetch_value("SELECT id FROM comments WHERE source_key = ?", (source_key,))
    return None if value is None else int(value)


async def list_comments(conn: Connection, post_id: int, status: CommentStatus) -> list[Comment]:
    """Return a post's comments in one state, oldest first."""
    rows = await conn.fetch_all(
        "SELECT * FROM comments WHERE post_id = ? AND status = ? ORDER BY created_at, id",
        (post_id, str(status)),
    )
    return [_comment(r) for r in rows]


def _comment(row: sqlite3.Row) -> Comment:
    return Comment(
        id=row["id"],
        post_id=row["post_id"],
        parent_id=row["parent_id"],
        status=CommentStatus(row["status"]),
        author_name=row["author_name"],
        author_email=row["author_email"],
        author_website=row["author_website"],
        title=row["title"],
        body_source=row["body_source"],
        body_html=row["body_html"],
        sanitizer_version=row["sanitizer_version"],
        created_at=from_timestamp(row["created_at"]),
        source_key=row["source_key"],
    )
