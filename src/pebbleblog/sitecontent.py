"""Load a site's ``content/`` folder (Markdown posts and pages, a comments file) into the database.

Every item carries a natural key (``content:<path>`` or ``content:comment:<id>``), so loading the
same folder again adds only what is new and never duplicates anything. Each item is written in its
own transaction; a broken file is reported and skipped, and the rest loads.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pebbleblog.blog import PostDraft, create_page, create_post
from pebbleblog.content.frontmatter import FrontMatterError, split_document
from pebbleblog.content.markdown import render_comment
from pebbleblog.content.sanitize import COMMENT_SANITIZER_VERSION
from pebbleblog.errors import BadRequest
from pebbleblog.models import CommentInput, CommentStatus, PageStatus, PostStatus
from pebbleblog.settings import Settings
from pebbleblog.storage import Database, comments, pages, posts

log = logging.getLogger(__name__)
COMMENTS_FILE = "comments.toml"


class ContentError(ValueError):
    """One content item cannot be loaded; the message says which file and what is wrong."""


@dataclass
class LoadReport:
    """What one load added, and what it had to skip."""

    added: dict[str, int] = field(default_factory=lambda: {"posts": 0, "pages": 0, "comments": 0})
    problems: list[str] = field(default_factory=list)


async def load_content(db: Database, settings: Settings, now: datetime) -> LoadReport:
    """Add every post, page and comment in the site's content folder that is not loaded yet."""
    report = LoadReport()
    root = settings.content_dir
    if not root.is_dir():
        return report
    for path in sorted((root / "posts").glob("*.md")):
        await _load_one(report, "posts", path, _load_post(db, settings, root, path, now))
    for path in sorted((root / "pages").glob("*.md")):
        await _load_one(report, "pages", path, _load_page(db, root, path, now))
    comments_file = root / COMMENTS_FILE
    if comments_file.is_file():
        for coro in _comment_loaders(db, settings, comments_file, report):
            await _load_one(report, "comments", comments_file, coro)
    for problem in report.problems:
        log.warning("content not loaded: %s", problem)
    return report


async def _load_one(report: LoadReport, kind: str, path: Path, coro: Any) -> None:
    try:
        if await coro:
            report.added[kind] += 1
    except (ContentError, BadRequest, FrontMatterError) as exc:
        message = exc.message if isinstance(exc, BadRequest) else str(exc)
        report.problems.append(f"{path}: {message}")


async def _load_post(db: Database, settings: Settings, root: Path, path: Path, now: datetime) -> bool:
    key = f"content:{path.relative_to(root).as_posix()}"
    if await posts.get_post_id_by_source(db.reader, key) is not None:
        return False
    meta, body = split_document(path.read_text(encoding="utf-8"))
    draft = PostDraft(
        title=_text(meta, "title", required=True),
        body=body,
        slug=_text(meta, "slug") or path.stem,
        subtitle=_text(meta, "subtitle"),
        excerpt=_text(meta, "excerpt"),
        author=_text(meta, "author"),
        status=_choice(meta, "status", PostStatus, PostStatus.PUBLISHED),
        published_at=_moment(meta, "date", settings),
        tags=tuple(_text_list(meta, "tags")),
        comments_open=bool(meta.get("comments_open", True)),
        source_key=key,
    )
    await create_post(db, draft, now)
    return True


async def _load_page(db: Database, root: Path, path: Path, now: datetime) -> bool:
    key = f"content:{path.relative_to(root).as_posix()}"
    if await pages.get_page_id_by_source(db.reader, key) is not None:
        return False
    meta, body = split_document(path.read_text(encoding="utf-8"))
    await create_page(
        db,
        _text(meta, "title", required=True),
        body,
        now,
        slug=_text(meta, "slug") or path.stem,
        status=_choice(meta, "status", PageStatus, PageStatus.PUBLISHED),
        source_key=key,
    )
    return True


def _comment_loaders(db: Database, settings: Settings, path: Path, report: LoadReport) -> list[Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        report.problems.append(f"{path}: not valid TOML: {exc}")
        return []
    entries = data.get("comments", [])
    if not isinstance(entries, list):
        report.problems.append(f"{path}: write each comment as a [[comments]] table")
        return []
    return [_load_comment(db, settings, entry, i) for i, entry in enumerate(entries, 1)]


async def _load_comment(db: Database, settings: Settings, entry: dict[str, Any], number: int) -> bool:
    ident = _text(entry, "id", required=True, where=f"comment #{number}")
    key = f"content:comment:{ident}"
    if await comments.get_comment_id_by_source(db.reader, key) is not None:
        return False
    where = f"comment {ident!r}"
    post_slug = _text(entry, "post", required=True, where=where)
    body = _text(entry, "body", required=True, where=where)
    created = _moment(entry, "date", settings)
    parent = _text(entry, "parent", where=where)
    async with db.transaction() as tx:
        post_id = await tx.fetch_value("SELECT id FROM posts WHERE slug = ?", (post_slug,))
        if post_id is None:
            raise ContentError(f"{where}: there is no post with slug {post_slug!r}")
        parent_id = None
        if parent:
            parent_id = await comments.get_comment_id_by_source(tx, f"content:comment:{parent}")
            if parent_id is None:
                raise ContentError(f"{where}: parent {parent!r} must come earlier in the file")
        await comments.insert_comment(
            tx,
            CommentInput(
                post_id=int(post_id),
                parent_id=parent_id,
                author_name=_text(entry, "author_name", required=True, where=where),
                author_email=_text(entry, "author_email", where=where),
                author_website=_text(entry, "author_website", where=where),
                title=_text(entry, "title", where=where),
                body_source=body,
                body_html=render_comment(body),
                sanitizer_version=COMMENT_SANITIZER_VERSION,
                status=_choice(entry, "status", CommentStatus, CommentStatus.APPROVED),
                created_at=created or datetime.now().astimezone(),
                source_key=key,
            ),
        )
    return True


def _text(meta: dict[str, Any], key: str, *, required: bool = False, where: str = "") -> str:
    value = meta.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        place = f"{where}: " if where else ""
        raise ContentError(f"{place}{key} must be {'a non-empty' if required else 'a'} string")
    return value.strip() if key != "body" else value


def _text_list(meta: dict[str, Any], key: str) -> list[str]:
    value = meta.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ContentError(f'{key} must be a list of strings, e.g. {key} = ["stretching"]')
    return value


def _choice(meta: dict[str, Any], key: str, enum: Any, default: Any) -> Any:
    value = meta.get(key, str(default))
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(str(m)) for m in enum)
        raise ContentError(f"{key} = {value!r} must be one of {allowed}") from None


def _moment(meta: dict[str, Any], key: str, settings: Settings) -> datetime | None:
    """Read a TOML date or datetime; one without an offset is in the site's time zone."""
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(12, 0))
    if not isinstance(value, datetime):
        raise ContentError(f"{key} must be a TOML date or date-time, e.g. {key} = 2017-05-10T09:30:00")
    return value if value.tzinfo else value.replace(tzinfo=settings.zone)
