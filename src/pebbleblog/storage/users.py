"""Accounts, server-side sessions and failed sign-ins."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from pebbleblog.models import Role, Session, User
from pebbleblog.storage.database import Connection, from_timestamp, to_timestamp


async def insert_user(tx: Connection, username: str, password_hash: str, role: Role, now: datetime) -> int:
    """Create an account and return its id."""
    stamp = to_timestamp(now)
    return await tx.insert(
        "INSERT INTO users (username, password_hash, role, created_at, password_changed_at)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        (username, password_hash, str(role), stamp, stamp),
    )


async def get_user_by_name(conn: Connection, username: str) -> User | None:
    """Return the account called ``username`` (exact, case-sensitive)."""
    row = await conn.fetch_one(f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?", (username,))
    return None if row is None else _user(row)


async def get_user(conn: Connection, user_id: int) -> User | None:
    """Return the account with ``user_id``."""
    row = await conn.fetch_one(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
    return None if row is None else _user(row)


async def list_users(conn: Connection) -> list[User]:
    """Return every account, by name."""
    rows = await conn.fetch_all(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username")
    return [_user(r) for r in rows]


async def count_owners(conn: Connection) -> int:
    """Return how many owner accounts exist."""
    return int(await conn.fetch_value("SELECT count(*) FROM users WHERE role = 'owner'"))


async def delete_user(tx: Connection, user_id: int) -> bool:
    """Delete an account (its sessions go with it); tell whether it existed."""
    return await tx.execute("DELETE FROM users WHERE id = ?", (user_id,)) > 0


async def set_password_hash(tx: Connection, user_id: int, password_hash: str, now: datetime | None) -> None:
    """Store a new password hash; with ``now``, record it as a password change."""
    if now is None:  # a rehash with new parameters, not a change
        await tx.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
    else:
        await tx.execute(
            "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
            (password_hash, to_timestamp(now), user_id),
        )


async def insert_session(
    tx: Connection, token_hash: str, user_id: int, csrf_token: str, now: datetime
) -> None:
    """Record a new signed-in session."""
    stamp = to_timestamp(now)
    await tx.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (token_hash, user_id, csrf_token, stamp, stamp),
    )


async def get_session(conn: Connection, token_hash: str) -> Session | None:
    """Return the session with ``token_hash`` and its user."""
    row = await conn.fetch_one(
        f"SELECT s.token_hash, s.csrf_token, s.created_at AS s_created, s.last_seen_at, {_USER_COLUMNS_U}"
        " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
        (token_hash,),
    )
    if row is None:
        return None
    return Session(
        token_hash=row["token_hash"],
        user=_user(row),
        csrf_token=row["csrf_token"],
        created_at=from_timestamp(row["s_created"]),
        last_seen_at=from_timestamp(row["last_seen_at"]),
    )


async def touch_session(tx: Connection, token_hash: str, now: datetime) -> None:
    """Record that a session was used now (its idle time restarts)."""
    await tx.execute(
        "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", (to_timestamp(now), token_hash)
    )


async def delete_session(tx: Connection, token_hash: str) -> None:
    """End one session."""
    await tx.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))


async def delete_sessions_of(tx: Connection, user_id: int, keep: str = "") -> None:
    """End every session of a user (but ``keep``, the one making the change)."""
    await tx.execute("DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?", (user_id, keep))


async def record_login_failure(tx: Connection, username: str, client_hash: str, now: datetime) -> None:
    """Remember a failed sign-in."""
    await tx.execute(
        "INSERT INTO login_failures (username, client_hash, failed_at) VALUES (?, ?, ?)",
        (username, client_hash, to_timestamp(now)),
    )


async def count_login_failures(
    conn: Connection, username: str, client_hash: str, since: datetime
) -> tuple[int, int]:
    """Return the failed sign-ins since ``since`` for the username and for the client."""
    stamp = to_timestamp(since)
    by_name = await conn.fetch_value(
        "SELECT count(*) FROM login_failures WHERE username = ? AND failed_at >= ?", (username, stamp)
    )
    by_client = await conn.fetch_value(
        "SELECT count(*) FROM login_failures WHERE client_hash = ? AND failed_at >= ?", (client_hash, stamp)
    )
    return int(by_name), int(by_client)


async def clear_login_failures(tx: Connection, username: str) -> None:
    """Forget an account's failed sign-ins after it signed in (other accounts' stay counted)."""
    await tx.execute("DELETE FROM login_failures WHERE username = ?", (username,))


_USER_COLUMNS = "id, username, password_hash, role, created_at, password_changed_at"
_USER_COLUMNS_U = "u.id, u.username, u.password_hash, u.role, u.created_at, u.password_changed_at"


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        password_hash=row["password_hash"],
        role=Role(row["role"]),
        created_at=from_timestamp(row["created_at"]),
        password_changed_at=from_timestamp(row["password_changed_at"]),
    )
