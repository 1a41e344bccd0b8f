"""The pages table (static pages)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from pebbleblog.models import BodyFormat, Page, PageInput, PageStatus
from pebbleblog.storage.database import Connection, from_timestamp, to_timestamp


async def insert_page(tx: Connection, page: PageInput, now: datetime) -> int:
    """Insert a static page and return its id."""
    stamp = to_timestamp(now)
    page_id = await tx.insert(
        "INSERT INTO pages (slug, title, body_source, body_html, render_version, status,"
        " created_at, updated_at, source_key, body_format) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING id",
        (
            page.slug,
            page.title,
            page.body_source,
            page.body_html,
            page.render_version,
            str(page.status),
            to_timestamp(page.created_at) if page.created_at else stamp,
            to_timestamp(page.updated_at) if page.updated_at else stamp,
            page.source_key,
            str(page.body_format),
        ),
    )
    return page_id


async def get_page_id_by_source(conn: Connection, source_key: str) -> int | None:
    """Return the id of the page imported from ``source_key``, if any."""
    value = await conn.fetch_value("SELECT id FROM pages WHERE source_key = ?", (source_key,))
    return None if value is None else int(value)


async def get_page_id_by_slug(conn: Connection, slug: str) -> int | None:
    """Return the id of the page (in any state) with ``slug``."""
    value = await conn.fetch_value("SELECT id FROM pages WHERE slug = ?", (slug,))
    return None if value is None else int(value)


async def slug_exists(conn: Connection, slug: str) -> bool:
    """Tell whether any page (in any state) already uses ``slug``."""
    return await conn.fetch_value("SELECT 1 FROM pages WHERE slug = ?", (slug,)) is not None


async def get_published_page(conn: Connection, slug: str) -> Page | None:
    """Return the published page with ``slug``."""
    row = await conn.fetch_one("SELECT * FROM pages WHERE slug = ? AND status = 'published'", (slug,))
    return None if row is None else _page(row)


def _page(row: sqlite3.Row) -> Page:
    return Page(
        id=row["id"],
        slug=row["slug"],
        title=row["title"],
        body_source=row["body_source"],
        body_html=row["body_html"],
        render_version=row["render_version"],
        status=PageStatus(row["status"]),
        created_at=from_timestamp(row["created_at"]),
        updated_at=from_timestamp(row["updated_at"]),
        source_key=row["source_key"],
        body_format=BodyFormat(row["body_format"]),
    )


async def list_all_pages(conn: Connection) -> list[Page]:
    """Return every page in any state, by title."""
    return [_page(r) for r in await conn.fetch_all("SELECT * FROM pages ORDER BY title")]


async def get_page(conn: Connection, page_id: int) -> Page | None:
    """Return the page with ``page_id`` in any state."""
    row = await conn.fetch_one("SELECT * FROM pages WHERE id = ?", (page_id,))
    return None if row is None else _page(row)


async def update_page(tx: Connection, page_id: int, page: PageInput, now: datetime) -> None:
    """Replace a page's fields."""
    await tx.execute(
        "UPDATE pages SET slug = ?, title = ?, body_source = ?, body_html = ?, render_version = ?,"
        " status = ?, body_format = ?, updated_at = ? WHERE id = ?",
        (
            page.slug,
            page.title,
            page.body_source,
            page.body_html,
            page.render_version,
            str(page.status),
            str(page.body_format),
            to_timestamp(now),
            page_id,
        ),
    )


async def delete_page(tx: Connection, page_id: int) -> bool:
    """Delete a page; tell whether it existed."""
    await tx.execute("DELETE FROM old_slugs WHERE kind = 'page' AND target_id = ?", (page_id,))
    return await tx.execute("DELETE FROM pages WHERE id = ?", (page_id,)) > 0


async def list_published_pages(conn: Connection) -> list[Page]:
    """Return every published page, by slug."""
    rows = await conn.fetch_all("SELECT * FROM pages WHERE status = 'published' ORDER BY slug")
    return [_page(r) for r in rows]
