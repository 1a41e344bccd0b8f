"""Maintenance SQL: online backup, integrity, schema version, counts, and links to uploaded files.

These functions use plain :mod:`sqlite3` connections that never migrate anything, so ``backup`` and
``check`` can look at a database as it is (older, newer or broken) while the site keeps serving.
Only :func:`ping` is async: it runs on the app's own reader, for the health endpoint.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from pebbleblog.storage.database import BUSY_TIMEOUT_MS, Connection

# Tables counted in a backup's manifest (and after a restore, to say what came back).
COUNTED_TABLES = ("posts", "pages", "comments", "users")


@contextmanager
def opened(path: Path) -> Iterator[sqlite3.Connection]:
    """Open an existing database file without creating or migrating it; close it after the block."""
    if not path.is_file():
        raise FileNotFoundError(2, "no database file", str(path))
    with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)) as conn:
        yield conn


def copy_online(source: sqlite3.Connection, destination: Path) -> None:
    """Copy a live database to ``destination`` in one read transaction (a consistent snapshot).

    In WAL mode that read never blocks the site's writer, and copying every page in one step means
    a write during the copy cannot make SQLite start the copy over.
    """
    with closing(sqlite3.connect(destination)) as copy:
        source.backup(copy, pages=-1)


def copy_file(source: Path, destination: Path) -> None:
    """Copy the database at ``source`` to ``destination`` consistently (a dry run works on such a copy)."""
    with opened(source) as conn:
        copy_online(conn, destination)


def integrity_problems(conn: sqlite3.Connection, limit: int = 20) -> list[str]:
    """Return what ``PRAGMA integrity_check`` finds (an empty list when the database is sound)."""
    rows = [str(row[0]) for row in conn.execute(f"PRAGMA integrity_check({int(limit)})")]
    return [] if rows == ["ok"] else rows


def schema_version(conn: sqlite3.Connection) -> int:
    """Return the schema version recorded in the database (``PRAGMA user_version``)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def count_rows(conn: sqlite3.Connection) -> dict[str, int]:
    """Return the number of rows in each counted table that exists."""
    present = {str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {
        table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        for table in COUNTED_TABLES
        if table in present
    }


def upload_links(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """Return (kind, slug or old path, text) for every post, page or redirect that may name an upload.

    For posts and pages the text is the rendered HTML (which holds the links); for redirects of kind
    ``upload`` it is the file's path inside uploads/.
    """
    rows = conn.execute(
        "SELECT 'post', slug, body_html || excerpt_html FROM posts WHERE body_html || excerpt_html LIKE"
        " '%/uploads/%' UNION ALL SELECT 'page', slug, body_html FROM pages WHERE body_html LIKE"
        " '%/uploads/%' UNION ALL SELECT 'redirect', old_path, target_key FROM redirects"
        " WHERE target_kind = 'upload'"
    )
    return [(str(kind), str(key), str(text)) for kind, key, text in rows]


def stored_navigation(conn: sqlite3.Connection) -> str | None:
    """Return the navigation links saved in the admin (JSON text), if any."""
    row = conn.execute("SELECT value FROM site_settings WHERE key = 'navigation'").fetchone()
    return None if row is None else str(row[0])


def release(conn: sqlite3.Connection) -> bool:
    """Fold the WAL back into the database file and leave WAL mode; False if another program has it open.

    SQLite can leave WAL mode only when no other connection is open, so this doubles as the test of
    whether a server is using the file. Afterwards the file stands alone (no -wal or -shm beside it).
    """
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    except sqlite3.OperationalError:  # "database is locked": someone else is connected
        return False
    return str(mode).lower() == "delete"


async def ping(conn: Connection) -> None:
    """Run the cheapest query that reads the database file (raises sqlite3.Error when it cannot)."""
    await conn.fetch_value("SELECT count(*) FROM change_counters")
