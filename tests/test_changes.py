"""The change watch: every commit, by any connection or process, is seen at the next check."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from starlette.testclient import TestClient

from pebbleblog.settings import Settings
from pebbleblog.storage.changes import ChangeWatch

BUMP = "UPDATE change_counters SET counter = counter + 1 WHERE name = ?"


def _bump(path: Path, name: str = "content") -> None:
    with closing(sqlite3.connect(path)) as other:
        other.execute(BUMP, (name,))
        other.commit()


def test_every_commit_elsewhere_is_seen_at_the_next_check(client: TestClient, settings: Settings) -> None:
    path = settings.database_path
    watch = ChangeWatch(path)
    try:
        start = watch.counters()["content"]
        for number in range(1, 41):
            if number == 20:  # the log starts again from its first frame after a full checkpoint
                with closing(sqlite3.connect(path)) as other:
                    other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            _bump(path)
            assert watch.counters()["content"] == start + number
            assert watch.counters()["content"] == start + number  # and stays, with nothing new
        subprocess.run(  # another process, as a second worker or the CLI would be
            [sys.executable, "-c", f"import sqlite3; c = sqlite3.connect({str(path)!r});"
             f" c.execute({BUMP!r}, ('settings',)); c.commit()"],
            check=True,
        )  # fmt: skip
        counters = watch.counters()
        assert counters["content"] == start + 40 and counters["settings"] >= 1
    finally:
        watch.close()


def test_the_database_is_asked_only_after_a_commit(client: TestClient, settings: Settings) -> None:
    watch = ChangeWatch(settings.database_path)
    statements: list[str] = []
    try:
        watch.counters()
        watch._conn.set_trace_callback(statements.append)
        for _ in range(100):
            watch.counters()
        assert statements == []
        _bump(settings.database_path)
        watch.counters()
        assert any("change_counters" in sql for sql in statements)
    finally:
        watch.close()


def test_a_database_not_in_wal_mode_is_watched_too(tmp_path: Path) -> None:
    path = tmp_path / "rollback.db"
    with closing(sqlite3.connect(path)) as setup:
        setup.execute("PRAGMA journal_mode = DELETE")
        setup.execute("CREATE TABLE change_counters (name TEXT PRIMARY KEY, counter INT, changed_at TEXT)")
        setup.execute("INSERT INTO change_counters VALUES ('content', 0, ''), ('settings', 0, '')")
        setup.commit()
    watch = ChangeWatch(path)
    try:
        assert watch.counters()["content"] == 0
        for number in range(1, 4):
            _bump(path)
            assert watch.counters()["content"] == number
    finally:
        watch.close()
