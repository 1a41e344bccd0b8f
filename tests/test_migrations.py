"""Migrations: each applies on top of the previous schema, is tracked in user_version, and is atomic."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from pebbleblog.storage import Database, migrations

ALL = migrations.available()


def test_migrations_are_numbered_without_gaps() -> None:
    assert [m.version for m in ALL] == list(range(1, len(ALL) + 1))
    assert all(m.statements() for m in ALL)


@pytest.mark.anyio
@pytest.mark.parametrize("migration", ALL, ids=[m.name for m in ALL])
async def test_each_migration_applies_on_the_previous_schema(
    tmp_path: Path, migration: migrations.Migration
) -> None:
    path = tmp_path / "step.db"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await migrations.apply(conn, target=migration.version - 1)
        assert await migrations.current_version(conn) == migration.version - 1
        applied = await migrations.apply(conn, target=migration.version)
        assert applied == [migration.version]
        assert await migrations.current_version(conn) == migration.version
        async with conn.execute("PRAGMA integrity_check") as cursor:
            assert (await cursor.fetchone())[0] == "ok"


@pytest.mark.anyio
async def test_opening_twice_applies_nothing_the_second_time(tmp_path: Path) -> None:
    for _ in range(2):
        db = Database(tmp_path / "site.db")
        await db.open()
        await db.close()
    async with aiosqlite.connect(tmp_path / "site.db") as conn:
        assert await migrations.current_version(conn) == len(ALL)
        assert await migrations.apply(conn) == []


@pytest.mark.anyio
async def test_the_schema_has_the_tables_later_features_need(tmp_path: Path) -> None:
    db = Database(tmp_path / "site.db")
    await db.open()
    try:
        names = {r[0] for r in await db.reader.fetch_all("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"posts", "pages", "tags", "post_tags", "comments", "site_settings"} <= names
        columns = {r[1] for r in await db.reader.fetch_all("PRAGMA table_info(comments)")}
        assert {
            "status",
            "author_name",
            "author_email",
            "author_website",
            "title",
            "body_source",
            "body_html",
            "parent_id",
            "created_at",
            "sanitizer_version",
        } <= columns
        assert await db.reader.fetch_value("PRAGMA journal_mode") == "wal"
        assert await db.reader.fetch_value("PRAGMA foreign_keys") == 1
    finally:
        await db.close()


@pytest.mark.anyio
async def test_a_failing_migration_leaves_the_previous_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = migrations.Migration(
        len(ALL) + 1, "9999_broken.sql", "CREATE TABLE half_done (x INTEGER);\nTHIS IS NOT SQL;\n"
    )
    monkeypatch.setattr(migrations, "available", lambda: [*ALL, broken])
    async with aiosqlite.connect(tmp_path / "site.db", isolation_level=None) as conn:
        with pytest.raises(sqlite3.OperationalError):
            await migrations.apply(conn)
        assert await migrations.current_version(conn) == len(ALL)
        async with conn.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'") as cursor:
            assert await cursor.fetchone() is None


@pytest.mark.anyio
async def test_rolling_back_a_transaction_writes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO tags (slug, name) VALUES ('a', 'A')")
            raise RuntimeError("boom")
    assert await db.reader.fetch_value("SELECT count(*) FROM tags") == 0


@pytest.mark.anyio
async def test_0003_keeps_existing_posts_and_pages_in_markdown(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "site.db", isolation_level=None) as conn:
        await migrations.apply(conn, target=2)
        stamp = "2024-01-01T00:00:00Z"
        await conn.execute(
            "INSERT INTO posts (slug, title, body_source, body_html, render_version, status, created_at,"
            " updated_at) VALUES ('a', 'A', 'x', '<p>x</p>', 1, 'published', ?, ?)",
            (stamp, stamp),
        )
        await conn.execute(
            "INSERT INTO pages (slug, title, body_source, body_html, render_version, status, created_at,"
            " updated_at) VALUES ('b', 'B', 'y', '<p>y</p>', 1, 'published', ?, ?)",
            (stamp, stamp),
        )
        await migrations.apply(conn, target=3)
        for table in ("posts", "pages"):
            async with conn.execute(f"SELECT body_format FROM {table}") as cursor:
                assert await cursor.fetchall() == [("markdown",)]
        with pytest.raises(sqlite3.IntegrityError):
            await conn.execute("UPDATE posts SET body_format = 'rst'")
        async with conn.execute("SELECT count(*) FROM redirects") as cursor:
            assert await cursor.fetchone() == (0,)


@pytest.mark.anyio
async def test_0007_copies_each_posts_listing_time_to_its_tags_and_keeps_it_in_step(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "site.db", isolation_level=None) as conn:
        await migrations.apply(conn, target=6)
        stamp = "2024-01-01T00:00:00Z"
        for post_id, status, published in [(1, "published", stamp), (2, "draft", stamp), (3, "draft", None)]:
            await conn.execute(
                "INSERT INTO posts (id, slug, title, body_source, body_html, render_version, status,"
                " published_at, created_at, updated_at) VALUES (?, ?, 'T', 'x', 'x', 1, ?, ?, ?, ?)",
                (post_id, f"p{post_id}", status, published, stamp, stamp),
            )
        await conn.execute("INSERT INTO tags (id, slug, name) VALUES (1, 't', 'T')")
        await conn.executemany("INSERT INTO post_tags (post_id, tag_id) VALUES (?, 1)", [(1,), (2,), (3,)])
        await migrations.apply(conn, target=7)

        async def listed() -> list[tuple[int, str | None]]:
            async with conn.execute("SELECT post_id, listed_at FROM post_tags ORDER BY post_id") as cursor:
                return [tuple(r) for r in await cursor.fetchall()]  # type: ignore[misc]

        assert await listed() == [(1, stamp), (2, None), (3, None)]  # drafts are never listed
        await conn.execute("UPDATE posts SET status = 'published' WHERE id = 2")
        await conn.execute("UPDATE posts SET published_at = '2025-05-05T05:05:05Z' WHERE id = 1")
        await conn.execute("UPDATE posts SET status = 'draft' WHERE id = 1")
        await conn.execute(
            "UPDATE posts SET status = 'scheduled', published_at = '2030-01-01T00:00:00Z' WHERE id = 3"
        )
        assert await listed() == [(1, None), (2, stamp), (3, "2030-01-01T00:00:00Z")]
        await conn.execute("DELETE FROM post_tags")
        await conn.execute(
            "INSERT INTO post_tags (post_id, tag_id) VALUES (3, 1)"
        )  # a writer that knows nothing
        assert await listed() == [(3, "2030-01-01T00:00:00Z")]
