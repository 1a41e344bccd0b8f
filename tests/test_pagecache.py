"""The in-process page cache: anonymous readers get a kept page until a write changes what it shows.

To tell a kept page from a fresh render, some tests change a title with the database's change
trigger dropped: only the cache can then explain seeing the old title.
"""

from __future__ import annotations

import re
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx2 as httpx
from starlette.testclient import TestClient

from pebbleblog import create_app, load_settings
from pebbleblog.models import CommentStatus
from pebbleblog.settings import Settings

from .browser.conftest import copy_example_site, serve
from .conftest import Seeder, draft, write_config

TOKEN = re.compile(r'name="token" value="([^"]+)"')


def _sql(settings: Settings, *statements: str) -> None:
    with closing(sqlite3.connect(settings.database_path)) as db:
        for statement in statements:
            db.execute(statement)
        db.commit()


def _retitle_unseen(settings: Settings, title: str) -> None:
    """Change every post's title without bumping the change counter (as no real write path can)."""
    _sql(settings, "DROP TRIGGER posts_upd", f"UPDATE posts SET title = '{title}'")


def test_anonymous_readers_get_the_kept_page_until_the_change_counter_moves(
    seed: Seeder, client: TestClient, settings: Settings
) -> None:
    seed(posts=[draft("Original")])
    assert "Original" in client.get("/posts/original/").text
    _retitle_unseen(settings, "Sneaky")
    assert "Original" in client.get("/posts/original/").text  # kept: nothing told the cache
    _sql(settings, "UPDATE change_counters SET counter = counter + 1 WHERE name = 'content'")
    assert "Sneaky" in client.get("/posts/original/").text


def test_a_head_request_gets_the_kept_pages_headers_and_no_body(
    seed: Seeder, client: TestClient, settings: Settings
) -> None:
    seed(posts=[draft("Original")])
    assert client.head("/posts/original/").status_code == 200  # nothing kept yet: the app answers
    kept = client.get("/posts/original/")
    _retitle_unseen(settings, "A much longer title than before")
    head = client.head("/posts/original/")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == kept.headers["etag"]  # a fresh render would have another
    assert head.headers["content-length"] == str(len(kept.content))
    assert head.headers["content-type"] == kept.headers["content-type"]
    again = client.head("/posts/original/", headers={"If-None-Match": kept.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    _sql(settings, "UPDATE change_counters SET counter = counter + 1 WHERE name = 'content'")
    assert client.head("/posts/original/").headers["etag"] != kept.headers["etag"]


def test_readers_with_a_site_cookie_always_get_a_fresh_render(
    seed: Seeder, client: TestClient, settings: Settings
) -> None:
    seed(posts=[draft("Original")])
    client.get("/posts/original/")
    _retitle_unseen(settings, "Fresh")
    client.cookies.set("pb_mine", "anything")
    assert "Fresh" in client.get("/posts/original/").text
    client.cookies.clear()
    assert "Original" in client.get("/posts/original/").text


def test_the_cache_can_be_switched_off(site_dir: Path, seed: Seeder) -> None:
    write_config(site_dir, "[server]\npage_cache = false\n")
    settings = load_settings(site_dir, environ={})
    seed(posts=[draft("Original")])
    with TestClient(create_app(settings)) as client:
        client.get("/posts/original/")
        _retitle_unseen(settings, "Uncached")
        assert "Uncached" in client.get("/posts/original/").text


def test_an_approved_comment_written_by_another_process_shows_at_once(
    seed: Seeder, client: TestClient
) -> None:
    [post_id] = seed(posts=[draft("Talk")])
    assert "Held back" not in client.get("/posts/talk/").text
    seed(comments_=[dict(post_id=post_id, name="Ann", body="Held back", status=CommentStatus.PENDING)])
    assert "Held back" not in client.get("/posts/talk/").text  # pending: the kept page is still right
    seed(comments_=[dict(post_id=post_id, name="Bob", body="Shown now")])
    page = client.get("/posts/talk/").text
    assert "Shown now" in page and "Held back" not in page
    assert "1 comment" in client.get("/blog/").text  # every page showing the count was dropped too


def test_each_reader_gets_a_fresh_form_token_that_the_comment_form_accepts(
    site_dir: Path, seed: Seeder
) -> None:
    write_config(site_dir, "[comments]\nmin_seconds = 0\n")
    seed(posts=[draft("Talk")])
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        first = client.get("/posts/talk/")
        time.sleep(1.1)  # tokens carry a one-second time stamp
        second = client.get("/posts/talk/")
        tokens = [TOKEN.search(r.text).group(1) for r in (first, second)]  # type: ignore[union-attr]
        assert tokens[0] != tokens[1]
        assert first.headers["etag"] == second.headers["etag"]  # the page itself did not change
        assert "\x00" not in second.text
        data = {"token": tokens[1], "parent": "", "name": "Ann", "body": "Hello there", "action": "post"}
        posted = client.post("/posts/talk/comments", data=data, follow_redirects=False)
        assert posted.status_code == 303, posted.text


def test_a_scheduled_post_appears_when_it_falls_due(seed: Seeder, client: TestClient) -> None:
    due = datetime.now(UTC) + timedelta(seconds=2)
    seed(posts=[draft("Already out"), draft("Scheduled", published_at=due)])
    assert "Scheduled" not in client.get("/blog/").text
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 1.1)
    assert "Scheduled" in client.get("/blog/").text


def test_last_modified_and_if_modified_since(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("Talk")])
    page = client.get("/posts/talk/")
    modified = page.headers["last-modified"]
    assert client.get("/posts/talk/", headers={"if-modified-since": modified}).status_code == 304
    earlier = format_datetime(datetime.now(UTC) - timedelta(days=400), usegmt=True)
    assert client.get("/posts/talk/", headers={"if-modified-since": earlier}).status_code == 200
    kept = client.get("/posts/talk/", headers={"if-none-match": page.headers["etag"]})
    assert kept.status_code == 304 and kept.headers["etag"] == page.headers["etag"]
    assert client.get("/posts/talk/", headers={"if-modified-since": "not a date"}).status_code == 200


def test_two_workers_each_drop_their_kept_pages_when_the_cli_approves_a_comment(tmp_path: Path) -> None:
    site = copy_example_site(tmp_path)
    with serve(site, workers=2) as server, httpx.Client(base_url=server.url) as http:
        home = http.get("/")
        post_path = re.search(r'href="(/posts/[^"]+/)"', home.text).group(1)  # type: ignore[union-attr]
        post_id = server.query("SELECT id FROM posts WHERE slug = ?", post_path.split("/")[2])[0][0]
        for _ in range(20):  # warm both workers' caches (connections are spread over the workers)
            with httpx.Client(base_url=server.url) as fresh:
                assert "Cache check" not in fresh.get(post_path).text
        with closing(sqlite3.connect(server.database)) as db:
            comment_id = db.execute(
                "INSERT INTO comments (post_id, status, author_name, body_source, body_html,"
                " sanitizer_version, created_at) VALUES (?, 'pending', 'Cache check', 'x',"
                " '<p>Cache check</p>', 1, '2024-01-01T00:00:00Z') RETURNING id",
                (post_id,),
            ).fetchone()[0]
            db.commit()
        server.approve(comment_id)
        for _ in range(20):
            with httpx.Client(base_url=server.url) as fresh:
                assert "Cache check" in fresh.get(post_path).text


def test_a_forged_host_header_never_reaches_another_reader(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("Talk")])
    forged = client.get("/posts/talk/", headers={"host": "evil.example"})
    assert "http://evil.example/posts/talk/" in forged.text  # no base_url: links follow the request
    honest = client.get("/posts/talk/")
    assert "evil.example" not in honest.text and "http://testserver/posts/talk/" in honest.text
