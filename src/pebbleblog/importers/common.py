"""What every importer shares: where it writes, and storing posts, pages, comments and redirects once.

Each item is written in its own transaction by the domain functions (``blog.create_post``,
``moderation.import_comment``...), keyed by a natural key from the source, so a failure leaves the
site as it was before that item and importing the same source again adds nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from pebbleblog import blog, moderation, redirects, sitestate
from pebbleblog.errors import BadRequest
from pebbleblog.importers.report import ImportReport
from pebbleblog.models import BodyFormat, PageStatus, PostStatus, Redirect
from pebbleblog.settings import Settings, SiteSection
from pebbleblog.storage import Connection, Database, pages, posts

Progress = Callable[[int, int], None]
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(?!\d+(?:[/?#]|$))")
MAX_SLUG_TRIES = 50


def _no_progress(done: int, total: int) -> None:
    """Report nothing (not on a terminal)."""


@dataclass
class Target:
    """Where an import writes: the site's database and uploads folder, the time, and the report."""

    db: Database
    settings: Settings
    uploads_dir: Path
    now: datetime
    report: ImportReport
    progress: Progress = field(default=_no_progress)
    write_files: bool = True  # False in a dry run: the database is a throwaway copy, files are only counted


@dataclass(frozen=True, slots=True)
class CommentItem:
    """A comment to import, the kind it is counted as ('comments' or 'trackbacks'), and where it came from."""

    comment: moderation.ImportedComment
    where: str
    kind: str = "comments"


async def save_post(target: Target, draft: blog.PostDraft, where: str) -> str | None:
    """Store a post once; return its slug (the stored one if it was imported before), None if skipped."""
    kind = "drafts" if draft.status is PostStatus.DRAFT else "posts"
    assert draft.source_key, "imported posts carry a natural key"
    existing = await posts.get_post_id_by_source(target.db.reader, draft.source_key)
    if existing is not None:
        target.report.unchanged[kind] += 1
        post = await posts.get_post(target.db.reader, existing)
        return post.slug if post else None
    try:
        slug = await _free_slug(draft.slug or blog.slugify(draft.title), posts.slug_exists, target)
        if await blog.create_post(target.db, replace(draft, slug=slug), target.now) is None:
            target.report.unchanged[kind] += 1
        else:
            target.report.added[kind] += 1
        return slug
    except BadRequest as exc:
        target.report.skip(where, exc.message)
        return None


async def save_page(
    target: Target,
    title: str,
    body: str,
    *,
    slug: str,
    source_key: str,
    where: str,
    times: tuple[datetime, datetime] | None = None,
    body_format: BodyFormat = BodyFormat.HTML,
) -> str | None:
    """Store a static page once; return its slug, or None if it was skipped."""
    page_id = await pages.get_page_id_by_source(target.db.reader, source_key)
    if page_id is not None:
        target.report.unchanged["pages"] += 1
        page = await pages.get_page(target.db.reader, page_id)
        return page.slug if page else None
    try:
        base = slug if slug not in blog.RESERVED_SLUGS else f"{slug}-page"
        slug = await _free_slug(base, pages.slug_exists, target)
        created = await blog.create_page(
            target.db,
            title,
            body,
            target.now,
            slug=slug,
            status=PageStatus.PUBLISHED,
            source_key=source_key,
            body_format=body_format,
            times=times,
        )
        target.report.added["pages"] += created is not None
        target.report.unchanged["pages"] += created is None
        return slug
    except BadRequest as exc:
        target.report.skip(where, exc.message)
        return None


async def _free_slug(base: str, taken: Callable[[Connection, str], Awaitable[bool]], target: Target) -> str:
    """Return ``base``, or ``base-2``, ``base-3``... whichever no other post (or page) uses."""
    base = base[:72].strip("-") or "untitled"
    for number in range(1, MAX_SLUG_TRIES + 1):
        slug = base if number == 1 else f"{base}-{number}"
        if not await taken(target.db.reader, slug):
            return slug
    raise BadRequest(f"the slug “{base}” and {MAX_SLUG_TRIES - 1} numbered variants are all taken")


async def save_comments(target: Target, items: list[CommentItem]) -> None:
    """Store comments once each, every parent before its replies."""
    for item in thread_order(items, target.report):
        try:
            stored = await moderation.import_comment(target.db, item.comment)
        except BadRequest as exc:
            target.report.skip(item.where, exc.message)
            continue
        if stored is None:
            target.report.unchanged[item.kind] += 1
        else:
            target.report.added[item.kind] += 1
            target.report.comment_states[str(item.comment.status)] += 1


def thread_order(items: list[CommentItem], report: ImportReport) -> list[CommentItem]:
    """Return the comments parents first (oldest first at each level); a missing parent makes a top level."""
    keys = {i.comment.source_key for i in items}
    children: dict[str | None, list[CommentItem]] = defaultdict(list)
    for item in items:
        parent = item.comment.parent_key
        if parent and parent not in keys:
            report.warn(
                f"{item.where}: replies to {parent}, which is not in the source; kept as a top-level comment"
            )
            item = replace(item, comment=replace(item.comment, parent_key=None))
            parent = None
        children[parent].append(item)
    ordered: list[CommentItem] = []
    level: list[CommentItem] = children[None]
    while level:
        level.sort(key=lambda i: i.comment.created_at)
        ordered += level
        level = [child for item in level for child in children[item.comment.source_key]]
    for item in items:
        if item.comment.source_key not in {o.comment.source_key for o in ordered}:
            report.warn(f"{item.where}: its replies form a loop; kept as a top-level comment")
            ordered.append(replace(item, comment=replace(item.comment, parent_key=None)))
    return ordered


async def save_redirects(target: Target, items: Iterable[Redirect]) -> None:
    """Store old addresses (those not already stored) in one transaction."""
    unique = {item.old_path: item for item in items if item.old_path.startswith("/")}
    added = await redirects.add_redirects(target.db, unique.values(), target.now)
    target.report.added["redirects"] += added
    target.report.unchanged["redirects"] += len(unique) - added


async def offer_site_settings(target: Target, values: dict[str, str]) -> None:
    """Store the old blog's name and description as site settings, where the owner has set none."""
    stored = await sitestate.stored_settings(target.db)
    defaults = SiteSection()
    wanted = {
        key: value
        for key, value in values.items()
        if value
        and key not in stored
        and getattr(target.settings.site, key.split(".", 1)[1]) == getattr(defaults, key.split(".", 1)[1])
    }
    if wanted:
        problems = await sitestate.save_settings(target.db, target.settings, dict(wanted), target.now)
        for problem in problems:
            target.report.warn(f"site setting not stored: {problem}")
        if not problems:
            target.report.added["settings"] += len(wanted)


def web_address(url: str, where: str, report: ImportReport) -> str:
    """Return a commenter's website as a link target: http(s) kept, a bare host prefixed, others dropped."""
    cleaned = "".join(char for char in url if char >= " ").strip()
    if not cleaned:
        return ""
    lowered = cleaned.lower()
    if lowered.startswith(("http://", "https://")):
        return cleaned
    if _SCHEME.match(lowered):  # any other scheme (javascript:, data:...); 'host:8080/...' is not one
        report.warn(f"{where}: website {cleaned[:80]!r} is not an http(s) address; left out")
        return ""
    return "http://" + cleaned
