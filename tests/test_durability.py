"""Durability: SIGKILL at random moments never loses an acknowledged comment, never corrupts the
database, and never leaves it half-migrated or half-moderated.

Real parts throughout: ``pebbleblog serve`` (uvicorn, two workers) on a real SQLite file, comments
posted by a separate client process (tests/durability_client.py), migrations and the moderation CLI
run in subprocesses. The kill moments come from a seeded random generator, so a failing run can be
repeated with the same choices (the interleaving of threads still varies).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path

import aiosqlite
import pytest
from starlette.testclient import TestClient

from pebbleblog import cli, create_app, load_settings
from pebbleblog.settings import SettingsError
from pebbleblog.storage import Database, migrations
from pebbleblog.storage.maintenance import copy_file
from tests.browser.conftest import RELAXED_COMMENTS, copy_example_site
from tests.conftest import write_config

SEED = 20240601
# SIGKILLs of a serving server: at least 20 (the bar); DURABILITY_KILLS=200 for a longer run.
KILLS = max(20, int(os.environ.get("DURABILITY_KILLS", "20")))
CLIENT_THREADS = 4
POST_PATH = "/posts/low-back-hamstring-crossover-stretch/"
START_TIMEOUT = 30.0
CLIENT = Path(__file__).with_name("durability_client.py")
MARKER = re.compile(r"Durability (m\d+x\d+x[0-9a-f]{32})")
ALL = migrations.available()
ATTEMPTS = 2  # kills per long transaction (each is then completed and checked)
MAX_ATTEMPTS = 8  # more, until one of them lands inside the transaction
LONG_ENOUGH = 0.2  # seconds the long transaction must hold the write lock for a kill to aim inside it
POSTS = 6000  # for the search migration to index (a few tenths of a second of work)
BATCH = 3000  # pending comments approved at once (a few tenths of a second of work)


# -- the [server] durability setting --------------------------------------------------------------


@pytest.mark.parametrize(("durability", "synchronous"), [("normal", 1), ("full", 2)])
def test_the_durability_setting_reaches_every_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durability: str, synchronous: int
) -> None:
    site = tmp_path / "site"
    write_config(site, f'[server]\ndurability = "{durability}"\n')
    levels: list[int] = []
    connect = Database._connect

    async def recording_connect(self: Database) -> aiosqlite.Connection:
        conn = await connect(self)
        async with conn.execute("PRAGMA synchronous") as cursor:
            row = await cursor.fetchone()
        levels.append(row[0] if row else -1)
        return conn

    monkeypatch.setattr(Database, "_connect", recording_connect)
    with TestClient(create_app(load_settings(site, environ={}))) as client:
        assert client.get("/").status_code == 200
    assert cli.main(["comments", str(site)]) == 0
    assert cli.main(["export", str(site), str(tmp_path / "export.json")]) == 0
    assert len(levels) >= 6 and set(levels) == {synchronous}, levels


@pytest.mark.parametrize("write", ["write_one", "transaction"])
def test_a_write_after_a_transaction_left_open_is_committed(tmp_path: Path, write: str) -> None:
    """A transaction cut off between statements (a task cancelled while its COMMIT ran) is rolled back
    before the next write, which would otherwise join it and never be committed."""
    path = tmp_path / "site.db"

    async def scenario() -> None:
        async with Database.connected(path) as db:
            raw = db._writer  # what such a cut-off transaction leaves on the writer
            assert raw is not None
            await raw.execute("BEGIN IMMEDIATE")
            await raw.execute("INSERT INTO tags (slug, name) VALUES ('cut-off', 'Cut off')")
            if write == "write_one":
                await db.write_one("INSERT INTO tags (slug, name) VALUES ('next', 'Next') RETURNING id")
            else:
                async with db.transaction() as tx:
                    await tx.execute("INSERT INTO tags (slug, name) VALUES ('next', 'Next')")

    asyncio.run(scenario())
    with closing(sqlite3.connect(path)) as conn:  # another connection: only what was committed
        assert [r[0] for r in conn.execute("SELECT slug FROM tags")] == ["next"]


_INSERT_TAG = "INSERT INTO tags (slug, name) VALUES (?, ?) RETURNING id, slug"


def _committed_tags(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:  # another connection: only what was committed
        return [r[0] for r in conn.execute("SELECT slug FROM tags ORDER BY id")]


async def _traced(db: Database) -> list[str]:
    """Return the list the writer's statements are appended to as they run."""
    statements: list[str] = []
    assert db._writer is not None
    await db._writer.set_trace_callback(statements.append)
    return statements


def test_writes_sent_at_once_are_committed_together_each_with_its_own_row(tmp_path: Path) -> None:
    """Group commit: thirty single-statement writes queued together take one transaction, not thirty,
    and each caller gets back its own row, committed once its await returns."""
    path = tmp_path / "site.db"
    slugs = [f"tag-{n}" for n in range(30)]

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        async with Database.connected(path) as db:
            statements = await _traced(db)
            rows = await asyncio.gather(*(db.write_one(_INSERT_TAG, (slug, slug.title())) for slug in slugs))
            committed = _committed_tags(path)
            return [row["slug"] for row in rows if row is not None], committed, statements

    returned, committed, statements = asyncio.run(scenario())
    assert returned == slugs and committed == slugs
    assert statements.count("BEGIN IMMEDIATE") == 1 and statements.count("COMMIT") == 1, statements


def test_a_failing_write_in_a_group_fails_alone_and_the_others_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "site.db"
    slugs = ["first", "taken", "third", "fourth"]

    async def scenario() -> list[object]:
        async with Database.connected(path) as db:
            await db.write_one(_INSERT_TAG, ("taken", "Taken"))
            writes = (db.write_one(_INSERT_TAG, (slug, slug.title())) for slug in slugs)
            return await asyncio.gather(*writes, return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert isinstance(outcomes[1], sqlite3.IntegrityError) and "UNIQUE" in str(outcomes[1])
    assert [o["slug"] for o in outcomes if isinstance(o, sqlite3.Row)] == ["first", "third", "fourth"]
    assert _committed_tags(path) == ["taken", "first", "third", "fourth"]


def test_a_write_that_cannot_be_bound_fails_alone_and_leaves_the_writer_free(tmp_path: Path) -> None:
    """A parameter SQLite cannot take (an integer over 64 bits) is that statement's error only: the
    group's other writes are kept and no transaction is left holding the write lock."""
    path = tmp_path / "site.db"

    async def scenario() -> list[object]:
        async with Database.connected(path) as db:
            writes = [
                db.write_one(_INSERT_TAG, ("first", "First")),
                db.write_one("INSERT INTO tags (id, slug, name) VALUES (?, 'huge', 'Huge')", (2**70,)),
                db.write_one(_INSERT_TAG, ("third", "Third")),
            ]
            outcomes = await asyncio.gather(*writes, return_exceptions=True)
            with closing(sqlite3.connect(path, timeout=0.1)) as other, other:  # the lock is free
                other.execute("INSERT INTO tags (slug, name) VALUES ('other', 'Other')")
            return outcomes

    outcomes = asyncio.run(scenario())
    assert isinstance(outcomes[1], OverflowError)
    assert [o["slug"] for o in outcomes if isinstance(o, sqlite3.Row)] == ["first", "third"]
    assert _committed_tags(path) == ["first", "third", "other"]


def test_a_write_cancelled_while_it_waits_for_the_writer_leaves_nothing(tmp_path: Path) -> None:
    """A request cut off (its client gone) while its write waits behind a transaction writes nothing;
    the writes queued with it are still committed."""
    path = tmp_path / "site.db"

    async def scenario() -> None:
        async with Database.connected(path) as db:
            release = asyncio.Event()

            async def long_transaction() -> None:
                async with db.transaction() as tx:
                    await tx.execute("INSERT INTO tags (slug, name) VALUES ('held', 'Held')")
                    await release.wait()

            holder = asyncio.create_task(long_transaction())
            await asyncio.sleep(0.05)
            cancelled = asyncio.create_task(db.write_one(_INSERT_TAG, ("cancelled", "Cancelled")))
            kept = asyncio.create_task(db.write_one(_INSERT_TAG, ("kept", "Kept")))
            await asyncio.sleep(0.05)
            cancelled.cancel()
            release.set()
            await holder
            row = await kept
            assert row is not None and row["slug"] == "kept"
            with pytest.raises(asyncio.CancelledError):
                await cancelled

    asyncio.run(scenario())
    assert _committed_tags(path) == ["held", "kept"]


def test_an_unknown_durability_is_refused_with_the_choices(tmp_path: Path) -> None:
    write_config(tmp_path / "site", '[server]\ndurability = "paranoid"\n')
    with pytest.raises(SettingsError, match="durability.*must be 'normal' or 'full'"):
        load_settings(tmp_path / "site", environ={})


# -- running and killing processes ----------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and everything it started (uvicorn's workers share its process group)."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


class Site:
    """``pebbleblog serve SITE --workers 2`` on a fixed port, started and SIGKILLed again and again."""

    def __init__(self, site_dir: Path, port: int) -> None:
        self.site_dir, self.port = site_dir, port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.startup_seconds: list[float] = []

    def start(self) -> None:
        """Start the server in its own process group (not waiting for it)."""
        self.starts += 1
        self.started_at = time.monotonic()
        self.log = self.site_dir.parent / f"serve-{self.starts}.log"
        command = [sys.executable, "-m", "pebbleblog", "serve", str(self.site_dir)]
        command += ["--port", str(self.port), "--workers", "2"]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_serving(self) -> None:
        """Wait until both workers have started and / answers 200; fail with the log otherwise."""
        assert self.process is not None, "start() first"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            started = self.log.read_text(errors="replace").count("Application startup complete.")
            if started >= 2 and _get_status(self.url + "/") == 200:
                self.startup_seconds.append(time.monotonic() - self.started_at)
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"start {self.starts} did not serve / with 200:\n{self.log.read_text()}")
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None, "start() first"
        _kill_group(self.process)
        self.process = None


@contextmanager
def _client(base_url: str, out_dir: Path) -> Iterator[dict[str, int]]:
    """Run the comment-posting client for the block; afterwards the dict holds its counts."""
    counts: dict[str, int] = {}
    command = [sys.executable, str(CLIENT), base_url, POST_PATH, str(out_dir), str(CLIENT_THREADS)]
    log_path = out_dir / "client.log"
    with open(log_path, "wb") as log:
        client = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log)
    try:
        yield counts
    finally:
        client.send_signal(signal.SIGTERM)
        out, _ = client.communicate(timeout=30)
        assert client.returncode == 0, log_path.read_text()
        counts.update(json.loads(out))


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _query(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path, timeout=10)) as db:
        return db.execute(sql, params).fetchall()


def _integrity(path: Path) -> str:
    return str(_query(path, "PRAGMA integrity_check")[0][0])


# -- 1. the server, killed while taking comments ---------------------------------------------------


def test_sigkill_never_loses_an_acknowledged_comment(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    site = Site(copy_example_site(tmp_path, RELAXED_COMMENTS), _free_port())
    out = tmp_path / "client"
    out.mkdir()
    acked_at_kill: list[int] = []
    startup_kills = 0
    site.start()
    try:
        site.wait_serving()
        with _client(site.url, out) as counts:
            for _ in range(KILLS):
                time.sleep(rng.uniform(0.2, 1.2))  # comments keep arriving from the client meanwhile
                site.kill()
                acked_at_kill.append(len(_lines(out / "acked")))
                if rng.random() < 0.25:  # now and then, kill it again while it is starting up
                    site.start()
                    time.sleep(rng.uniform(0.0, 1.5))
                    site.kill()
                    startup_kills += 1
                site.start()
                site.wait_serving()
            time.sleep(0.5)
        site.kill()
    finally:
        if site.process is not None:
            site.kill()

    acked, attempted = _lines(out / "acked"), set(_lines(out / "attempted"))
    database = site.site_dir / "pebbleblog.db"
    stored = Counter(
        m.group(1)
        for (body,) in _query(database, "SELECT body_source FROM comments")
        if (m := MARKER.fullmatch(str(body)))
    )
    print(
        f"\n{KILLS} kills while serving + {startup_kills} during startup; {len(acked)} comments "
        f"acknowledged, {sum(stored.values())} stored, {len(attempted)} attempted; client: {counts}; "
        f"start to serving: {min(site.startup_seconds):.1f}-{max(site.startup_seconds):.1f} s"
    )
    missing = [m for m in acked if stored[m] != 1]
    assert not missing, f"{len(missing)} acknowledged comments are not stored exactly once: {missing[:5]}"
    assert len(set(acked)) == len(acked)
    assert set(stored) <= attempted and max(stored.values()) == 1, "a comment was stored twice"
    assert _integrity(database) == "ok"
    assert _query(database, "PRAGMA foreign_key_check") == []
    # Every answer the server gave was a success: no 4xx/5xx, even right after a restart.
    assert set(counts) <= {"acked", "connection errors"}, counts
    # The kills hit a server that was taking comments: most intervals between kills saw new ones.
    grew = sum(1 for before, after in zip([0, *acked_at_kill], acked_at_kill, strict=False) if after > before)
    assert grew >= KILLS * 3 // 4, f"comments were acknowledged in only {grew} of {KILLS} intervals"


# -- 2. and 3. a subprocess killed inside its one big write transaction ----------------------------


def _write_locked(path: Path) -> bool:
    """Tell whether another connection holds the database's write lock right now."""
    with closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as db:
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                return True
            raise
        db.execute("ROLLBACK")
        return False


def _longest_write(command: list[str], database: Path) -> float:
    """Run ``command`` to its end; return how long (seconds) its longest hold of the write lock lasted."""
    quiet = subprocess.DEVNULL
    longest, since = 0.0, None
    with subprocess.Popen(command, stdout=quiet, stderr=quiet, start_new_session=True) as process:
        try:
            deadline = time.monotonic() + 60
            while process.poll() is None:
                assert time.monotonic() < deadline, f"{command[3]} did not finish"
                now = time.monotonic()
                if _write_locked(database):
                    since = now if since is None else since
                    longest = max(longest, now - since)
                else:
                    since = None
                time.sleep(0.005)
        finally:
            _kill_group(process)
    return longest


def _kill_inside_write(command: list[str], database: Path, rng: random.Random, longest: float) -> bool:
    """Run ``command``; once it has held the write lock for a while, SIGKILL it at a random moment
    within the first half of ``longest`` (what ``_longest_write`` measured for the same work).

    Return whether it still held the lock just before the kill (False: it finished first)."""
    quiet = subprocess.DEVNULL
    with subprocess.Popen(command, stdout=quiet, stderr=quiet, start_new_session=True) as process:
        try:
            held, since = 0, time.monotonic()
            deadline = since + 30
            while held < 3:  # three polls in a row: the long transaction, not a short one before it
                assert process.poll() is None, f"{command[3]} ended before it could be killed"
                assert time.monotonic() < deadline, f"{command[3]} never took the write lock"
                if _write_locked(database):
                    since = time.monotonic() if held == 0 else since
                    held += 1
                else:
                    held = 0
                time.sleep(0.005)
            kill_at = since + rng.uniform(0.1, 0.5) * longest
            time.sleep(max(0.0, kill_at - time.monotonic()))
            inside = process.poll() is None and _write_locked(database)
        finally:
            _kill_group(process)
        return inside


def _aimed_kills(
    prepare: Callable[[str], tuple[list[str], Path]], rng: random.Random, landed: Callable[[], bool]
) -> Iterator[tuple[bool, list[str], Path]]:
    """Time the long transaction of the command ``prepare`` makes in an uncut run, then SIGKILL fresh
    ones inside it: ATTEMPTS times, and more (up to MAX_ATTEMPTS) until ``landed()`` says one did.

    Yield (whether it still held the lock just before the kill, the command, its database)."""
    command, database = prepare("calibration")
    longest = _longest_write(command, database)
    assert longest >= LONG_ENOUGH, f"{command[3]} held the write lock for only {longest:.3f} s"
    print(f"\nthe long transaction: {longest:.2f} s")
    for attempt in range(MAX_ATTEMPTS):
        if attempt >= ATTEMPTS and landed():
            return
        command, database = prepare(f"site-{attempt}")
        yield _kill_inside_write(command, database, rng, longest), command, database


def _schema(path: Path) -> list[tuple[object, ...]]:
    return _query(path, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")


def _version(path: Path) -> int:
    return int(str(_query(path, "PRAGMA user_version")[0][0]))


async def _build_at(path: Path, version: int) -> None:
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await conn.execute("PRAGMA journal_mode = WAL")
        await migrations.apply(conn, target=version)


def test_sigkill_during_a_migration_leaves_the_old_or_the_new_schema(tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    # The search migration indexes every post, so a big posts table gives it a long transaction.
    slow = next(m.version for m in ALL if m.name.endswith("_search.sql"))
    references = {}
    for version in range(slow - 1, len(ALL) + 1):
        reference = tmp_path / f"reference-{version}.db"
        asyncio.run(_build_at(reference, version))
        references[version] = _schema(reference)
    old = tmp_path / "old.db"
    asyncio.run(_build_at(old, slow - 1))
    words = [f"word{n}" for n in range(3000)]
    stamp = "2024-01-01T00:00:00Z"
    with closing(sqlite3.connect(old)) as db, db:
        db.executemany(
            "INSERT INTO posts (slug, title, body_source, body_html, render_version, status, created_at,"
            " updated_at) VALUES (?, ?, ?, '', 1, 'published', ?, ?)",
            ((f"p{n}", f"Post {n}", " ".join(rng.choices(words, k=400)), stamp, stamp) for n in range(POSTS)),
        )
    posts = _query(old, "SELECT count(*) FROM posts")[0][0]

    def prepared(name: str) -> tuple[list[str], Path]:
        site = tmp_path / name
        write_config(site)
        database = site / "pebbleblog.db"
        copy_file(old, database)
        # Any command opening the database migrates it; `comments` is a harmless one.
        return [sys.executable, "-m", "pebbleblog", "comments", str(site)], database

    outcomes: list[tuple[bool, int]] = []

    def landed() -> bool:
        return any(inside and version < len(ALL) for inside, version in outcomes)

    for inside, command, database in _aimed_kills(prepared, rng, landed):
        version = _version(database)
        outcomes.append((inside, version))
        assert _integrity(database) == "ok"
        assert _schema(database) == references[version], f"half-migrated at version {version}"
        assert _query(database, "SELECT count(*) FROM posts")[0][0] == posts

        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        assert _version(database) == len(ALL) and _schema(database) == references[len(ALL)]
        assert _query(database, "SELECT count(*) FROM search_index")[0][0] == posts
        assert _integrity(database) == "ok"
    print(f"migration kills (inside the transaction, version after): {outcomes}")
    assert landed(), outcomes


def test_sigkill_during_a_bulk_approval_changes_all_or_none(tmp_path: Path) -> None:
    rng = random.Random(SEED + 2)
    base = tmp_path / "base.db"
    asyncio.run(_build_at(base, len(ALL)))
    stamp = "2024-01-01T00:00:00Z"
    with closing(sqlite3.connect(base)) as db, db:
        db.execute(
            "INSERT INTO posts (slug, title, body_source, body_html, render_version, status, created_at,"
            " updated_at, published_at) VALUES ('p', 'P', 'x', '<p>x</p>', 1, 'published', ?, ?, ?)",
            (stamp, stamp, stamp),
        )
        db.executemany(
            "INSERT INTO comments (post_id, status, author_name, body_source, body_html, sanitizer_version,"
            " created_at, reasons, commenter_token) VALUES (1, 'pending', ?, ?, '<p>x</p>', 1, ?, '[]', ?)",
            ((f"Reader {n}", f"Comment {n}", stamp, f"token-{n}") for n in range(BATCH)),
        )
    ids = [str(row[0]) for row in _query(base, "SELECT id FROM comments ORDER BY id")]

    def state(database: Path) -> tuple[dict[object, object], int]:
        rows = _query(database, "SELECT status, count(*) FROM comments GROUP BY status")
        statuses = {status: count for status, count in rows}
        trusted = int(str(_query(database, "SELECT count(*) FROM trusted_commenters")[0][0]))
        return statuses, trusted

    none, every = ({"pending": BATCH}, 0), ({"approved": BATCH}, BATCH)

    def prepared(name: str) -> tuple[list[str], Path]:
        site = tmp_path / name
        write_config(site)
        database = site / "pebbleblog.db"
        copy_file(base, database)
        return [sys.executable, "-m", "pebbleblog", "approve", str(site), *ids], database

    outcomes: list[tuple[bool, object]] = []

    def landed() -> bool:
        return any(inside and outcome == "none" for inside, outcome in outcomes)

    for inside, command, database in _aimed_kills(prepared, rng, landed):
        after = state(database)
        outcomes.append((inside, "none" if after == none else "all" if after == every else after))
        assert after in (none, every), f"half-moderated: {after}"
        assert _integrity(database) == "ok"

        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0 or after == every, result.stderr
        assert state(database) == every
    print(f"bulk approval kills (inside the transaction, outcome): {outcomes}")
    assert landed(), outcomes
