"""pebbleblog's own JSON format: the whole site in one documented, versioned file.

``{"format": "pebbleblog-export", "version": 1, ...}`` holds posts, pages, tags, comments (with
their states, reasons and threading), trusted commenters, the block list, settings stored in the
database, old addresses (imported redirects and renamed slugs) and the list of uploaded files (the
files themselves are copied with the uploads/ folder). Accounts, sessions and logs are not in it.
Importing it into an empty site gives the same site; importing it again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from pebbleblog.importers.common import Target
from pebbleblog.models import Comment, Page, Post, Redirect
from pebbleblog.storage import Database, comments, pages, posts, redirects, state, tags
from pebbleblog.storage.database import to_timestamp

FORMAT = "pebbleblog-export"
VERSION = 1
BATCH = 500


async def export_site(db: Database, uploads_dir: Path, now: datetime) -> dict[str, Any]:
    """Return the whole site as the JSON-ready export document."""
    from pebbleblog import __version__

    conn = db.reader
    every_post = await _all_posts(db)
    slugs = {p.id: p.slug for p in every_post}
    return {
        "format": FORMAT,
        "version": VERSION,
        "pebbleblog": __version__,
        "exported_at": to_timestamp(now),
        "settings": [
            {"key": s.key, "value": s.value, "updated_at": to_timestamp(s.updated_at)}
            for s in await state.list_setting_rows(conn)
        ],
        "tags": [{"slug": t.slug, "name": t.name} for t in await tags.list_tags(conn)],
        "posts": [_post(p) for p in every_post],
        "pages": [_page(p) for p in await pages.list_all_pages(conn)],
        "comments": [_comment(c, slugs) for c in await comments.list_all_comments(conn)],
        "trusted_commenters": [
            {"token_hash": t.token_hash, "trusted_at": to_timestamp(t.trusted_at), "comment": t.comment_id}
            for t in await comments.list_trusted(conn)
        ],
        "blocked_commenters": [
            {"kind": b.kind, "value": b.value, "created_at": to_timestamp(b.created_at)}
            for b in await comments.list_blocks(conn)
        ],
        "redirects": [_redirect(r) for r in await redirects.list_redirects(conn)],
        "old_slugs": [
            {"kind": o.kind, "slug": o.slug, "current_slug": o.current_slug}
            for o in await posts.list_old_slugs(conn)
        ],
        "uploads": _uploads(uploads_dir),
    }


def write_export(document: dict[str, Any], destination: Path) -> None:
    """Write the export as UTF-8 JSON, atomically (a crash never leaves half a file)."""
    scratch = destination.with_name(f".{destination.name}.partial")
    scratch.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(scratch, destination)


async def import_json(target: Target, source: Path) -> None:
    """Import a pebbleblog JSON export (see :mod:`pebbleblog.importers.jsonrestore`)."""
    from pebbleblog.importers.jsonrestore import restore

    await restore(target, source)


async def _all_posts(db: Database) -> list[Post]:
    found: list[Post] = []
    while batch := await posts.list_all_posts(db.reader, BATCH, len(found)):
        found += batch
    return sorted(found, key=lambda p: (p.created_at, p.id))


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else to_timestamp(moment)


def _post(post: Post) -> dict[str, Any]:
    return {
        "slug": post.slug,
        "title": post.title,
        "subtitle": post.subtitle,
        "status": str(post.status),
        "body_format": str(post.body_format),
        "body": post.body_source,
        "excerpt": post.excerpt_source,
        "author": post.author,
        "tags": [t.name for t in post.tags],
        "comments_open": post.comments_open,
        "published_at": _stamp(post.published_at),
        "created_at": _stamp(post.created_at),
        "updated_at": _stamp(post.updated_at),
        "source_key": post.source_key,
    }


def _page(page: Page) -> dict[str, Any]:
    return {
        "slug": page.slug,
        "title": page.title,
        "status": str(page.status),
        "body_format": str(page.body_format),
        "body": page.body_source,
        "created_at": _stamp(page.created_at),
        "updated_at": _stamp(page.updated_at),
        "source_key": page.source_key,
    }


def _comment(comment: Comment, slugs: dict[int, str]) -> dict[str, Any]:
    return {
        "id": comment.id,
        "post": slugs.get(comment.post_id),
        "parent": comment.parent_id,
        "status": str(comment.status),
        "reasons": list(comment.reasons),
        "author_name": comment.author_name,
        "author_email": comment.author_email,
        "author_website": comment.author_website,
        "title": comment.title,
        "body": comment.body_source,
        "created_at": _stamp(comment.created_at),
        "updated_at": _stamp(comment.updated_at),
        "source_key": comment.source_key,
        "client_hash": comment.client_hash,
        "commenter_token": comment.commenter_token,
    }


def _redirect(item: Redirect) -> dict[str, Any]:
    return {
        "old_path": item.old_path,
        "kind": str(item.kind),
        "key": item.key,
        "source": item.source,
        "created_at": _stamp(item.created_at),
    }


def _uploads(uploads_dir: Path) -> list[dict[str, Any]]:
    if not uploads_dir.is_dir():
        return []
    found = []
    for path in sorted(p for p in uploads_dir.rglob("*") if p.is_file() and not p.is_symlink()):
        found.append(
            {
                "path": path.relative_to(uploads_dir).as_posix(),
                "size": path.stat().st_size,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            }
        )
    return found
