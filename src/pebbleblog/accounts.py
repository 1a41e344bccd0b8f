"""Owner and moderator accounts: passwords (Argon2), sign-in with throttling, server-side sessions."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pebbleblog.errors import PebbleError
from pebbleblog.models import Role, Session, User
from pebbleblog.settings import Settings
from pebbleblog.storage import Database
from pebbleblog.storage import users as store

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,40}")
_hasher = PasswordHasher()  # Argon2id with the library's current (RFC 9106 low-memory) parameters


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown usernames against, so they take as long as known ones (made on first use:
    Argon2 is slow on purpose, and every worker and CLI command would otherwise pay for it at import)."""
    return _hasher.hash(secrets.token_hex(8))


class AccountError(PebbleError):
    """An account cannot be created or changed; the message says why."""

    title = "Account not changed"


class SignInRefused(PebbleError):
    """A sign-in failed (wrong details, or too many failures)."""

    title = "Sign-in refused"

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: the cookie value (only its hash is stored) and the session."""

    token: str
    session: Session


def password_problem(username: str, password: str) -> str | None:
    """Return why ``password`` is too weak for ``username``, or None."""
    if len(password) < MIN_PASSWORD:
        return f"The password must be at least {MIN_PASSWORD} characters long."
    if len(password) > MAX_PASSWORD:
        return f"The password must be at most {MAX_PASSWORD} characters long."
    lowered = password.casefold()
    if username.casefold() in lowered or lowered in username.casefold():
        return "The password must not contain the username."
    if len(set(password)) < 4:
        return "The password needs more different characters."
    return None


async def create_user(db: Database, username: str, password: str, role: Role, now: datetime) -> User:
    """Create an account after checking the username and the password's strength."""
    if not _USERNAME.fullmatch(username):
        raise AccountError("A username is 1 to 40 letters, digits, or . _ - @ characters.")
    problem = password_problem(username, password)
    if problem:
        raise AccountError(problem)
    password_hash = await anyio.to_thread.run_sync(_hasher.hash, password)
    async with db.transaction() as tx:
        if await store.get_user_by_name(tx, username) is not None:
            raise AccountError(f"There is already an account called {username!r}.")
        user_id = await store.insert_user(tx, username, password_hash, role, now)
        user = await store.get_user(tx, user_id)
    assert user is not None, "the account was just created"
    return user


async def set_password(
    db: Database, username: str, password: str, now: datetime, keep_session: str = ""
) -> None:
    """Change a password and end every other session of that account."""
    user = await store.get_user_by_name(db.reader, username)
    if user is None:
        raise AccountError(f"There is no account called {username!r}.")
    problem = password_problem(username, password)
    if problem:
        raise AccountError(problem)
    password_hash = await anyio.to_thread.run_sync(_hasher.hash, password)
    async with db.transaction() as tx:
        await store.set_password_hash(tx, user.id, password_hash, now)
        await store.delete_sessions_of(tx, user.id, keep=keep_session)


async def list_users(db: Database) -> list[User]:
    """Return every account."""
    return await store.list_users(db.reader)


async def delete_user(db: Database, user_id: int, acting: User) -> None:
    """Remove an account (never the last owner, never oneself)."""
    async with db.transaction() as tx:
        target = await store.get_user(tx, user_id)
        if target is None:
            raise AccountError("That account does not exist any more.")
        if target.id == acting.id:
            raise AccountError("You cannot remove your own account.")
        if target.is_owner and await store.count_owners(tx) <= 1:
            raise AccountError("The last owner cannot be removed.")
        await store.delete_user(tx, user_id)


async def sign_in(
    db: Database, settings: Settings, username: str, password: str, client_hash: str, now: datetime
) -> SignedIn:
    """Check the password (off the event loop), throttled per username and per client."""
    await _count_attempt(db, settings, username, client_hash, now)
    user = await store.get_user_by_name(db.reader, username)
    if not await _verify(user.password_hash if user else _dummy_hash(), password) or user is None:
        raise SignInRefused("The username or password is not right.", status_code=401)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    async with db.transaction() as tx:
        await store.clear_login_failures(tx, username)
        if _hasher.check_needs_rehash(user.password_hash):
            await store.set_password_hash(
                tx, user.id, await anyio.to_thread.run_sync(_hasher.hash, password), None
            )
        await store.insert_session(tx, session_hash(token), user.id, csrf, now)
        session = await store.get_session(tx, session_hash(token))
    assert session is not None, "the session was just created"
    return SignedIn(token, session)


async def confirm_password(
    db: Database, settings: Settings, user: User, password: str, client_hash: str, now: datetime
) -> bool:
    """Check a signed-in user's password again (to change it), throttled like a sign-in."""
    await _count_attempt(db, settings, user.username, client_hash, now)
    if not await _verify(user.password_hash, password):
        return False
    async with db.transaction() as tx:
        await store.clear_login_failures(tx, user.username)
    return True


async def _count_attempt(
    db: Database, settings: Settings, username: str, client_hash: str, now: datetime
) -> None:
    """Refuse when too many attempts failed; else count this one as failed until it proves right.

    Counting before the (slow) password check serialises parallel attempts through the writer, so
    they cannot slip past the limit.
    """
    rules = settings.admin
    since = now - timedelta(minutes=rules.login_window_minutes)
    async with db.transaction() as tx:
        by_name, by_client = await store.count_login_failures(tx, username, client_hash, since)
        if max(by_name, by_client) >= rules.login_attempts:
            raise SignInRefused(
                f"Too many failed sign-ins. Please wait {rules.login_window_minutes} minutes and try again.",
                status_code=429,
            )
        await store.record_login_failure(tx, username, client_hash, now)


async def current_session(db: Database, settings: Settings, token: str, now: datetime) -> Session | None:
    """Return the live session for a cookie value, ending it if it has expired."""
    if not token or len(token) > 100:
        return None
    session = await store.get_session(db.reader, session_hash(token))
    if session is None:
        return None
    idle = timedelta(minutes=settings.admin.session_idle_minutes)
    lifetime = timedelta(hours=settings.admin.session_max_hours)
    if now - session.last_seen_at > idle or now - session.created_at > lifetime:
        await sign_out(db, token)
        return None
    if now - session.last_seen_at > timedelta(minutes=1):
        async with db.transaction() as tx:
            await store.touch_session(tx, session.token_hash, now)
    return session


async def sign_out(db: Database, token: str) -> None:
    """End the session behind a cookie value."""
    async with db.transaction() as tx:
        await store.delete_session(tx, session_hash(token))


async def check_password(user: User, password: str) -> bool:
    """Tell whether ``password`` is the user's (checked off the event loop)."""
    return await _verify(user.password_hash, password)


def session_hash(token: str) -> str:
    """Return the stored form of a session cookie value."""
    return hashlib.sha256(token.encode()).hexdigest()


async def _verify(password_hash: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD:
        return False
    try:
        return bool(await anyio.to_thread.run_sync(_hasher.verify, password_hash, password))
    except (VerificationError, InvalidHashError):
        return False
