"""Comments in the database: submission, edits, the owner's state changes, imports, re-rendering.

Every comment records *why* it got its state, so the owner's queue can show it; the rules
themselves live in :mod:`pebbleblog.comment_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pebbleblog.comment_rules import (
    Client,
    CommentDraft,
    Decision,
    check_form_timing,
    comments_open,
    decide,
    validate,
)
from pebbleblog.content.markdown import render_comment
from pebbleblog.content.sanitize import COMMENT_SANITIZER_VERSION
from pebbleblog.errors import BadRequest, CommentRefused
from pebbleblog.models import Comment, CommentInput, CommentStatus, Post
from pebbleblog.settings import CommentsSection, Settings
from pebbleblog.storage import Database
from pebbleblog.storage import comments as store
from pebbleblog.storage import posts as post_store
from pebbleblog.threads import CommentNode, build_thread


async def submit(
    db: Database, settings: Settings, post: Post, draft: CommentDraft, client: Client, now: datetime
) -> Comment:
    """Judge and store a new comment; raise CommentRefused with every problem otherwise."""
    rules = settings.comments
    if not comments_open(post, rules, now):
        raise CommentRefused("Comments are closed on this post.", status_code=403)
    check_form_timing(client, rules, now)
    errors = validate(draft, rules)
    if errors:
        raise CommentRefused("Please correct the fields marked below.", status_code=400, fields=errors)
    body_html = render_comment(draft.body)
    comment = CommentInput(
        post_id=post.id,
        parent_id=int(draft.parent) if draft.parent else None,
        author_name=draft.name,
        author_email=draft.email,
        author_website=draft.website,
        title=draft.title,
        body_source=draft.body,
        body_html=body_html,
        sanitizer_version=COMMENT_SANITIZER_VERSION,
        status=CommentStatus.PENDING,  # until the rules decide, below
        created_at=now,
        client_hash=client.client_hash,
        commenter_token=client.token_hash,
    )
    limits = store.SubmissionLimits(
        flood_since=now - timedelta(seconds=rules.flood_seconds) if rules.flood_seconds else None,
        hour_since=now - timedelta(hours=1),
        hourly_limit=rules.hourly_limit,
    )
    # Read from the last commit, outside the write lock; the insert checks it all again itself, and
    # a second round reads the facts again if they changed in between.
    for _ in range(2):
        facts = await store.submission_facts(db.reader, comment, limits)
        _refuse_held_back(facts, rules)
        decision = decide(draft, body_html, client, rules, trusted=facts.trusted)
        if facts.blocked:
            decision = Decision(CommentStatus.SPAM, [facts.blocked])
        decided = replace(comment, status=decision.status, reasons=tuple(decision.reasons))
        stored = await store.insert_submitted_comment(db, decided, limits, facts)
        if stored is not None:
            return stored
    raise CommentRefused(
        "This comment could not be stored just now. Please press Post again.", status_code=409
    )


async def list_comments(db: Database, status: CommentStatus, limit: int = 100) -> list[Comment]:
    """Return comments in one state, newest first (the moderation queue)."""
    return await store.list_by_status(db.reader, status, limit)


@dataclass(frozen=True, slots=True)
class ImportedComment:
    """A comment carried over from elsewhere (a content file, another blog engine)."""

    source_key: str
    post_slug: str
    author_name: str
    body: str
    created_at: datetime
    status: CommentStatus = CommentStatus.APPROVED
    author_email: str = ""
    author_website: str = ""
    title: str = ""
    parent_key: str | None = None
    reasons: tuple[str, ...] = ("imported",)


async def import_comment(db: Database, item: ImportedComment) -> int | None:
    """Store an imported comment once (None if its source key is already stored)."""
    async with db.transaction() as tx:
        if await store.get_comment_id_by_source(tx, item.source_key) is not None:
            return None
        post_id = await post_store.get_post_id_by_slug(tx, item.post_slug)
        if post_id is None:
            raise BadRequest(f"there is no post with slug {item.post_slug!r}")
        parent_id = None
        if item.parent_key:
            parent_id = await store.get_comment_id_by_source(tx, item.parent_key)
            if parent_id is None:
                raise BadRequest(f"its parent {item.parent_key!r} must be imported before it")
        return await store.insert_comment(
            tx,
            CommentInput(
                post_id=post_id,
                parent_id=parent_id,
                author_name=item.author_name,
                author_email=item.author_email,
                author_website=item.author_website,
                title=item.title,
                body_source=item.body,
                body_html=render_comment(item.body),
                sanitizer_version=COMMENT_SANITIZER_VERSION,
                status=item.status,
                created_at=item.created_at,
                source_key=item.source_key,
                reasons=item.reasons,
            ),
        )


async def get_comment(db: Database, comment_id: int) -> Comment | None:
    """Return the comment with ``comment_id``, in any state."""
    return await store.get_comment(db.reader, comment_id)


def preview(draft: CommentDraft, post_title: str, secret: bytes, now: datetime) -> CommentNode:
    """Return the draft as the thread would show it (rendered and sanitised, not stored)."""
    comment = Comment(
        id=0,
        post_id=0,
        parent_id=None,
        status=CommentStatus.PENDING,
        author_name=draft.name or "You",
        author_email=draft.email,
        author_website=draft.website,
        title=draft.title,
        body_source=draft.body,
        body_html=render_comment(draft.body),
        sanitizer_version=COMMENT_SANITIZER_VERSION,
        created_at=now,
        source_key=None,
    )
    return build_thread([comment], post_title, secret)[0]


async def editable(
    db: Database, settings: Settings, comment: Comment, own_ids: Sequence[int], now: datetime
) -> bool:
    """Tell whether the reader may still edit or delete ``comment``."""
    window = timedelta(minutes=settings.comments.edit_minutes)
    return (
        comment.id in own_ids
        and comment.status in (CommentStatus.PENDING, CommentStatus.APPROVED)
        and now - comment.created_at <= window
        and not await store.has_replies(db.reader, comment.id)
    )


async def edit(
    db: Database, settings: Settings, comment: Comment, draft: CommentDraft, client: Client, now: datetime
) -> Comment:
    """Apply a reader's edit to their comment; the rules judge it again."""
    rules = settings.comments
    check_form_timing(client, rules, now, new=False)
    errors = validate(draft, rules)
    if errors:
        raise CommentRefused("Please correct the fields marked below.", status_code=400, fields=errors)
    body_html = render_comment(draft.body)
    async with db.transaction() as tx:
        decision = decide(
            draft, body_html, client, rules, trusted=await store.is_trusted(tx, client.token_hash)
        )
        await store.update_comment_text(
            tx,
            comment.id,
            fields={
                "author_name": draft.name,
                "author_email": draft.email,
                "author_website": draft.website,
                "title": draft.title,
                "body_source": draft.body,
                "body_html": body_html,
                "sanitizer_version": COMMENT_SANITIZER_VERSION,
            },
            status=decision.status,
            reasons=["edited by its author", *decision.reasons],
            now=now,
        )
        updated = await store.get_comment(tx, comment.id)
    assert updated is not None, "the comment was just updated"
    return updated


async def delete_own(db: Database, comment: Comment, now: datetime) -> None:
    """Move a reader's own comment to the trash (the owner can still see it there)."""
    async with db.transaction() as tx:
        await store.set_status(tx, [comment.id], CommentStatus.TRASH, "deleted by its author", now)


async def moderate(
    db: Database, comment_ids: Sequence[int], status: CommentStatus, now: datetime, reason: str | None = None
) -> list[Comment]:
    """Move comments to ``status`` as the owner; approving trusts each commenter's token."""
    reason = (
        reason or f"{'approved' if status is CommentStatus.APPROVED else 'marked ' + status} by the owner"
    )
    async with db.transaction() as tx:
        changed = await store.set_status(tx, comment_ids, status, reason, now)
        if status is CommentStatus.APPROVED:
            for comment in changed:
                if comment.commenter_token:
                    await store.trust_token(tx, comment.commenter_token, comment.id, now)
    return changed


async def rerender_all(db: Database, batch: int = 500) -> int:
    """Render every stored comment again with the current sanitiser; return how many changed."""
    changed, after = 0, 0
    while rows := await store.list_for_rerender(db.reader, after, batch):
        async with db.transaction() as tx:
            for comment_id, source in rows:
                await store.set_rendered_html(
                    tx, comment_id, render_comment(source), COMMENT_SANITIZER_VERSION
                )
        changed += len(rows)
        after = rows[-1][0]
    return changed


def _refuse_held_back(facts: store.SubmissionFacts, rules: CommentsSection) -> None:
    """Raise the refusal for the first condition that holds a new comment back, if any."""
    if facts.duplicate:
        raise CommentRefused("You have already posted this comment here.", status_code=409)
    if facts.flooding:
        raise CommentRefused(
            f"You can post one comment every {rules.flood_seconds} seconds. "
            "Please wait a moment and press Post again.",
            status_code=429,
        )
    if facts.over_hourly_limit:
        raise CommentRefused(
            f"You have posted {rules.hourly_limit} comments in the last hour, the most "
            "this site takes. Please come back later.",
            status_code=429,
        )
    if facts.parent_missing:
        raise CommentRefused(
            "The comment you are replying to could not be found.",
            status_code=400,
            fields={"parent": "The comment you are replying to could not be found."},
        )
