"""Load a site's ``content/`` folder (Markdown posts and pages, a comments file) into the database.

Every item carries a natural key (``content:<path>`` or ``content:comment:<id>``), checked inside
the same transaction that writes the item, so loading the same folder again (or from several workers
at once) adds only what is new and never duplicates anything. A broken file is reported and
skipped, and the rest loads.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import partial
from pathlib import Path
from typing import Any

from pebbleblog import moderation
from pebbleblog.blog import MAX_YEAR, MIN_YEAR, PostDraft, create_page, create_post
from pebbleblog.content.frontmatter import FrontMatterError, split_document
from pebbleblog.errors import BadRequest
from pebbleblog.models import CommentStatus, PageStatus, PostStatus
from pebbleblog.settings import Settings
from pebbleblog.storage import Database

log = logging.getLogger(__name__)
COMMENTS_FILE = "comments.toml"
POST_KEYS = {"title", "slug", "subtitle", "excerpt", "author", "status", "date", "tags", "comments_open"}
PAGE_KEYS = {"title", "slug", "status"}
COMMENT_KEYS = {
    "id",
    "post",
    "parent",
    "author_name",
    "author_email",
    "author_website",
    "title",
    "body",
    "date",
    "status",
}


class ContentError(ValueError):
    """One content item cannot be loaded; the message says what is wrong."""


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
        await _load_one(report, "posts", path, partial(_load_post, db, settings, root, path, now))
    for path in sorted((root / "pages").glob("*.md")):
        await _load_one(report, "pages", path, partial(_load_page, db, root, path, now))
    comments_file = root / COMMENTS_FILE
    if comments_file.is_file():
        for number, entry in enumerate(_comment_entries(comments_file, report), 1):
            where = f"{comments_file} (comment #{number})"
            await _load_one(report, "comments", where, partial(_load_comment, db, settings, entry, now))
    for problem in report.problems:
        log.warning("content not loaded: %s", problem)
    return report


async def _load_one(
    report: LoadReport, kind: str, where: Path | str, load: Callable[[], Awaitable[bool]]
) -> None:
    try:
        if await load():
            report.added[kind] += 1
    except BadRequest as exc:
        report.problems.append(f"{where}: {exc.message}")
    except (ContentError, FrontMatterError) as exc:
        report.problems.append(f"{where}: {exc}")
    except UnicodeDecodeError:
        report.problems.append(f"{where}: is not UTF-8 text; save it as UTF-8")
    except OSError as exc:
        report.problems.append(f"{where}: cannot be read ({exc.strerror or exc})")


async def _load_post(db: Database, settings: Settings, root: Path, path: Path, now: datetime) -> bool:
    meta, body = split_document(path.read_text(encoding="utf-8"))
    _known_keys(meta, POST_KEYS)
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
        comments_open=_flag(meta, "comments_open", True),
        source_key=f"content:{path.relative_to(root).as_posix()}",
    )
    return await create_post(db, draft, now) is not None


async def _load_page(db: Database, root: Path, path: Path, now: datetime) -> bool:
    meta, body = split_document(path.read_text(encoding="utf-8"))
    _known_keys(meta, PAGE_KEYS)
    page_id = await create_page(
        db,
        _text(meta, "title", required=True),
        body,
        now,
        slug=_text(meta, "slug") or path.stem,
        status=_choice(meta, "status", PageStatus, PageStatus.PUBLISHED),
        source_key=f"content:{path.relative_to(root).as_posix()}",
    )
    return page_id is not None


def _comment_entries(path: Path, report: LoadReport) -> list[dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        report.problems.append(f"{path}: cannot be read as TOML: {exc}")
        return []
    entries = data.get("comments", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        report.problems.append(f"{path}: write each comment as a [[comments]] table")
        return []
    return entries


async def _load_comment(db: Database, settings: Settings, entry: dict[str, Any], now: datetime) -> bool:
    _known_keys(entry, COMMENT_KEYS)
    ident = _text(entry, "id", required=True)
    parent = _text(entry, "parent")
    item = moderation.ImportedComment(
        source_key=f"content:comment:{ident}",
        post_slug=_text(entry, "post", required=True),
        author_name=_text(entry, "author_name", required=True),
        author_email=_text(entry, "author_email"),
        author_website=_text(entry, "author_website"),
        title=_text(entry, "title"),
        body=_text(entry, "body", required=True),
        created_at=_moment(entry, "date", settings) or now,
        status=_choice(entry, "status", CommentStatus, CommentStatus.APPROVED),
        parent_key=f"content:comment:{parent}" if parent else None,
        reasons=("loaded from content/comments.toml",),
    )
    return await moderation.import_comment(db, item) is not None


def _known_keys(meta: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(meta) - known)
    if unknown:
        raise ContentError(f"unknown key {unknown[0]!r}; the keys are: {', '.join(sorted(known))}")


def _text(meta: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = meta.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ContentError(f"{key} must be {'a non-empty' if required else 'a'} string")
    return value.strip() if key != "body" else value


def _text_list(meta: dict[str, Any], key: str) -> list[str]:
    value = meta.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ContentError(f'{key} must be a list of strings, e.g. {key} = ["stretching"]')
    return value


def _flag(meta: dict[str, Any], key: str, default: bool) -> bool:
    value = meta.get(key, default)
    if not isinstance(value, bool):
        raise ContentError(f"{key} must be true or false (without quotes)")
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
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ContentError(f"{key} must be a year from {MIN_YEAR} to {MAX_YEAR}, not {value.year}")
    return value if value.tzinfo else value.replace(tzinfo=settings.zone)
