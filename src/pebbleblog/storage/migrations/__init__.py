"""Numbered ``NNNN_name.sql`` migrations, applied in order and tracked in ``PRAGMA user_version``.

Each file runs inside one ``BEGIN IMMEDIATE`` transaction together with the version bump, so a crash
or a second worker starting at the same moment never leaves the schema half-migrated.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from importlib import resources

import aiosqlite


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """Split the file into complete SQL statements (triggers included)."""
        statements: list[str] = []
        buffer = ""
        for line in self.sql.splitlines(keepends=True):
            buffer += line
            if sqlite3.complete_statement(buffer):
                statements.append(buffer.strip())
                buffer = ""
        assert not buffer.strip() or buffer.strip().startswith("--"), (
            f"migration {self.name} ends with an incomplete statement"
        )
        return statements


def available() -> list[Migration]:
    """Return every migration shipped with the package, in order."""
    found = []
    for entry in resources.files(__package__).iterdir():
        name = entry.name
        if name.endswith(".sql"):
            version = int(name.split("_", 1)[0])
            found.append(Migration(version, name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    assert [m.version for m in found] == list(range(1, len(found) + 1)), (
        "migrations must be numbered 0001, 0002, ... without gaps"
    )
    return found


async def current_version(conn: aiosqlite.Connection) -> int:
    """Return the schema version recorded in the database."""
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def apply(conn: aiosqlite.Connection, target: int | None = None) -> list[int]:
    """Apply pending migrations up to ``target`` (default: all); return the versions applied."""
    applied = []
    known = available()
    found = await current_version(conn)
    if found > known[-1].version:
        raise RuntimeError(
            f"the database is at schema version {found}, newer than this pebbleblog "
            f"knows ({known[-1].version}); upgrade pebbleblog or restore a backup"
        )
    for migration in known:
        if target is not None and migration.version > target:
            break
        await conn.execute("BEGIN IMMEDIATE")
        try:
            if await current_version(conn) < migration.version:
                for statement in migration.statements():
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {migration.version}")
                applied.append(migration.version)
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()
    return applied
