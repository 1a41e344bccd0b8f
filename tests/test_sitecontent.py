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
    assert "comments.toml (comment #1): there is no post with slug 'missing'" in problems
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


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("posts/latin1.md", b'+++\ntitle = "Caf\xe9"\n+++\nx', "is not UTF-8 text; save it as UTF-8"),
        ("posts/typo.md", b'+++\ntitle = "T"\nauthr = "me"\n+++\nx', "unknown key 'authr'"),
        (
            "posts/flag.md",
            b'+++\ntitle = "T"\ncomments_open = "false"\n+++\nx',
            "comments_open must be true or false",
        ),
        (
            "posts/old.md",
            b'+++\ntitle = "T"\ndate = 0001-01-01\n+++\nx',
            "date must be a year from 1000 to 9998",
        ),
        ("comments.toml", b"comments = [1, 2]\n", "write each comment as a [[comments]] table"),
    ],
)
async def test_more_broken_files_are_skipped_not_fatal(
    settings: Settings, db: Database, name: str, content: bytes, message: str
) -> None:
    path = settings.content_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    write(settings.content_dir / "posts/good.md", '+++\ntitle = "Good"\n+++\nFine.\n')
    (settings.content_dir / "posts/folder.md").mkdir()
    report = await load_content(db, settings, NOW)
    assert report.added["posts"] == 1
    assert any(message in p for p in report.problems), report.problems
    assert any("folder.md: cannot be read" in p for p in report.problems), report.problems


def test_several_workers_loading_at_once_add_everything_once(tmp_path: Path) -> None:
    import sqlite3
    import subprocess
    import sys

    shutil.copytree(
        REPO / "example_site",
        tmp_path / "example_site",
        ignore=shutil.ignore_patterns("*.db", "*.db-*", ".secret_key"),
    )
    shutil.copytree(REPO / "themes", tmp_path / "themes")
    script = (
        "import anyio, sys; from datetime import datetime, UTC\n"
        "from pebbleblog import load_settings; from pebbleblog.storage import Database\n"
        "from pebbleblog.sitecontent import load_content\n"
        "async def go():\n"
        "    s = load_settings(sys.argv[1]); db = Database(s.database_path); await db.open()\n"
        "    r = await load_content(db, s, datetime.now(UTC)); await db.close()\n"
        "    print(r.problems)\n"
        "anyio.run(go)\n"
    )
    site = str(tmp_path / "example_site")
    from pebbleblog import load_settings

    load_settings(site, environ={})  # make the secret file first, as `serve` does
    workers = [
        subprocess.Popen([sys.executable, "-c", script, site], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [w.communicate(timeout=60)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers)
    assert all(out.strip() == "[]" for out in outputs), outputs
    with sqlite3.connect(tmp_path / "example_site" / "pebbleblog.db") as conn:
        assert [
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("posts", "pages", "comments")
        ] == [1, 1, 1]
    conn.close()
