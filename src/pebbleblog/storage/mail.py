"""The mail log: what happened to each notification, per recipient."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime

from pebbleblog.models import MailLogEntry, MailStatus
from pebbleblog.storage.database import Connection, from_timestamp, to_timestamp

_COLUMNS = "id, comment_id, recipient, status, detail, created_at"


async def insert_outcomes(
    tx: Connection, comment_id: int | None, outcomes: Iterable[tuple[str, MailStatus, str]], now: datetime
) -> None:
    """Record one row per (recipient, status, detail)."""
    stamp = to_timestamp(now)
    await tx.execute_many(
        "INSERT INTO mail_log (comment_id, recipient, status, detail, created_at) VALUES (?, ?, ?, ?, ?)",
        [(comment_id, recipient, str(status), detail, stamp) for recipient, status, detail in outcomes],
    )


async def list_problems_since(conn: Connection, since: datetime, limit: int) -> list[MailLogEntry]:
    """Return the failed and skipped notifications since ``since``, newest first."""
    rows = await conn.fetch_all(
        f"SELECT {_COLUMNS} FROM mail_log WHERE status != 'sent' AND created_at >= ?"
        " ORDER BY created_at DESC, id DESC LIMIT ?",
        (to_timestamp(since), limit),
    )
    return [_entry(r) for r in rows]


def _entry(row: sqlite3.Row) -> MailLogEntry:
    return MailLogEntry(
        id=row["id"],
        comment_id=row["comment_id"],
        recipient=row["recipient"],
        status=MailStatus(row["status"]),
        detail=row["detail"],
        created_at=from_timestamp(row["created_at"]),
    )
