"""The JSON export: a documented, versioned file; importing it into an empty site gives the same site
(every row of every table compared by natural keys), again nothing; broken or hostile files are refused."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from pebbleblog import blog, load_settings, moderation, sitestate
from pebbleblog.content.markdown import render_comment
from pebbleblog.importers.jsonformat import FORMAT, VERSION, export_site, write_export
from pebbleblog.models import BodyFormat, CommentInput, CommentStatus, PageStatus, PostStatus
from pebbleblog.settings import Settings
from pebbleblog.storage import Database, comments, posts

from .conftest import NOW, write_config
from .import_helpers import PEBBLE_SAMPLE, WXR_SAMPLE, cli, import_into, rows

# Tables a backup deliberately leaves out: accounts and their sessions (passwords are set again with
# create-admin), sign-in throttling, the mail log, and change counters (derived, bumped by any write).
NOT_EXPORTED = {"users", "sessions", "login_failures", "mail_log", "change_counters"}
# The full-text index (FTS5 table and its shadow tables) is rebuilt from posts and pages by triggers.
NOT_EXPORTED |= {"search_index"} | {
    f"search_index_{s}" for s in ("data", "idx", "content", "docsize", "config")
}
# A comment's natural key: its post's slug, time, author and text (ids differ between two sites).
COMMENT_KEY = (
    "(SELECT p.slug FROM posts p WHERE p.id = {c}.post_id) || '|' || {c}.created_at || '|' || {c}.author_name"
    " || '|' || {c}.body_source"
)
NATURAL = {
    "posts": "SELECT * FROM posts",
    "pages": "SELECT * FROM pages",
    "tags": "SELECT slug, name FROM tags",
    "post_tags": "SELECT p.slug, t.slug FROM post_tags x JOIN posts p ON p.id = x.post_id"
    " JOIN tags t ON t.id = x.tag_id",
    "comments": "SELECT c.*, "
    + COMMENT_KEY.format(c="c")
    + ", (SELECT "
    + COMMENT_KEY.format(c="q")
    + " FROM comments q WHERE q.id = c.parent_id) FROM comments c",
    "trusted_commenters": "SELECT t.token_hash, t.trusted_at, "
    + COMMENT_KEY.format(c="c")
    + " FROM trusted_commenters t LEFT JOIN comments c ON c.id = t.comment_id",
    "blocked_commenters": "SELECT kind, value, created_at FROM blocked_commenters",
    "old_slugs": "SELECT o.kind, o.slug, p.slug FROM old_slugs o JOIN posts p ON p.id = o.target_id",
    "site_settings": "SELECT * FROM site_settings",
    "redirects": "SELECT * FROM redirects",
}
# Ids, and comments' row revisions (random, given afresh to every row written), differ between sites.
ID_COLUMNS = {"id", "post_id", "parent_id", "revision"}


def dump(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Return every exported table's rows without autoincrement ids, sorted, for comparison."""
    tables = {r[0] for r in rows(database, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables - NOT_EXPORTED == set(NATURAL), (
        "a new table: export it, or say here why a backup leaves it out"
    )
    result = {}
    for table, sql in NATURAL.items():
        import sqlite3
        from contextlib import closing

        with closing(sqlite3.connect(database)) as conn:
            cursor = conn.execute(sql)
            keep = [i for i, d in enumerate(cursor.description) if d[0] not in ID_COLUMNS]
            result[table] = sorted((tuple(r[i] for i in keep) for r in cursor), key=repr)
    return result


async def build_rich_site(settings: Settings) -> None:
    """Fill a site with one of everything: imported and written posts, every state, trust, blocks, renames."""
    db = Database(settings.database_path)
    await db.open()
    try:
        await blog.create_post(
            db,
            blog.PostDraft("Written here", "Some *Markdown*.\n\n    code", NOW, tags=("Local", "stretching")),
            NOW,
        )
        await blog.create_post(db, blog.PostDraft("Coming later", "Soon.", NOW + timedelta(days=3)), NOW)
        await blog.create_post(
            db,
            blog.PostDraft(
                "Half done", "<p>x</p>", None, status=PostStatus.DRAFT, body_format=BodyFormat.HTML
            ),
            NOW,
        )
        await blog.create_page(db, "Prices", "1 hour: 90", NOW, status=PageStatus.DRAFT)
        post_id = await posts.get_post_id_by_slug(db.reader, "written-here")
        assert post_id is not None
        async with db.transaction() as tx:
            first = await comments.insert_comment(
                tx,
                CommentInput(
                    post_id=post_id,
                    author_name="Ann",
                    body_source="Nice",
                    body_html=render_comment("Nice"),
                    sanitizer_version=1,
                    status=CommentStatus.PENDING,
                    created_at=NOW,
                    reasons=("first comment",),
                    client_hash="c1",
                    commenter_token="t1",
                    updated_at=NOW + timedelta(minutes=2),
                ),
            )
            await comments.insert_comment(
                tx,
                CommentInput(
                    post_id=post_id,
                    author_name="Bo",
                    body_source="Me too",
                    body_html=render_comment("Me too"),
                    sanitizer_version=1,
                    status=CommentStatus.TRASH,
                    created_at=NOW + timedelta(minutes=5),
                    parent_id=first,
                ),
            )
            await comments.add_block(tx, "email", "pest@example.com", NOW)
            await posts.remember_old_slug(tx, "post", "written-there", post_id)
        await moderation.moderate(db, [first], CommentStatus.APPROVED, NOW + timedelta(hours=1))
        await sitestate.save_settings(db, settings, {"comments.link_limit": 3, "site.title": "Cedar"}, NOW)
    finally:
        await db.close()


@pytest.fixture
def rich_site(settings: Settings) -> Settings:
    import_into(settings, PEBBLE_SAMPLE)
    import_into(settings, WXR_SAMPLE)
    anyio.run(build_rich_site, settings)
    return settings


def export_to(settings: Settings, path: Path) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        db = Database(settings.database_path)
        await db.open()
        try:
            return await export_site(db, settings.uploads_dir, NOW)
        finally:
            await db.close()

    document = anyio.run(go)
    write_export(document, path)
    return document


def other_site(tmp_path: Path) -> Settings:
    write_config(tmp_path / "other")
    return load_settings(tmp_path / "other", environ={})


def test_importing_an_export_into_an_empty_site_reproduces_every_row(
    tmp_path: Path, rich_site: Settings
) -> None:
    export_to(rich_site, tmp_path / "site.json")
    shutil.copytree(rich_site.uploads_dir, tmp_path / "other" / "uploads")
    restored = other_site(tmp_path)
    report = import_into(restored, tmp_path / "site.json")
    assert report.skipped == [] and report.warnings == []
    original, copy = dump(rich_site.database_path), dump(restored.database_path)
    assert all(original[t] for t in ("posts", "comments", "trusted_commenters", "old_slugs", "redirects"))
    for table in NATURAL:
        assert copy[table] == original[table], table
    again = import_into(restored, tmp_path / "site.json")
    assert sum(again.added.values()) == 0
    assert dump(restored.database_path) == original


def test_the_export_is_versioned_and_lists_uploads(tmp_path: Path, rich_site: Settings) -> None:
    document = export_to(rich_site, tmp_path / "site.json")
    assert (document["format"], document["version"]) == (FORMAT, VERSION)
    assert json.loads((tmp_path / "site.json").read_text(encoding="utf-8")) == document
    assert {u["path"] for u in document["uploads"]} == {"files/intake-form.txt", "images/foam-roller.svg"}
    pending = [c for c in document["comments"] if c["status"] == "pending"]
    assert {c["author_name"] for c in pending} == {"Mark T.", "Sam", "Jürg Bösch"}
    reply = next(c for c in document["comments"] if c["author_name"] == "Sam")
    parent = next(c for c in document["comments"] if c["id"] == reply["parent"])
    assert (parent["author_name"], reply["reasons"]) == ("Dana", ["imported from Pebble (pending)"])


def test_missing_uploads_are_reported(tmp_path: Path, rich_site: Settings) -> None:
    export_to(rich_site, tmp_path / "site.json")
    report = import_into(other_site(tmp_path), tmp_path / "site.json")
    assert any("uploads/files/intake-form.txt" in w for w in report.warnings)
    assert any("copy the old site's uploads/ folder" in n for n in report.notes)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda text: text[: len(text) // 2], "not valid JSON at line "),
        (lambda text: text.replace('"version": 1', '"version": 99'), "this pebbleblog reads versions 1 to 1"),
        (lambda text: '{"posts": []}', 'is not a pebbleblog export (no "format": "pebbleblog-export")'),
    ],
    ids=["truncated", "newer version", "not an export"],
)
def test_a_broken_file_is_refused_precisely(
    tmp_path: Path, rich_site: Settings, change: Any, reason: str
) -> None:
    export_to(rich_site, tmp_path / "site.json")
    broken = tmp_path / "broken.json"
    broken.write_text(change((tmp_path / "site.json").read_text(encoding="utf-8")), encoding="utf-8")
    restored = other_site(tmp_path)
    report = import_into(restored, broken)
    assert len(report.skipped) == 1 and reason in report.skipped[0].reason
    assert rows(restored.database_path, "SELECT count(*) FROM posts") == [(0,)]


def test_a_bad_item_is_skipped_and_the_rest_imports(tmp_path: Path, rich_site: Settings) -> None:
    document = export_to(rich_site, tmp_path / "site.json")
    index = next(i for i, p in enumerate(document["posts"]) if p["slug"] == "written-here")
    document["posts"][index]["status"] = "bogus"
    write_export(document, tmp_path / "bad.json")
    restored = other_site(tmp_path)
    report = import_into(restored, tmp_path / "bad.json")
    where = {s.where.rsplit(" ", 1)[-1]: s.reason for s in report.skipped}
    assert where[f"posts[{index}]"] == "status = 'bogus' must be one of draft, published, scheduled"
    assert "there is no post with slug 'written-here'" in where.values()
    assert rows(restored.database_path, "SELECT count(*) FROM posts") == [(len(document["posts"]) - 1,)]


def test_bodies_from_a_file_are_sanitised_again(tmp_path: Path, rich_site: Settings) -> None:
    document = export_to(rich_site, tmp_path / "site.json")
    document["posts"][0]["body"] = (
        '<script>alert(1)</script><p onclick="x()">Hi <a href="javascript:y()">a</a></p>'
    )
    document["comments"][0]["body"] = "<img src=x onerror=alert(1)>ok"
    write_export(document, tmp_path / "hostile.json")
    restored = other_site(tmp_path)
    import_into(restored, tmp_path / "hostile.json")
    stored = json.dumps(
        rows(restored.database_path, "SELECT body_html FROM posts UNION ALL SELECT body_html FROM comments")
    )
    assert (
        "<script" not in stored
        and "onclick" not in stored
        and "javascript:" not in stored
        and "onerror" not in stored
    )


def test_the_export_and_import_commands(tmp_path: Path, rich_site: Settings) -> None:
    written = cli("export", str(rich_site.site_dir), str(tmp_path / "backup.json"))
    assert written.returncode == 0 and "Exported" in written.stderr
    printed = cli("export", str(rich_site.site_dir), "-")
    assert json.loads(printed.stdout)["format"] == FORMAT
    restored = other_site(tmp_path)
    loaded = cli("import", str(restored.site_dir), str(tmp_path / "backup.json"))
    assert loaded.returncode == 0, loaded.stdout
    assert "(json)" in loaded.stdout and "comments: 15 new" in loaded.stdout
    for command in (["export"], ["import"]):
        helped = cli(*command, "--help")
        assert helped.returncode == 0 and "usage: pebbleblog" in helped.stdout
