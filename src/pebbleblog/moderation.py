"""Comment submission: validation, the spam and moderation rules, and state changes.

Every comment records *why* it got its state, so the owner's queue can show it. The rules read the
``[comments]`` settings; :func:`decide` is a pure function of the draft and what is known about the
client, so each rule can be tested on its own.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pebbleblog.content.markdown import render_comment
from pebbleblog.content.sanitize import COMMENT_SANITIZER_VERSION
from pebbleblog.errors import BadRequest, CommentRefused
from pebbleblog.models import Comment, CommentInput, CommentStatus, Post
from pebbleblog.settings import CommentsSection, Settings
from pebbleblog.storage import Connection, Database
from pebbleblog.storage import comments as store
from pebbleblog.storage import posts as post_store
from pebbleblog.threads import CommentNode, build_thread

MAX_NAME, MAX_EMAIL, MAX_WEBSITE, MAX_TITLE = 100, 254, 300, 200
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_WEBSITE = re.compile(r"https?://[^\s/?#]+\.[^\s/?#]+([/?#]\S*)?", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class CommentDraft:
    """A comment as the reader typed it, trimmed and normalised, not yet judged."""

    name: str = ""
    email: str = ""
    website: str = ""
    title: str = ""
    body: str = ""
    parent: str = ""
    remember: bool = False
    honeypot: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> CommentDraft:
        """Build a draft from submitted form fields (missing fields are empty)."""

        def text(name: str) -> str:
            value = form.get(name, "")
            return _CONTROL.sub("", value if isinstance(value, str) else "")

        return cls(
            name=" ".join(text("name").split()),
            email=text("email").strip(),
            website=text("website").strip(),
            title=" ".join(text("title").split()),
            body=text("body").replace("\r\n", "\n").replace("\r", "\n").strip(),
            parent=text("parent").strip(),
            remember=text("remember") == "on",
            honeypot=text("url").strip(),
        )

    @classmethod
    def from_comment(cls, comment: Comment) -> CommentDraft:
        """Build a draft holding a stored comment's fields (to edit it)."""
        return cls(
            name=comment.author_name,
            email=comment.author_email,
            website=comment.author_website,
            title=comment.title,
            body=comment.body_source,
        )

    def values(self) -> dict[str, object]:
        """Return the fields to put back into the form."""
        return {
            "name": self.name,
            "email": self.email,
            "website": self.website,
            "title": self.title,
            "body": self.body,
            "parent": self.parent,
            "remember": self.remember,
        }


@dataclass(frozen=True, slots=True)
class Client:
    """What the server knows about who is posting. The raw IP is used for checks, never stored."""

    ip: str
    client_hash: str
    token: str = ""  # the browser's returning-commenter id (only its keyed hash is stored)
    token_hash: str = ""
    form_issued_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    status: CommentStatus
    reasons: list[str] = field(default_factory=list)


def validate(draft: CommentDraft, rules: CommentsSection) -> dict[str, str]:
    """Return a message per field that must be fixed (empty when the draft is acceptable)."""
    errors: dict[str, str] = {}
    if not draft.name:
        errors["name"] = "Please enter your name."
    elif len(draft.name) > MAX_NAME:
        errors["name"] = f"Your name is {len(draft.name)} characters; the limit is {MAX_NAME}."
    if draft.email and (len(draft.email) > MAX_EMAIL or not _EMAIL.fullmatch(draft.email)):
        errors["email"] = "This does not look like an email address (name@example.com); or leave it empty."
    if draft.website and (len(draft.website) > MAX_WEBSITE or not _WEBSITE.fullmatch(draft.website)):
        errors["website"] = (
            "The website must be an address starting with http:// or https://; or leave it empty."
        )
    if len(draft.title) > MAX_TITLE:
        errors["title"] = f"The title is {len(draft.title)} characters; the limit is {MAX_TITLE}."
    if not draft.body:
        errors["body"] = "Please write a comment."
    elif rules.max_length and len(draft.body) > rules.max_length:
        errors["body"] = (
            f"Your comment is {len(draft.body)} characters; the limit is {rules.max_length}. "
            "Please shorten it (nothing was cut)."
        )
    if draft.parent and not draft.parent.isdigit():
        errors["parent"] = "The comment you are replying to could not be found."
    return errors


def decide(
    draft: CommentDraft, body_html: str, client: Client, rules: CommentsSection, *, trusted: bool
) -> Decision:
    """Apply the rules: spam rules first, then the rules that hold a comment, then trust."""
    spam = _spam_reasons(draft, client, rules)
    if spam:
        return Decision(CommentStatus.SPAM, spam)
    held = _hold_reasons(draft, body_html, rules)
    if rules.hold_unknown and not trusted:
        held.insert(0, "first comment from this commenter")
    if held:
        return Decision(CommentStatus.PENDING, held)
    return Decision(CommentStatus.APPROVED, ["returning commenter" if trusted else "no rule held it"])


def check_form_timing(client: Client, rules: CommentsSection, now: datetime, *, new: bool = True) -> None:
    """Refuse a form with no valid token, sent too fast, or too old (with a way to retry)."""
    issued = client.form_issued_at
    if issued is None:
        raise CommentRefused(
            "This form could not be verified (it may come from an old copy of the page). "
            "Please press the button again.",
            status_code=400,
            renew_form=True,
        )
    age = (now - issued).total_seconds()
    if new and age < rules.min_seconds:
        raise CommentRefused(
            f"That was fast: the comment was sent {max(age, 0):.0f} s after the page loaded. "
            f"Please wait a few seconds and press the button again.",
            status_code=400,
        )
    if rules.form_max_age_minutes and age > rules.form_max_age_minutes * 60:
        raise CommentRefused(
            "This form has expired after being open a long time. Your text is kept: "
            "please press the button again.",
            status_code=400,
            renew_form=True,
        )


def comments_open(post: Post, rules: CommentsSection, now: datetime) -> bool:
    """Tell whether a post still takes comments."""
    if not post.comments_open:
        return False
    if rules.close_after_days and post.published_at:
        return now - post.published_at < timedelta(days=rules.close_after_days)
    return True


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
    async with db.transaction() as tx:
        if await store.find_duplicate(tx, post.id, draft.body, client.client_hash, draft.name):
            raise CommentRefused("You have already posted this comment here.", status_code=409)
        await _check_flood(tx, client, rules, now)
        parent_id = await _parent_id(tx, post, draft)
        decision = decide(
            draft, body_html, client, rules, trusted=await store.is_trusted(tx, client.token_hash)
        )
        comment_id = await store.insert_comment(
            tx,
            CommentInput(
                post_id=post.id,
                parent_id=parent_id,
                author_name=draft.name,
                author_email=draft.email,
                author_website=draft.website,
                title=draft.title,
                body_source=draft.body,
                body_html=body_html,
                sanitizer_version=COMMENT_SANITIZER_VERSION,
                status=decision.status,
                created_at=now,
                reasons=tuple(decision.reasons),
                client_hash=client.client_hash,
                commenter_token=client.token_hash,
            ),
        )
        comment = await store.get_comment(tx, comment_id)
    assert comment is not None, "the comment was just inserted"
    return comment


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


async def _check_flood(tx: Connection, client: Client, rules: CommentsSection, now: datetime) -> None:
    if rules.flood_seconds and await store.count_by_client_since(
        tx, client.client_hash, now - timedelta(seconds=rules.flood_seconds)
    ):
        raise CommentRefused(
            f"You can post one comment every {rules.flood_seconds} seconds. "
            "Please wait a moment and press Post again.",
            status_code=429,
        )
    if (
        rules.hourly_limit
        and await store.count_by_client_since(tx, client.client_hash, now - timedelta(hours=1))
        >= rules.hourly_limit
    ):
        raise CommentRefused(
            f"You have posted {rules.hourly_limit} comments in the last hour, the most "
            "this site takes. Please come back later.",
            status_code=429,
        )


async def _parent_id(tx: Connection, post: Post, draft: CommentDraft) -> int | None:
    if not draft.parent:
        return None
    parent = await store.get_comment(tx, int(draft.parent))
    if parent is None or parent.post_id != post.id or parent.status is not CommentStatus.APPROVED:
        raise CommentRefused(
            "The comment you are replying to could not be found.",
            status_code=400,
            fields={"parent": "The comment you are replying to could not be found."},
        )
    return parent.id


def _spam_reasons(draft: CommentDraft, client: Client, rules: CommentsSection) -> list[str]:
    reasons = []
    if draft.honeypot:
        reasons.append("honeypot filled")
    text = _searchable(draft)
    reasons += [f"matched blocked word '{w}'" for w in rules.blocked_words if _has_word(text, w)]
    email = draft.email.casefold()
    for blocked in rules.blocked_emails:
        entry = blocked.strip().casefold()
        if email and (email == entry or (entry.startswith("@") and email.endswith(entry))):
            reasons.append(f"blocked email '{blocked}'")
    address = _ip(client.ip)
    for network in rules.blocked_networks:
        if address is not None and address in ipaddress.ip_network(network, strict=False):
            reasons.append(f"blocked network {network}")
    return reasons


def _hold_reasons(draft: CommentDraft, body_html: str, rules: CommentsSection) -> list[str]:
    reasons = []
    links = body_html.count("<a ")
    if rules.link_limit and links >= rules.link_limit:
        reasons.append(f"{links} link{'s' if links != 1 else ''}")
    text = _searchable(draft)
    reasons += [f"matched moderation word '{w}'" for w in rules.moderation_words if _has_word(text, w)]
    return reasons


def _searchable(draft: CommentDraft) -> str:
    return "\n".join((draft.name, draft.email, draft.website, draft.title, draft.body))


def _has_word(text: str, word: str) -> bool:
    pattern = r"\s+".join(re.escape(part) for part in word.split())
    return re.search(rf"(?<!\w){pattern}(?!\w)", text, re.IGNORECASE) is not None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
