"""Shared fixtures: a temporary site directory, its settings, the app and a TestClient."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.testclient import TestClient

from pebbleblog import create_app, load_settings
from pebbleblog.blog import PostDraft, create_page, create_post
from pebbleblog.content.markdown import render_comment
from pebbleblog.content.sanitize import COMMENT_SANITIZER_VERSION
from pebbleblog.models import CommentInput, CommentStatus
from pebbleblog.settings import Settings
from pebbleblog.storage import Database, comments

REPO = Path(__file__).resolve().parent.parent
SECRET = "test-secret-key-that-is-long-enough-0123456789"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def write_config(site_dir: Path, extra: str = "") -> None:
    """Write a pebbleblog.toml with a fixed secret and ``extra`` TOML appended."""
    site_dir.mkdir(parents=True, exist_ok=True)
    base = f'[site]\ntitle = "Test Blog"\nsecret_key = "{SECRET}"\n'
    (site_dir / "pebbleblog.toml").write_text(base + textwrap.dedent(extra), encoding="utf-8")


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    path = tmp_path / "site"
    write_config(path)
    return path


@pytest.fixture
def settings(site_dir: Path) -> Settings:
    return load_settings(site_dir, environ={})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_path)
    await database.open()
    try:
        yield database
    finally:
        await database.close()


Seeder = Callable[..., Any]


@pytest.fixture
def seed(settings: Settings) -> Seeder:
    """Return a function that writes posts, pages and comments straight into the site's database.

    ``seed(posts=[PostDraft...], pages=[(title, body)], comments=[dict...])`` returns the post ids.
    Use it before the TestClient starts (or between requests: it is a separate connection).
    """

    def run(
        posts: list[PostDraft] = (),
        pages: list[tuple[str, str]] = (),  # type: ignore[assignment]
        comments_: list[dict[str, Any]] = (),
    ) -> list[int]:  # type: ignore[assignment]
        async def go() -> list[int]:
            database = Database(settings.database_path)
            await database.open()
            try:
                ids = [await create_post(database, p, NOW) for p in posts]
                for title, body in pages:
                    await create_page(database, title, body, NOW)
                for spec in comments_:
                    await add_comment(database, **spec)
                return ids
            finally:
                await database.close()

        return anyio.run(go)

    return run


async def add_comment(
    database: Database,
    *,
    post_id: int,
    name: str,
    body: str,
    status: CommentStatus = CommentStatus.APPROVED,
    parent_id: int | None = None,
    email: str = "",
    website: str = "",
    title: str = "",
    minutes: int = 0,
) -> int:
    """Insert a comment as the (future) comment flow will, body rendered and sanitised."""
    async with database.transaction() as tx:
        return await comments.insert_comment(
            tx,
            CommentInput(
                post_id=post_id,
                parent_id=parent_id,
                author_name=name,
                author_email=email,
                author_website=website,
                title=title,
                body_source=body,
                body_html=render_comment(body),
                sanitizer_version=COMMENT_SANITIZER_VERSION,
                status=status,
                created_at=NOW + timedelta(minutes=minutes),
            ),
        )


def draft(title: str, *, days_ago: int = 1, **fields: Any) -> PostDraft:
    """Return a published post draft dated ``days_ago`` days before NOW."""
    fields.setdefault("body", f"Body of {title}.")
    fields.setdefault("published_at", NOW - timedelta(days=days_ago))
    return PostDraft(title=title, **fields)
