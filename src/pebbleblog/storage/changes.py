"""Noticing writes made by any connection, in any process, for the price of one pragma.

``PRAGMA data_version`` changes when another connection commits to the database; only then are the
change counters (kept by the triggers of migration 0006) read again. The watch uses a plain,
synchronous sqlite3 connection that never writes: in WAL mode both statements read the shared
memory index and a page or two, microseconds without waiting on a writer, cheaper than handing a
query to aiosqlite's thread on every request.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from pebbleblog.storage.database import from_timestamp, to_timestamp

WATCH_BUSY_TIMEOUT_MS = 1_000


class ChangeWatch:
    """The change counters as this process last saw them, re-read only after another commit."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout = {WATCH_BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA query_only = ON")
        self._version: int | None = None
        self._counters: dict[str, int] = {}
        self._changed_at = ""

    def counters(self) -> dict[str, int]:
        """Return the current counters: {'content': n, 'settings': m}."""
        version = self._value("PRAGMA data_version")
        if version != self._version:
            rows = self._conn.execute("SELECT name, counter, changed_at FROM change_counters").fetchall()
            self._counters = {str(name): int(counter) for name, counter, _ in rows}
            self._changed_at = max((str(row[2]) for row in rows), default="")
            self._version = version
        return self._counters

    def last_modified(self, now: datetime) -> datetime:
        """Return when what public pages show last changed: a write, or a scheduled post falling due."""
        self.counters()
        due = self._value(
            "SELECT max(published_at) FROM posts WHERE status <> 'draft' AND published_at <= ?",
            (to_timestamp(now),),
        )
        return from_timestamp(max(self._changed_at, str(due or ""), "1970-01-01T00:00:00Z"))

    def next_scheduled(self, now: datetime) -> datetime | None:
        """Return when the next scheduled post falls due, or None."""
        value = self._value(
            "SELECT min(published_at) FROM posts WHERE status <> 'draft' AND published_at > ?",
            (to_timestamp(now),),
        )
        return None if value is None else from_timestamp(str(value))

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def _value(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]
