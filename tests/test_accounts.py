"""Accounts: password rules, hashing, sessions' idle and absolute lifetimes, rehashing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from pebbleblog import accounts
from pebbleblog.models import Role
from pebbleblog.settings import Settings
from pebbleblog.storage import Database

from .conftest import NOW


@pytest.mark.parametrize(
    ("username", "password", "problem"),
    [
        ("ann", "short", "at least 10 characters"),
        ("ann", "my-ann-password", "must not contain the username"),
        ("ann", "aaaaaaaaaaaa", "more different characters"),
        ("ann", "x" * 1025, "at most 1024"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(username: str, password: str, problem: str) -> None:
    message = accounts.password_problem(username, password)
    assert message is not None and problem in message
    assert accounts.password_problem("ann", "a sound passphrase") is None


@pytest.mark.anyio
async def test_sessions_end_when_idle_or_too_old(db: Database, settings: Settings) -> None:
    await accounts.create_user(db, "owner", "a sound passphrase", Role.OWNER, NOW)
    signed = await accounts.sign_in(db, settings, "owner", "a sound passphrase", "c" * 32, NOW)
    idle = timedelta(minutes=settings.admin.session_idle_minutes)
    assert await accounts.current_session(db, settings, signed.token, NOW + idle - timedelta(minutes=1))
    # Used just now, so still alive a little later; unused past the idle limit, it ends for good.
    later = NOW + idle - timedelta(minutes=1)
    assert (
        await accounts.current_session(db, settings, signed.token, later + idle + timedelta(minutes=1))
        is None
    )
    assert await accounts.current_session(db, settings, signed.token, later) is None

    again = await accounts.sign_in(db, settings, "owner", "a sound passphrase", "c" * 32, NOW)
    moment = NOW
    lifetime = timedelta(hours=settings.admin.session_max_hours)
    while moment + idle / 2 < NOW + lifetime:  # kept busy, it still ends at the absolute limit
        moment += idle / 2
        assert await accounts.current_session(db, settings, again.token, moment) is not None
    assert await accounts.current_session(db, settings, again.token, NOW + lifetime + idle / 2) is None


@pytest.mark.anyio
async def test_an_old_hash_is_upgraded_at_sign_in(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", weak)
    user = await accounts.create_user(db, "owner", "a sound passphrase", Role.OWNER, NOW)
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher())
    await accounts.sign_in(db, settings, "owner", "a sound passphrase", "c" * 32, NOW)
    stored = await db.reader.fetch_value("SELECT password_hash FROM users WHERE id = ?", (user.id,))
    assert stored != user.password_hash and not PasswordHasher().check_needs_rehash(stored)
    assert "m=8192" in user.password_hash and "m=8192" not in stored
