"""The change watch: every commit, by any connection or process, is seen at the next check."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from starlette.testclient import TestClient

from pebbleblog.settings import Settings
from pebbleblog.storage import Database
from pebbleblog.storage.changes import ChangeWatch

# unix VFS: the locks start at byte 120 of the -shm file, 8 of them, then this one
WAL_INDEX_DMS_BYTE = 128
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


VICTIM = """
import sqlite3, sys
from pathlib import Path
from pebbleblog.storage.changes import ChangeWatch

path = Path(sys.argv[1])
reader = sqlite3.connect(path, isolation_level=None)
reader.execute("SELECT count(*) FROM change_counters").fetchall()
watch = ChangeWatch(path)
print(watch.counters()["content"], flush=True)
sys.stdin.readline()  # meanwhile, another process opens the database and commits
for _ in range(20):
    reader.execute("SELECT count(*) FROM change_counters").fetchall()
print(watch.counters()["content"], flush=True)
watch.close()
"""


def test_a_watching_process_keeps_its_locks_when_another_opens_the_database(tmp_path: Path) -> None:
    """A server process (its connections and its watch) survives another process opening the database.

    That one must find the WAL index locked and leave it be; had the watch dropped the process's locks,
    it would reset the index and the server's next read would crash with SIGBUS."""
    path = tmp_path / "site.db"
    asyncio.run(_migrated(path))
    with subprocess.Popen(
        [sys.executable, "-c", VICTIM, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as victim:
        assert victim.stdin is not None and victim.stdout is not None
        before = int(victim.stdout.readline())
        # What SQLite checks when it opens a database: is the "dead man switch" byte of the index
        # locked by a process that has it open? Unlocked, it would reset the index.
        assert _locked_elsewhere(Path(f"{path}-shm"), WAL_INDEX_DMS_BYTE), "the index looks unused"
        _bump(path)  # the first connection of this process
        victim.stdin.write("\n")
        victim.stdin.flush()
        after = victim.stdout.readline()
        assert victim.wait(timeout=30) == 0, f"the watching process died (exit code {victim.returncode})"
    assert int(after) == before + 1


def _locked_elsewhere(path: Path, byte: int) -> bool:
    descriptor = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, byte)
    except OSError:
        return True
    else:
        fcntl.lockf(descriptor, fcntl.LOCK_UN, 1, byte)
        return False
    finally:
        os.close(descriptor)


async def _migrated(path: Path) -> None:
    async with Database.connected(path, "normal"):
        pass
