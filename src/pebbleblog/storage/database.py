"""Connections: one writer serialised by a lock inside ``BEGIN IMMEDIATE``, one reader."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from pebbleblog.models import parse_utc_text, utc_text
from pebbleblog.storage import migrations
from pebbleblog.storage.changes import ChangeWatch

log = logging.getLogger(__name__)
Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
# [server] durability -> PRAGMA synchronous. In WAL mode NORMAL syncs the log only at checkpoints: a
# commit survives a crash of the process (it is in the operating system's cache) but not
# necessarily a power cut. FULL syncs the log at every commit, so a commit survives a power cut too.
SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}
# The most single-statement writes committed together (Database.write_one).
MAX_GROUP = 64


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
        self._queued: list[_Queued] = []
        self._committer: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Connect, set the pragmas and apply any pending migrations."""
        self._writer = await self._connect()
        await self._writer.execute("PRAGMA journal_mode = WAL")
        await migrations.apply(self._writer)
        self._reader = await self._connect()

    async def close(self) -> None:
        """Close both connections, then the change watch (if one was made): closing it last keeps
        SQLite's locks on the WAL index while any connection of this process is open. Writes queued
        for a group commit are committed first."""
        if self._committer is not None:
            # Its callers hear of any failure; closing goes on whatever happened to it.
            await asyncio.gather(self._committer, return_exceptions=True)
            self._committer = None
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
        """Run one writing statement, atomic and committed, and return its first row, or None.

        Statements that arrive while the writer is busy are committed together (group commit): one
        trip to the database thread and one commit for all of them, instead of one each, which is
        what sets how many comments a second can be stored. Each still sees the rows of those before
        it. If one fails, the group is rolled back and each runs again alone, so an error is only
        its own statement's. A caller cancelled before its group starts leaves nothing written.
        """
        assert self._writer is not None, "Database.open() was not called"
        done: asyncio.Future[sqlite3.Row | None] = asyncio.get_running_loop().create_future()
        self._queued.append(_Queued(sql, params, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued())
        return await done

    async def _commit_queued(self) -> None:
        """Commit what is queued, a group at a time, until nothing is."""
        assert self._writer is not None, "Database.open() was not called"
        while self._queued:
            async with self._write_lock:
                waiting = [q for q in self._queued if not q.done.done()]
                group, self._queued = waiting[:MAX_GROUP], waiting[MAX_GROUP:]
                if not group:
                    continue
                try:
                    await self._end_stale_transaction()
                    outcomes = await _on_thread(self._writer, partial(_commit_group, group=group))
                except asyncio.CancelledError:
                    for queued in group:
                        queued.done.cancel()
                    raise
                except Exception as exc:  # the connection itself failed
                    outcomes = [exc] * len(group)
            for queued, outcome in zip(group, outcomes, strict=True):
                if queued.done.done():  # its caller stopped waiting
                    continue
                if isinstance(outcome, Exception):
                    queued.done.set_exception(outcome)
                else:
                    queued.done.set_result(outcome)

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


@dataclass(frozen=True, slots=True)
class _Queued:
    """A statement waiting for its group's commit, and the future its caller awaits."""

    sql: str
    params: Params
    done: asyncio.Future[sqlite3.Row | None]


async def _on_thread(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work`` with the sqlite3 connection on ``conn``'s own thread, in turn with its statements.

    aiosqlite's executemany and backup are made this way; it has no public call that runs a function.
    """
    result: T = await conn._execute(work, conn._conn)  # type: ignore[no-untyped-call]
    return result


def _commit_group(conn: sqlite3.Connection, group: Sequence[_Queued]) -> list[sqlite3.Row | None | Exception]:
    """Run ``group`` on the database thread in one transaction; if a statement fails, roll it back and
    run each alone in its own. Return each statement's first row (None if it has none) or its error."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:  # the write lock not had within the busy timeout: none can run
        return [exc] * len(group)
    try:
        rows: list[sqlite3.Row | None | Exception] = [_first_row(conn, q) for q in group]
        conn.execute("COMMIT")
        return rows
    except Exception as exc:  # the first to fail (a bad binding too) stops the group: none runs outside it
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if len(group) == 1:
            return [exc]
    outcomes: list[sqlite3.Row | None | Exception] = []
    for queued in group:
        try:
            outcomes.append(_first_row(conn, queued))
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def _first_row(conn: sqlite3.Connection, queued: _Queued) -> sqlite3.Row | None:
    return next(iter(conn.execute(queued.sql, queued.params).fetchall()), None)
