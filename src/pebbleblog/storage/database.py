"""Connections: one writer serialised by a lock inside ``BEGIN IMMEDIATE``, one reader."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from pebbleblog.models import parse_utc_text, utc_text
from pebbleblog.storage import migrations
from pebbleblog.storage.changes import ChangeWatch

log = logging.getLogger(__name__)
Params = Sequence[Any] | dict[str, Any]
BUSY_TIMEOUT_MS = 10_000
# [server] durability -> PRAGMA synchronous. In WAL mode NORMAL syncs the log only at checkpoints: a
# commit survives a crash of the process (it is in the operating system's cache) but not
# necessarily a power cut. FULL syncs the log at every commit, so a commit survives a power cut too.
SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}


# The stored form of a moment is the one text form of pebbleblog.models.
to_timestamp = utc_text
from_timestamp = parse_utc_text


class Connection:
    """A thin, typed face on an aiosqlite connection: rows come back as sqlite3.Row."""

    def __init__(self, raw: aiosqlite.Connection) -> None:
        self._raw = raw

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run a query and return every row."""
        # One trip to aiosqlite's thread; execute + fetchall + close on a cursor would be three.
        return list(await self._raw.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """Run a query and return its first row, or None."""
        rows = await self._raw.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        """Run a query and return the first column of its first row, or None."""
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement and return how many rows it changed."""
        cursor = await self._raw.execute(sql, params)  # one trip; the cursor needs no closing trip
        return int(cursor.rowcount)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an ``INSERT ... RETURNING id`` and return the new row's id."""
        value = await self.fetch_value(sql, params)
        assert value is not None, "an insert must end with RETURNING id"
        return int(value)

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        """Run a statement once per parameter set."""
        await self._raw.executemany(sql, rows)


class Database:
    """The site's SQLite database: open it, read from it, write to it one transaction at a time."""

    def __init__(self, path: Path, durability: str = "normal") -> None:
        assert durability in SYNCHRONOUS, f"durability must be one of {sorted(SYNCHRONOUS)}"
        self.path = path
        self.durability = durability
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._watch: ChangeWatch | None = None

    async def open(self) -> None:
        """Connect, set the pragmas and apply any pending migrations."""
        self._writer = await self._connect()
        await self._writer.execute("PRAGMA journal_mode = WAL")
        await migrations.apply(self._writer)
        self._reader = await self._connect()

    async def close(self) -> None:
        """Close both connections, then the change watch (if one was made): closing it last keeps
        SQLite's locks on the WAL index while any connection of this process is open."""
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def watch(self) -> ChangeWatch:
        """Return the watch that notices commits by any process, made on first use."""
        if self._watch is None:
            self._watch = ChangeWatch(self.path)
        return self._watch

    @classmethod
    @asynccontextmanager
    async def connected(cls, path: Path, durability: str = "normal") -> AsyncIterator[Database]:
        """Open (and migrate) the database at ``path`` for the block, then close it, even on error."""
        db = cls(path, durability)
        try:
            await db.open()
            yield db
        finally:
            await db.close()

    @property
    def reader(self) -> Connection:
        """Return the connection for reads (sees every committed write)."""
        assert self._reader is not None, "Database.open() was not called"
        return Connection(self._reader)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """Hold the single writer inside BEGIN IMMEDIATE; commit on success, roll back on error."""
        assert self._writer is not None, "Database.open() was not called"
        async with self._write_lock:
            await self._end_stale_transaction()
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                yield Connection(self._writer)
                await self._writer.commit()
            except BaseException:
                await self._writer.rollback()  # nothing to undo if BEGIN itself failed
                raise

    async def write_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """Run one writing statement as its own transaction and return its first row, or None.

        SQLite makes a single statement atomic and durable by itself: without BEGIN and COMMIT the
        write lock is held for one trip to the database thread instead of three, and that lock is
        what sets how many comments a second can be stored.
        """
        assert self._writer is not None, "Database.open() was not called"
        async with self._write_lock:
            await self._end_stale_transaction()
            return await Connection(self._writer).fetch_one(sql, params)

    async def _end_stale_transaction(self) -> None:
        # A transaction cut off between its statements (its task cancelled while a statement ran on
        # the database thread) can leave the writer inside it; a statement run now would join it and
        # never be committed.
        assert self._writer is not None, "Database.open() was not called"
        if self._writer.in_transaction:
            log.warning("rolling back a transaction left open on the writer")
            await self._writer.rollback()

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[self.durability]}")
        return conn
