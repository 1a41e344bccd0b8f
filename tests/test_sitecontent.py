"""Loading a site's content/ folder: idempotent, per-item, with clear reports for broken files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pebbleblog.models import CommentStatus, PostStatus
from pebbleblog.settings import Settings
from pebbleblog.sitecontent import load_content
from pebbleblog.storage import Database

from .conftest import NOW, REPO


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


async def counts(db: Database) -> tuple[int, int, int]:
    return tuple(
        [
            int(await db.reader.fetch_value(f"SELECT count(*) FROM {t}"))  # type: ignore[return-value]
            for t in ("posts", "pages", "comments")
        ]
    )


@pytest.mark.anyio
async def test_the_example_site_loads_once_and_only_once(tmp_path: Path) -> None:
    from pebbleblog import load_settings

    shutil.copytree(
        REPO / "example_site",
        tmp_path / "example_site",
        ignore=shutil.ignore_patterns("*.db", "*.db-*", ".secret_key"),
    )
    shutil.copytree(REPO / "themes", tmp_path / "themes")
    settings = load_settings(tmp_path / "example_site", environ={})
    db = Database(settings.database_path)
    await db.open()
    try:
        first = await load_content(db, settings, NOW)
        assert first.problems == []
        assert first.added == {"posts": 1, "pages": 1, "comments": 1}
        again = await load_content(db, settings, NOW)
        assert again.added == {"posts": 0, "pages": 0, "comments": 0}
        assert await counts(db) == (1, 1, 1)
        row = await db.reader.fetch_one("SELECT status, author_name, title FROM comments")
        assert tuple(row) == ("approved", "James Mackinder", "")
    finally:
        await db.close()


@pytest.mark.anyio
async def test_front_matter_fields_and_threads(settings: Settings, db: Database) -> None:
    content = settings.content_dir
    write(
        content / "posts/hello.md",
        '+++\ntitle = "Hello"\ndate = 2020-01-02T10:00:00\n'
        'tags = ["A", "b"]\nstatus = "draft"\nsubtitle = "Sub"\n+++\nBody *one*.\n',
    )
    write(content / "posts/later.md", '+++\ntitle = "Later"\ndate = 2999-01-01\n+++\nSoon.\n')
    write(
        content / "comments.toml",
        """
[[comments]]
id = "c1"
post = "hello"
author_name = "Ann"
body = "Top"
date = 2020-01-03T10:00:00

[[comments]]
id = "c2"
post = "hello"
parent = "c1"
author_name = "Bob"
body = "Reply"
status = "pending"
""",
    )
    report = await load_content(db, settings, NOW)
    assert report.problems == [] and report.added == {"posts": 2, "pages": 0, "comments": 2}
    hello = await db.reader.fetch_one("SELECT * FROM posts WHERE slug = 'hello'")
    assert hello["status"] == PostStatus.DRAFT and hello["subtitle"] == "Sub"
    assert hello["published_at"] == "2020-01-02T10:00:00Z"
    assert hello["body_html"] == "<p>Body <em>one</em>.</p>\n"
    later = await db.reader.fetch_one("SELECT status FROM posts WHERE slug = 'later'")
    assert later["status"] == PostStatus.SCHEDULED
    reply = await db.reader.fetch_one("SELECT parent_id, status FROM comments WHERE author_name = 'Bob'")
    first_id = await db.reader.fetch_value("SELECT id FROM comments WHERE author_name = 'Ann'")
    assert reply["parent_id"] == first_id and reply["status"] == CommentStatus.PENDING


@pytest.mark.anyio
async def test_a_broken_file_is_reported_and_the_rest_loads(settings: Settings, db: Database) -> None:
    content = settings.content_dir
    write(content / "posts/good.md", '+++\ntitle = "Good"\n+++\nFine.\n')
    write(content / "posts/no-title.md", "+++\ndate = 2020-01-01\n+++\nNo title.\n")
    write(content / "posts/no-front.md", "Just text.\n")
    write(content / "pages/admin.md", '+++\ntitle = "Admin"\n+++\nReserved slug.\n')
    write(
        content / "comments.toml", '[[comments]]\nid = "x"\npost = "missing"\nauthor_name = "A"\nbody = "b"\n'
    )
    report = await load_content(db, settings, NOW)
    assert report.added == {"posts": 1, "pages": 0, "comments": 0}
    problems = "\n".join(report.problems)
    assert "no-title.md: title must be a non-empty string" in problems
    assert "no-front.md: must start with a '+++' line" in problems
    assert "admin.md: The slug “admin” is used by the site itself" in problems
    assert "comment 'x': there is no post with slug 'missing'" in problems
    assert await counts(db) == (1, 0, 0)


@pytest.mark.anyio
async def test_two_files_with_one_slug_load_the_first_and_report_the_second(
    settings: Settings, db: Database
) -> None:
    write(settings.content_dir / "posts/a.md", '+++\ntitle = "Same"\nslug = "same"\n+++\nA\n')
    write(settings.content_dir / "posts/b.md", '+++\ntitle = "Same"\nslug = "same"\n+++\nB\n')
    report = await load_content(db, settings, NOW)
    assert report.added["posts"] == 1
    assert "Another post already uses the slug “same”" in report.problems[0]
