"""Noticing writes made by any connection, in any process, for the price of one small read.

``PRAGMA data_version`` changes when another connection commits to the database; only then are the
change counters (kept by the triggers of migration 0006) read again. The watch uses a plain,
synchronous sqlite3 connection that never writes: in WAL mode both statements read the shared
memory index and a page or two without waiting on a writer, cheaper than handing a query to
aiosqlite's thread on every request.

Cheaper still, and asked first: the header of the WAL index (the ``-shm`` file, laid out in
https://www.sqlite.org/walformat.html). Every commit, by any connection in any process, rewrites it
(its change counter, last frame and checksums) before the commit returns. So while its 48 bytes are
the ones seen at the last check, nothing was committed and the database is not asked at all. Any
other bytes (a commit, or a read torn by a writer halfway through) send the watch on to read the
counters, without the pragma. A server under load spent ~14 µs of CPU per request on the pragma (a
statement and a read transaction with its shared-memory locks); reading the header, mapped into
memory as SQLite maps it, costs well under one.

The watch keeps its own descriptor of the index file open until it is closed, which must come
after the process's other connections to the database (``Database.close`` does so). Closing any
descriptor of a file drops every POSIX lock the process holds on it, SQLite's included: had the
watch closed its descriptor once the map was made, another process opening the database would have
found the index unlocked, reset it (truncating the file to 3 bytes) and made every worker crash
with SIGBUS on its next read.
"""

from __future__ import annotations

import mmap
import os
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from pebbleblog.models import parse_utc_text, utc_text

WATCH_BUSY_TIMEOUT_MS = 1_000
WAL_INDEX_HEADER_BYTES = 48  # the first copy of the WAL-index header, the one a commit writes last


class ChangeWatch:
    """The change counters as this process last saw them, re-read only after another commit."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout = {WATCH_BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA query_only = ON")
        self._version: int | None = None
        self._counters: dict[str, int] = {}
        self._changed_at = ""
        self._index_fd, self._wal_index = _open_wal_index(path, self._conn)
        self._header_seen = b""

    def counters(self) -> dict[str, int]:
        """Return the current counters: {'content': n, 'settings': m}."""
        if self._wal_index is not None:  # a commit since the last check rewrote the header
            header = self._wal_index[:WAL_INDEX_HEADER_BYTES]
            if header != self._header_seen:
                # Kept before the read: a commit between the two is seen again at the next check.
                self._header_seen = header
                self._read_counters()
            return self._counters
        version = self._value("PRAGMA data_version")
        if version != self._version:
            self._read_counters()
            self._version = version
        return self._counters

    def _read_counters(self) -> None:
        rows = self._conn.execute("SELECT name, counter, changed_at FROM change_counters").fetchall()
        self._counters = {str(name): int(counter) for name, counter, _ in rows}
        self._changed_at = max((str(row[2]) for row in rows), default="")

    def last_modified(self, now: datetime) -> datetime:
        """Return when what public pages show last changed: a write, or a scheduled post falling due."""
        self.counters()
        due = self._value(
            "SELECT max(published_at) FROM posts WHERE status <> 'draft' AND published_at <= ?",
            (utc_text(now),),
        )
        return parse_utc_text(max(self._changed_at, str(due or ""), "1970-01-01T00:00:00Z"))

    def next_scheduled(self, now: datetime) -> datetime | None:
        """Return when the next scheduled post falls due, or None."""
        value = self._value(
            "SELECT min(published_at) FROM posts WHERE status <> 'draft' AND published_at > ?",
            (utc_text(now),),
        )
        return None if value is None else parse_utc_text(str(value))

    def close(self) -> None:
        """Close the connection and the index file: after the process's other connections (see above)."""
        if self._wal_index is not None:
            self._wal_index.close()
            self._wal_index = None
        self._conn.close()
        if self._index_fd is not None:
            os.close(self._index_fd)
            self._index_fd = None

    def _value(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]


def _open_wal_index(path: Path, conn: sqlite3.Connection) -> tuple[int | None, mmap.mmap | None]:
    """Open the database's WAL index and map its header; (None, None) if it has none (not in WAL mode).

    The descriptor is returned even when the map cannot be made: closing it now would drop SQLite's
    locks on the file (see the module's docstring). SQLite maps the same file; its connections keep
    it open, so it is never truncated under the map while they hold their locks."""
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        return None, None
    conn.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchall()  # a read: the index now exists
    try:
        descriptor = os.open(f"{path}-shm", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:  # no index file
        return None, None
    try:
        return descriptor, mmap.mmap(descriptor, WAL_INDEX_HEADER_BYTES, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # one too short to hold a header
        return descriptor, None
