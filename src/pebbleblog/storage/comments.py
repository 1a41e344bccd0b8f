"""The comments table, and the tokens of trusted returning commenters."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pebbleblog.models import BlockedCommenter, Comment, CommentInput, CommentStatus, TrustedCommenter
from pebbleblog.storage.database import Connection, Database, from_timestamp, to_timestamp


async def insert_comment(tx: Connection, comment: CommentInput) -> int:
    """Insert a comment and return its id."""
    return (await insert_and_get_comment(tx, comment)).id


async def insert_and_get_comment(tx: Connection, comment: CommentInput) -> Comment:
    """Insert a comment and return it as stored (one statement: ``RETURNING *``)."""
    values = _insert_values(comment)
    row = await tx.fetch_one(
        f"INSERT INTO comments ({_INSERT_COLUMNS}) VALUES ({', '.join('?' * len(values))}) RETURNING *",
        values,
    )
    assert row is not None, "INSERT ... RETURNING returns the new row"
    return _comment(row)


_INSERT_COLUMNS = (
    "post_id, parent_id, status, author_name, author_email, author_website, title, body_source, body_html,"
    " sanitizer_version, created_at, source_key, reasons, client_hash, commenter_token, updated_at, revision"
)


def _insert_values(comment: CommentInput) -> tuple[Any, ...]:
    return (
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
        json.dumps(list(comment.reasons)),
        comment.client_hash,
        comment.commenter_token,
        to_timestamp(comment.updated_at) if comment.updated_at else None,
        # Given here, so migration 0008's insert trigger (for writers that leave it 0) has no second
        # write of the row to make.
        1 + secrets.randbits(62),
    )


async def update_comment_text(
    tx: Connection,
    comment_id: int,
    *,
    fields: dict[str, str | int],
    status: CommentStatus,
    reasons: Sequence[str],
    now: datetime,
) -> None:
    """Replace a comment's text fields (an edit), with the state and reasons the rules gave it."""
    allowed = {
        "author_name",
        "author_email",
        "author_website",
        "title",
        "body_source",
        "body_html",
        "sanitizer_version",
    }
    assert set(fields) <= allowed, f"not editable: {set(fields) - allowed}"
    assignments = ", ".join(f"{name} = :{name}" for name in fields)
    await tx.execute(
        f"UPDATE comments SET {assignments}, status = :status, reasons = :reasons, updated_at = :now"
        " WHERE id = :id",
        {
            **fields,
            "status": str(status),
            "reasons": json.dumps(list(reasons)),
            "now": to_timestamp(now),
            "id": comment_id,
        },
    )


async def set_status(
    tx: Connection, comment_ids: Sequence[int], status: CommentStatus, reason: str, now: datetime
) -> list[Comment]:
    """Move comments to ``status``, adding ``reason`` to each; return the comments that changed."""
    changed = []
    for comment_id in comment_ids:
        comment = await get_comment(tx, comment_id)
        if comment is None or comment.status == status:
            continue
        await tx.execute(
            "UPDATE comments SET status = ?, reasons = ?, updated_at = ? WHERE id = ?",
            (str(status), json.dumps([*comment.reasons, reason]), to_timestamp(now), comment_id),
        )
        changed.append(comment)
    return changed


async def set_rendered_html(tx: Connection, comment_id: int, html: str, version: int) -> None:
    """Store a comment's re-rendered HTML and the sanitiser version that made it."""
    await tx.execute(
        "UPDATE comments SET body_html = ?, sanitizer_version = ? WHERE id = ?", (html, version, comment_id)
    )


async def get_comment_id_by_source(conn: Connection, source_key: str) -> int | None:
    """Return the id of the comment imported from ``source_key``, if any."""
    value = await conn.fetch_value("SELECT id FROM comments WHERE source_key = ?", (source_key,))
    return None if value is None else int(value)


async def get_comment(conn: Connection, comment_id: int) -> Comment | None:
    """Return the comment with ``comment_id``."""
    row = await conn.fetch_one("SELECT * FROM comments WHERE id = ?", (comment_id,))
    return None if row is None else _comment(row)


async def list_comments(conn: Connection, post_id: int, status: CommentStatus) -> list[Comment]:
    """Return a post's comments in one state, oldest first."""
    rows = await conn.fetch_all(
        "SELECT * FROM comments WHERE post_id = ? AND status = ? ORDER BY created_at, id",
        (post_id, str(status)),
    )
    return [_comment(r) for r in rows]


async def thread_revision(conn: Connection, post_id: int) -> str:
    """Return what a post's approved thread is at now: its comments' ids and row revisions, in order.

    Any write to one of them (migration 0008's triggers), or one appearing or going, changes it."""
    value = await conn.fetch_value(
        "SELECT group_concat(id || ':' || revision, ' ') FROM (SELECT id, revision FROM comments"
        " WHERE post_id = ? AND status = 'approved' ORDER BY created_at, id)",
        (post_id,),
    )
    return str(value or "")


async def list_own_pending(conn: Connection, post_id: int, comment_ids: Sequence[int]) -> list[Comment]:
    """Return those of ``comment_ids`` that are pending on the post (a commenter's own, held ones)."""
    if not comment_ids:
        return []
    marks = ",".join("?" * len(comment_ids))
    rows = await conn.fetch_all(
        f"SELECT * FROM comments WHERE post_id = ? AND status = 'pending' AND id IN ({marks})"
        " ORDER BY created_at, id",
        (post_id, *comment_ids),
    )
    return [_comment(r) for r in rows]


async def list_by_status(conn: Connection, status: CommentStatus, limit: int = 100) -> list[Comment]:
    """Return comments in one state, newest first."""
    rows = await conn.fetch_all(
        "SELECT * FROM comments WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ?",
        (str(status), limit),
    )
    return [_comment(r) for r in rows]


async def list_for_rerender(conn: Connection, after_id: int, limit: int) -> list[tuple[int, str]]:
    """Return (id, body source) of comments after ``after_id``, in id order, a batch at a time."""
    rows = await conn.fetch_all(
        "SELECT id, body_source FROM comments WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
    )
    return [(int(r[0]), str(r[1])) for r in rows]


async def has_replies(conn: Connection, comment_id: int) -> bool:
    """Tell whether any comment (in any state but trash) answers ``comment_id``."""
    value = await conn.fetch_value(
        "SELECT 1 FROM comments WHERE parent_id = ? AND status <> 'trash' LIMIT 1", (comment_id,)
    )
    return value is not None


async def trust_token(tx: Connection, token_hash: str, comment_id: int | None, now: datetime) -> None:
    """Trust a returning-commenter token (its owner had a comment approved)."""
    await tx.execute(
        "INSERT INTO trusted_commenters (token_hash, trusted_at, comment_id) VALUES (?, ?, ?)"
        " ON CONFLICT (token_hash) DO NOTHING",
        (token_hash, to_timestamp(now), comment_id),
    )


async def is_trusted(conn: Connection, token_hash: str) -> bool:
    """Tell whether a returning-commenter token is trusted."""
    if not token_hash:
        return False
    value = await conn.fetch_value("SELECT 1 FROM trusted_commenters WHERE token_hash = ?", (token_hash,))
    return value is not None


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
        reasons=tuple(json.loads(row["reasons"])),
        client_hash=row["client_hash"],
        commenter_token=row["commenter_token"],
        updated_at=from_timestamp(row["updated_at"]) if row["updated_at"] else None,
    )


async def count_by_status(conn: Connection) -> dict[str, int]:
    """Return how many comments are in each state."""
    rows = await conn.fetch_all("SELECT status, count(*) FROM comments GROUP BY status")
    return {str(r[0]): int(r[1]) for r in rows}


def _queue_filter(status: CommentStatus, post_id: int | None, search: str) -> tuple[str, list[object]]:
    clauses: list[str] = ["c.status = ?"]
    params: list[object] = [str(status)]
    if post_id is not None:
        clauses.append("c.post_id = ?")
        params.append(post_id)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(
            "(c.body_source LIKE ? ESCAPE '\\' OR c.author_name LIKE ? ESCAPE '\\'"
            " OR c.author_email LIKE ? ESCAPE '\\')"
        )
        params += [pattern, pattern, pattern]
    return " AND ".join(clauses), params


async def list_queue(
    conn: Connection, status: CommentStatus, *, post_id: int | None, search: str, limit: int, offset: int
) -> list[tuple[Comment, str, str]]:
    """Return (comment, post title, post slug) in one state, newest first, filtered.

    The page's ids are picked first (from the index on (status, created_at) when there is no text
    search), so the rows skipped by the offset are never joined to their posts.
    """
    where, params = _queue_filter(status, post_id, search)
    rows = await conn.fetch_all(
        "SELECT c.*, p.title AS post_title, p.slug AS post_slug FROM comments c"
        " JOIN posts p ON p.id = c.post_id"
        f" WHERE c.id IN (SELECT c.id FROM comments c WHERE {where}"
        " ORDER BY c.created_at DESC, c.id DESC LIMIT ? OFFSET ?)"
        " ORDER BY c.created_at DESC, c.id DESC",
        [*params, limit, offset],
    )
    return [(_comment(r), str(r["post_title"]), str(r["post_slug"])) for r in rows]


async def count_queue(conn: Connection, status: CommentStatus, *, post_id: int | None, search: str) -> int:
    """Return how many comments :func:`list_queue` would list in all."""
    where, params = _queue_filter(status, post_id, search)
    return int(await conn.fetch_value(f"SELECT count(*) FROM comments c WHERE {where}", params))


async def queue_ids(
    conn: Connection, status: CommentStatus, *, post_id: int | None, search: str
) -> list[int]:
    """Return the ids of every comment matching a queue filter (for 'all matching' bulk actions)."""
    where, params = _queue_filter(status, post_id, search)
    return [int(r[0]) for r in await conn.fetch_all(f"SELECT c.id FROM comments c WHERE {where}", params)]


async def delete_comments(tx: Connection, comment_ids: Sequence[int]) -> int:
    """Delete comments for good (their replies go with them); return how many."""
    deleted = 0
    for comment_id in comment_ids:
        deleted += await tx.execute("DELETE FROM comments WHERE id = ?", (comment_id,))
    return deleted


async def add_block(tx: Connection, kind: str, value: str, now: datetime) -> None:
    """Add an email or client hash to the block list."""
    await tx.execute(
        "INSERT INTO blocked_commenters (kind, value, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (kind, value) DO NOTHING",
        (kind, value, to_timestamp(now)),
    )


@dataclass(frozen=True, slots=True)
class SubmissionLimits:
    """How often one client may post: the moments its earlier comments are counted from."""

    flood_since: datetime | None  # the client's last comment must be older (None: no such rule)
    hour_since: datetime
    hourly_limit: int  # the most comments from one client since hour_since (0: no limit)


def _submission_params(comment: CommentInput, limits: SubmissionLimits) -> dict[str, Any]:
    """Return the named parameters of the statements below."""
    return {
        "post": comment.post_id,
        "body": comment.body_source,
        "name": comment.author_name,
        "email": comment.author_email.casefold(),
        "client": comment.client_hash,
        "token": comment.commenter_token,
        "parent": comment.parent_id,
        "flood_since": None if limits.flood_since is None else to_timestamp(limits.flood_since),
        "hour_since": to_timestamp(limits.hour_since),
        "hourly_limit": limits.hourly_limit,
    }


@dataclass(frozen=True, slots=True)
class SubmissionFacts:
    """What the rules need to know about a new comment's author and text, read in one statement."""

    blocked: str | None  # why the commenter is on the block list
    duplicate: bool  # the same text from the same person is already on the post
    trusted: bool  # the returning-commenter token is trusted
    flooding: bool  # the client's last comment is more recent than flood_since
    over_hourly_limit: bool
    parent_missing: bool  # it answers a comment that is not an approved one of the post


# The conditions a new comment must meet, read first as facts (so a refusal can say which) and then
# written into the insert itself, so that a comment that raced this one in between still counts.
_DUPLICATE = (
    # substr(body_source, -40) as migration 0009's index has it, so that the index finds the copies;
    # the unary + keeps SQLite from putting :body for body_source inside it (then no index matches).
    "EXISTS (SELECT 1 FROM comments WHERE post_id = :post AND substr(body_source, -40) = substr(:body, -40)"
    " AND +body_source = :body AND status <> 'trash'"
    " AND (client_hash = :client OR lower(author_name) = lower(:name)))"
)
_FLOODING = (
    ":flood_since IS NOT NULL"
    " AND EXISTS (SELECT 1 FROM comments WHERE client_hash = :client AND created_at >= :flood_since)"
)
# Counting at most hourly_limit rows (none when there is no limit: SQLite computes a subquery even
# where the AND before it is false).
_OVER_HOURLY_LIMIT = (
    ":hourly_limit > 0 AND (SELECT count(*) FROM (SELECT 1 FROM comments WHERE client_hash = :client"
    " AND created_at >= :hour_since LIMIT :hourly_limit)) >= :hourly_limit"
)
_PARENT_MISSING = (
    ":parent IS NOT NULL AND NOT EXISTS"
    " (SELECT 1 FROM comments WHERE id = :parent AND post_id = :post AND status = 'approved')"
)
_HELD_BACK = f"({_DUPLICATE}) OR ({_FLOODING}) OR ({_OVER_HOURLY_LIMIT}) OR ({_PARENT_MISSING})"
# What the decision was made on: the insert also checks these have not changed since.
_BLOCKED = (
    "(SELECT kind FROM blocked_commenters"
    " WHERE (kind = 'email' AND value = :email) OR (kind = 'client' AND value = :client) LIMIT 1)"
)
_TRUSTED = ":token <> '' AND EXISTS (SELECT 1 FROM trusted_commenters WHERE token_hash = :token)"


async def submission_facts(
    conn: Connection, comment: CommentInput, limits: SubmissionLimits
) -> SubmissionFacts:
    """Return the block list's entry, an earlier copy, the token's trust and the limits, in one trip."""
    row = await conn.fetch_one(
        f"SELECT {_BLOCKED}, {_DUPLICATE}, {_TRUSTED},"
        f" {_FLOODING}, {_OVER_HOURLY_LIMIT}, {_PARENT_MISSING}",
        _submission_params(comment, limits),
    )  # fmt: skip
    assert row is not None, "a SELECT without FROM returns one row"
    blocked = None if row[0] is None else f"blocked commenter ({row[0]})"
    return SubmissionFacts(
        blocked=blocked,
        duplicate=bool(row[1]),
        trusted=bool(row[2]),
        flooding=bool(row[3]),
        over_hourly_limit=bool(row[4]),
        parent_missing=bool(row[5]),
    )


async def insert_submitted_comment(
    db: Database, comment: CommentInput, limits: SubmissionLimits, facts: SubmissionFacts
) -> Comment | None:
    """Store a reader's new comment unless the conditions of :func:`submission_facts` now hold it back.

    One statement, its own transaction (:meth:`Database.write_one`): the conditions and the insert
    are one atomic step. Return None when a condition held it back, or when the block list or the
    token's trust, which its status was decided on, changed since ``facts`` were read.
    """
    values = _insert_values(comment)
    row = await db.write_one(
        f"INSERT INTO comments ({_INSERT_COLUMNS}) SELECT {', '.join(f':v{i}' for i in range(len(values)))}"
        f" WHERE NOT ({_HELD_BACK}) AND ({_BLOCKED} IS NOT NULL) = :was_blocked"
        f" AND ({_TRUSTED}) = :was_trusted RETURNING *",
        {
            **_submission_params(comment, limits),
            "was_blocked": facts.blocked is not None,
            "was_trusted": facts.trusted,
            **{f"v{i}": value for i, value in enumerate(values)},
        },
    )
    return None if row is None else _comment(row)


async def daily_counts(conn: Connection, since: datetime) -> list[tuple[str, str, int]]:
    """Return (UTC day, status, count) of comments created since ``since``."""
    rows = await conn.fetch_all(
        "SELECT substr(created_at, 1, 10) AS day, status, count(*) FROM comments WHERE created_at >= ?"
        " GROUP BY day, status ORDER BY day",
        (to_timestamp(since),),
    )
    return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]


async def list_all_comments(conn: Connection) -> list[Comment]:
    """Return every comment in any state, oldest first (for an export)."""
    return [_comment(r) for r in await conn.fetch_all("SELECT * FROM comments ORDER BY created_at, id")]


async def find_same_comment(
    conn: Connection, post_id: int, created_at: datetime, author_name: str, body_source: str
) -> int | None:
    """Return the id of a comment with the same post, time, author and text (a restored one), if any."""
    value = await conn.fetch_value(
        "SELECT id FROM comments WHERE post_id = ? AND created_at = ? AND author_name = ? AND body_source = ?"
        " LIMIT 1",
        (post_id, to_timestamp(created_at), author_name, body_source),
    )
    return None if value is None else int(value)


async def list_trusted(conn: Connection) -> list[TrustedCommenter]:
    """Return every trusted returning-commenter token."""
    rows = await conn.fetch_all(
        "SELECT token_hash, trusted_at, comment_id FROM trusted_commenters ORDER BY trusted_at"
    )
    return [TrustedCommenter(str(r[0]), from_timestamp(r[1]), r[2]) for r in rows]


async def list_blocks(conn: Connection) -> list[BlockedCommenter]:
    """Return the block list."""
    rows = await conn.fetch_all("SELECT kind, value, created_at FROM blocked_commenters ORDER BY id")
    return [BlockedCommenter(str(r[0]), str(r[1]), from_timestamp(r[2])) for r in rows]


async def list_latest_approved(
    conn: Connection, now: datetime, limit: int, post_id: int | None = None
) -> list[Comment]:
    """Return the newest approved comments on visible posts (of one post, or site-wide), newest first.

    The post's visibility is a correlated EXISTS, so SQLite walks the newest approved comments by
    index and looks up each one's post: a join would be planned from the posts side, or through a
    Bloom filter built from every visible post.
    """
    only_post = "AND c.post_id = :post_id" if post_id is not None else ""
    rows = await conn.fetch_all(
        f"SELECT c.* FROM comments c WHERE c.status = 'approved' {only_post}"
        " AND EXISTS (SELECT 1 FROM posts p WHERE p.id = c.post_id"
        " AND p.status IN ('published', 'scheduled') AND p.published_at <= :now)"
        " ORDER BY c.created_at DESC, c.id DESC LIMIT :limit",
        {"now": to_timestamp(now), "limit": limit, "post_id": post_id},
    )
    return [_comment(r) for r in rows]
