"""Import a pebbleblog JSON export: every item checked, each in its own transaction, nothing twice.

The file is untrusted like any other source: bodies and comments are rendered and sanitised again
from their source, and an item with a missing or mistyped field is reported and skipped.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from pebbleblog import blog
from pebbleblog.content.markdown import render_comment
from pebbleblog.content.sanitize import COMMENT_SANITIZER_VERSION
from pebbleblog.errors import BadRequest
from pebbleblog.importers.common import Target, save_redirects
from pebbleblog.importers.jsonformat import FORMAT, VERSION
from pebbleblog.importers.jsonparts import BadItem, field, moment, restore_extras
from pebbleblog.models import (
    BodyFormat,
    CommentInput,
    CommentStatus,
    PageStatus,
    PostStatus,
    Redirect,
    RedirectKind,
)
from pebbleblog.storage import comments, pages, posts, tags


async def restore(target: Target, source: Path) -> None:
    """Import the export at ``source`` into the target site."""
    data = _load(target, source)
    if data is None:
        return
    sections = {name: _section(target, data, name, source) for name in _SECTIONS}
    await restore_extras(target, sections["settings"], source, "settings")
    await _restore_tags(target, sections["tags"])
    total = len(sections["posts"]) + len(sections["pages"]) + len(sections["comments"])
    done = 0
    for name, restore_one in (("posts", _restore_post), ("pages", _restore_page)):
        for index, item in enumerate(sections[name]):
            await _one(target, f"{source} {name}[{index}]", partial(restore_one, target, item))
            done += 1
            target.progress(done, total)
    ids = await _restore_comments(target, sections["comments"], source)
    target.progress(total, total)
    await restore_extras(target, sections["trusted_commenters"], source, "trusted_commenters", ids)
    await restore_extras(target, sections["blocked_commenters"], source, "blocked_commenters")
    await restore_extras(target, sections["old_slugs"], source, "old_slugs")
    await _restore_redirects(target, sections["redirects"], source)
    await restore_extras(target, sections["uploads"], source, "uploads")


_SECTIONS = (
    "settings",
    "tags",
    "posts",
    "pages",
    "comments",
    "trusted_commenters",
    "blocked_commenters",
    "redirects",
    "old_slugs",
    "uploads",
)


def _load(target: Target, source: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(source.read_bytes())
    except json.JSONDecodeError as exc:
        target.report.skip(str(source), f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
        return None
    except UnicodeDecodeError:
        target.report.skip(str(source), "is not UTF-8 text")
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        target.report.skip(str(source), f'is not a pebbleblog export (no "format": "{FORMAT}")')
        return None
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        target.report.skip(
            str(source), f"has format version {version!r}; this pebbleblog reads versions 1 to {VERSION}"
        )
        return None
    return data


def _section(target: Target, data: dict[str, Any], name: str, source: Path) -> list[Mapping[str, Any]]:
    items = data.get(name, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        target.report.skip(f"{source} {name}", "must be a list of objects; the whole section was skipped")
        return []
    return items


async def _one(target: Target, where: str, work: Callable[[], Awaitable[None]]) -> None:
    try:
        await work()
    except BadItem as exc:
        target.report.skip(where, str(exc))
    except BadRequest as exc:
        target.report.skip(where, exc.message)


async def _restore_tags(target: Target, items: list[Mapping[str, Any]]) -> None:
    pairs = [
        (t["slug"], t["name"])
        for t in items
        if isinstance(t.get("slug"), str) and isinstance(t.get("name"), str)
    ]
    async with target.db.transaction() as tx:
        await tags.ensure_tags(tx, [(s, n) for s, n in pairs if s])


async def _restore_post(target: Target, item: Mapping[str, Any]) -> None:
    status = field(item, "status", str, choices=PostStatus)
    kind = "drafts" if status == PostStatus.DRAFT else "posts"
    slug, source_key = field(item, "slug", str), field(item, "source_key", str, optional=True)
    if (
        source_key and await posts.get_post_id_by_source(target.db.reader, source_key)
    ) or await posts.slug_exists(target.db.reader, slug):
        target.report.unchanged[kind] += 1
        return
    draft = blog.PostDraft(
        title=field(item, "title", str),
        body=field(item, "body", str),
        published_at=moment(item, "published_at", optional=True),
        status=PostStatus(status),
        slug=slug,
        subtitle=field(item, "subtitle", str),
        excerpt=field(item, "excerpt", str),
        author=field(item, "author", str),
        tags=tuple(field(item, "tags", list, items=str)),
        comments_open=field(item, "comments_open", bool),
        source_key=source_key,
        body_format=BodyFormat(field(item, "body_format", str, choices=BodyFormat)),
        created_at=moment(item, "created_at"),
        updated_at=moment(item, "updated_at"),
    )
    await blog.create_post(target.db, draft, target.now)
    target.report.added[kind] += 1


async def _restore_page(target: Target, item: Mapping[str, Any]) -> None:
    slug, source_key = field(item, "slug", str), field(item, "source_key", str, optional=True)
    if (
        source_key and await pages.get_page_id_by_source(target.db.reader, source_key)
    ) or await pages.slug_exists(target.db.reader, slug):
        target.report.unchanged["pages"] += 1
        return
    await blog.create_page(
        target.db,
        field(item, "title", str),
        field(item, "body", str),
        target.now,
        slug=slug,
        status=PageStatus(field(item, "status", str, choices=PageStatus)),
        source_key=source_key,
        body_format=BodyFormat(field(item, "body_format", str, choices=BodyFormat)),
        times=(moment(item, "created_at"), moment(item, "updated_at")),
    )
    target.report.added["pages"] += 1


def _parent_ready(parent: object, ids: dict[int, int]) -> bool:
    """Tell whether a comment's parent (None, or the id of an already restored comment) is in place."""
    return parent is None or (isinstance(parent, int) and not isinstance(parent, bool) and parent in ids)


async def _restore_comments(target: Target, items: list[Mapping[str, Any]], source: Path) -> dict[int, int]:
    """Restore comments parents first; return {id in the file: id in the site}."""
    ids: dict[int, int] = {}
    waiting = list(enumerate(items))
    while ready := [(i, c) for i, c in waiting if _parent_ready(c.get("parent"), ids)]:
        for index, item in ready:
            await _one(target, f"{source} comments[{index}]", partial(_restore_comment, target, item, ids))
        done = {index for index, _ in ready}
        waiting = [(i, c) for i, c in waiting if i not in done]
    for index, item in waiting:
        target.report.skip(
            f"{source} comments[{index}]", f"its parent comment {item.get('parent')!r} was not imported"
        )
    return ids


async def _restore_comment(target: Target, item: Mapping[str, Any], ids: dict[int, int]) -> None:
    export_id, post_slug = field(item, "id", int), field(item, "post", str)
    post_id = await posts.get_post_id_by_slug(target.db.reader, post_slug)
    if post_id is None:
        raise BadItem(f"there is no post with slug {post_slug!r}")
    record = CommentInput(
        post_id=post_id,
        parent_id=ids.get(item["parent"]) if item.get("parent") is not None else None,
        author_name=field(item, "author_name", str),
        author_email=field(item, "author_email", str),
        author_website=field(item, "author_website", str),
        title=field(item, "title", str),
        body_source=field(item, "body", str),
        body_html=render_comment(field(item, "body", str)),
        sanitizer_version=COMMENT_SANITIZER_VERSION,
        status=CommentStatus(field(item, "status", str, choices=CommentStatus)),
        created_at=moment(item, "created_at"),
        updated_at=moment(item, "updated_at", optional=True),
        source_key=field(item, "source_key", str, optional=True),
        reasons=tuple(field(item, "reasons", list, items=str)),
        client_hash=field(item, "client_hash", str),
        commenter_token=field(item, "commenter_token", str),
    )
    async with target.db.transaction() as tx:
        existing = (
            await comments.get_comment_id_by_source(tx, record.source_key) if record.source_key else None
        )
        existing = existing or await comments.find_same_comment(
            tx, post_id, record.created_at, record.author_name, record.body_source
        )
        if existing is not None:
            ids[export_id] = existing
            target.report.unchanged["comments"] += 1
            return
        ids[export_id] = await comments.insert_comment(tx, record)
    target.report.added["comments"] += 1
    target.report.comment_states[str(record.status)] += 1


async def _restore_redirects(target: Target, items: list[Mapping[str, Any]], source: Path) -> None:
    found: list[Redirect] = []
    for index, item in enumerate(items):
        try:
            found.append(
                Redirect(
                    field(item, "old_path", str),
                    RedirectKind(field(item, "kind", str, choices=RedirectKind)),
                    field(item, "key", str),
                    field(item, "source", str),
                    moment(item, "created_at"),
                )
            )
        except BadItem as exc:
            target.report.skip(f"{source} redirects[{index}]", str(exc))
    await save_redirects(target, found)
