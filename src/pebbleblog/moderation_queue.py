"""The owner's moderation queue: counts, filtered pages of comments, bulk actions, the block list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pebbleblog import moderation
from pebbleblog.errors import BadRequest
from pebbleblog.models import Comment, CommentStatus, ResultPage
from pebbleblog.storage import Database
from pebbleblog.storage import comments as store

PER_PAGE = 50
ACTIONS: dict[str, CommentStatus | None] = {
    "approve": CommentStatus.APPROVED,
    "spam": CommentStatus.SPAM,
    "not-spam": CommentStatus.PENDING,
    "trash": CommentStatus.TRASH,
    "restore": CommentStatus.PENDING,
    "delete": None,  # permanently
}


@dataclass(frozen=True, slots=True)
class QueueRow:
    comment: Comment
    post_title: str
    post_slug: str


@dataclass(frozen=True, slots=True)
class QueueFilter:
    status: CommentStatus = CommentStatus.PENDING
    post_id: int | None = None
    search: str = ""


async def count_by_status(db: Database) -> dict[str, int]:
    """Return the number of comments in each state (every state present, zero if none)."""
    counts = await store.count_by_status(db.reader)
    return {str(s): counts.get(str(s), 0) for s in CommentStatus}


async def page_of(db: Database, where: QueueFilter, number: int) -> ResultPage[QueueRow]:
    """Return one page of the queue, newest first."""
    total = await store.count_queue(db.reader, where.status, post_id=where.post_id, search=where.search)
    rows = await store.list_queue(
        db.reader,
        where.status,
        post_id=where.post_id,
        search=where.search,
        limit=PER_PAGE,
        offset=(number - 1) * PER_PAGE,
    )
    return ResultPage([QueueRow(*r) for r in rows], number, PER_PAGE, total)


async def apply(
    db: Database, action: str, ids: Sequence[int], where: QueueFilter | None, now: datetime
) -> int:
    """Apply a bulk action to ``ids`` (or, with ``where``, to every comment matching it); return how many."""
    if action not in ACTIONS:
        raise BadRequest(f"Unknown action {action[:40]!r}; choose one of {', '.join(ACTIONS)}.")
    if where is not None:
        ids = await store.queue_ids(db.reader, where.status, post_id=where.post_id, search=where.search)
    if not ids:
        raise BadRequest("Select at least one comment first.")
    status = ACTIONS[action]
    if status is None:
        async with db.transaction() as tx:
            return await store.delete_comments(tx, ids)
    return len(await moderation.moderate(db, ids, status, now))


async def empty_spam(db: Database) -> int:
    """Delete every spam comment for good; return how many."""
    ids = await store.queue_ids(db.reader, CommentStatus.SPAM, post_id=None, search="")
    async with db.transaction() as tx:
        return await store.delete_comments(tx, ids)


async def block_commenter(db: Database, comment_id: int, now: datetime) -> Comment:
    """Put a comment's email and client on the block list, and mark the comment as spam."""
    comment = await store.get_comment(db.reader, comment_id)
    if comment is None:
        raise BadRequest("That comment does not exist any more.")
    async with db.transaction() as tx:
        if comment.author_email:
            await store.add_block(tx, "email", comment.author_email.casefold(), now)
        if comment.client_hash:
            await store.add_block(tx, "client", comment.client_hash, now)
    await moderation.moderate(
        db, [comment.id], CommentStatus.SPAM, now, reason="commenter blocked by the owner"
    )
    return comment


async def daily_activity(db: Database, now: datetime, days: int = 30) -> list[tuple[str, dict[str, int]]]:
    """Return, for each of the last ``days`` UTC days, the number of comments per state."""
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    per_day: dict[str, dict[str, int]] = {
        (start + timedelta(days=i)).strftime("%Y-%m-%d"): {str(s): 0 for s in CommentStatus}
        for i in range(days)
    }
    for day, status, count in await store.daily_counts(db.reader, start):
        if day in per_day:
            per_day[day][status] = count
    return list(per_day.items())
