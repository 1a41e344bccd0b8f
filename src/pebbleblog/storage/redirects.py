"""The redirects table: old addresses of imported content and what they lead to now."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from pebbleblog.models import Redirect, RedirectKind
from pebbleblog.storage.database import Connection, from_timestamp, to_timestamp


async def add_redirect(tx: Connection, redirect: Redirect, now: datetime) -> bool:
    """Store a redirect unless its old path is already taken; tell whether it was added."""
    changed = await tx.execute(
        "INSERT INTO redirects (old_path, target_kind, target_key, source, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (old_path) DO NOTHING",
        (
            redirect.old_path,
            str(redirect.kind),
            redirect.key,
            redirect.source,
            to_timestamp(redirect.created_at or now),
        ),
    )
    return changed > 0


async def get_redirect(conn: Connection, old_path: str) -> Redirect | None:
    """Return the redirect stored for ``old_path``."""
    row = await conn.fetch_one("SELECT * FROM redirects WHERE old_path = ?", (old_path,))
    return None if row is None else _redirect(row)


async def list_redirects(conn: Connection) -> list[Redirect]:
    """Return every redirect, by old path."""
    return [_redirect(r) for r in await conn.fetch_all("SELECT * FROM redirects ORDER BY old_path")]


def _redirect(row: sqlite3.Row) -> Redirect:
    return Redirect(
        old_path=row["old_path"],
        kind=RedirectKind(row["target_kind"]),
        key=row["target_key"],
        source=row["source"],
        created_at=from_timestamp(row["created_at"]),
    )
