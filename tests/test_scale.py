"""Public pages at size: every query a public page runs reads an index range, never a whole big table.

A site of 3,000 posts and about 30,000 comments is generated once (direct inserts, tests/scale_data.py);
each public page is requested while the SQL it runs is recorded, and each statement's EXPLAIN QUERY
PLAN must search posts, comments and post_tags by index, never SCAN them, and a list, post or feed
page's statements must each run in a few thousand SQLite steps. Also here: the sitemap index of a
large site, how a very common word's search is shown, a prefix search costing about one run of its
FTS5 query per statement, and the archive's months across
daylight-saving changes.
"""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from pebbleblog import create_app, load_settings, search, seo
from pebbleblog.storage import Database
from pebbleblog.storage.database import Connection, Params

from . import scale_data
from .conftest import NOW, Seeder, draft, write_config

POSTS, COMMENTS = 3_000, 30_000
BIG_TABLES = ("posts", "comments", "post_tags", "p", "c", "pt", "g")
SITEMAP_FILE = 1_000  # posts per sitemap file here, so the 3,000 posts need an index of several
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture(scope="module")
def big_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("big") / "site"
    write_config(site, 'timezone = "America/New_York"\n')
    settings = load_settings(site, environ={})

    async def migrate() -> None:
        async with Database.connected(settings.database_path):
            pass

    anyio.run(migrate)
    # The clock the app reads is the real one: spread the posts over the ten years before it.
    scale_data.fill(settings.database_path, posts=POSTS, comments=COMMENTS, now=datetime.now(UTC))
    return site


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Params]]:
    """Record every SELECT the app runs through storage (and make sitemap files of 1,000 posts)."""
    seen: list[tuple[str, Params]] = []
    fetch_all, fetch_one = Connection.fetch_all, Connection.fetch_one

    async def record_all(self: Connection, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        seen.append((sql, params))
        return await fetch_all(self, sql, params)

    async def record_one(self: Connection, sql: str, params: Params = ()) -> sqlite3.Row | None:
        seen.append((sql, params))
        return await fetch_one(self, sql, params)

    monkeypatch.setattr(Connection, "fetch_all", record_all)
    monkeypatch.setattr(Connection, "fetch_one", record_one)
    monkeypatch.setattr(seo, "POSTS_PER_SITEMAP", SITEMAP_FILE)
    return seen


@pytest.fixture
def big_client(big_site: Path) -> Iterator[TestClient]:
    settings = load_settings(big_site, environ={})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def public_paths(database: Path) -> list[str]:
    """Return one of each public page of the big site, at its hardest: deep keys, common and rare tags."""
    with closing(sqlite3.connect(database)) as conn:
        busiest = conn.execute(
            "SELECT p.slug FROM posts p JOIN comments c ON c.post_id = p.id WHERE p.status = 'published'"
            " GROUP BY p.id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        tag_sizes = conn.execute(
            "SELECT t.slug FROM tags t JOIN post_tags pt ON pt.tag_id = t.id GROUP BY t.id ORDER BY count(*)"
        ).fetchall()
        middle = conn.execute(
            "SELECT published_at, id FROM posts WHERE status = 'published' ORDER BY published_at LIMIT 1"
            " OFFSET 1500"
        ).fetchone()
    key = f"{middle[0]}_{middle[1]}"
    common, rare = tag_sizes[-1][0], tag_sizes[0][0]
    year, month = middle[0][:4], int(middle[0][5:7])
    return [
        "/",
        "/blog/",
        f"/blog/?before={key}",
        f"/blog/?after={key}",
        "/blog/?page=120",
        f"/posts/{busiest}/",
        f"/tags/{common}/",
        f"/tags/{rare}/",
        f"/tags/{common}/?before={key}",
        f"/tags/{rare}/?after={key}",
        "/archive/",
        f"/archive/{year}/{month}/",
        f"/search?q={scale_data.COMMON}",
        f"/search?q={scale_data.MIDDLING}&page=3",
        f"/search?q={scale_data.RARE}",
        "/feeds/posts.atom",
        "/feeds/comments.rss",
        f"/feeds/tags/{common}.atom",
        f"/feeds/posts/{busiest}/comments.atom",
        "/sitemap.xml",
        "/sitemaps/site.xml",
        "/sitemaps/posts-1.xml",
    ]


def step_limit(path: str) -> int | None:
    """Return how many SQLite VM steps one statement of ``path`` may take (None: no limit).

    A page of a list, a post or a feed reads a few dozen rows: a few thousand steps, however large
    the site. Reading every post once, as a count(*) or a sort of a tag's posts did, takes more.
    Search ranks at most MAX_RANKED matches. The archive counts every post (from an index only),
    an old ?page=N link walks the index to its offset, and sitemap files list thousands of posts.
    """
    if path.startswith("/search"):
        return 25_000
    if path in ("/archive/", "/sitemap.xml") or path.startswith("/sitemaps/") or "?page=" in path:
        return None
    return 5_000


def problems(database: Path, statements: list[tuple[str, Params]], limit: int | None) -> list[str]:
    """Return each statement whose plan scans a big table, or that runs more VM steps than ``limit``."""
    found = []
    with closing(sqlite3.connect(database)) as conn:
        for sql, params in statements:
            plan = [str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            if any(re.match(rf"SCAN ({'|'.join(BIG_TABLES)})\b", step) for step in plan):
                found.append(f"scans a big table: {sql}\n    {plan}")
            steps = vm_steps(conn, sql, params)
            if limit is not None and steps > limit:
                found.append(f"{steps} steps: {sql}\n    {plan}")
    return found


def vm_steps(conn: sqlite3.Connection, sql: str, params: Params) -> int:
    """Run a statement and return about how many virtual-machine instructions SQLite ran for it."""
    ticks = 0

    def tick() -> int:
        nonlocal ticks
        ticks += 1
        return 0

    conn.set_progress_handler(tick, 100)
    try:
        conn.execute(sql, params).fetchall()
    finally:
        conn.set_progress_handler(None, 100)
    return ticks * 100


@pytest.mark.parametrize("analyzed", [False, True], ids=["no-statistics", "after-ANALYZE"])
def test_every_public_query_reads_an_index_range(
    big_site: Path, recorded: list[tuple[str, Params]], analyzed: bool
) -> None:
    database = load_settings(big_site, environ={}).database_path
    with closing(sqlite3.connect(database)) as conn:
        conn.execute("ANALYZE" if analyzed else "DROP TABLE IF EXISTS sqlite_stat1")
        conn.commit()
    settings = load_settings(big_site, environ={})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for path in public_paths(database):
            recorded.clear()
            response = client.get(path)
            assert response.status_code == 200, path
            assert recorded, path
            assert problems(database, recorded, step_limit(path)) == [], path


def test_the_sitemap_of_a_large_site_is_an_index_of_small_files(
    big_client: TestClient, recorded: list[tuple[str, Params]]
) -> None:
    root = ET.fromstring(big_client.get("/sitemap.xml").content)
    assert root.tag == f"{SITEMAP}sitemapindex"
    files = [loc.text or "" for loc in root.iter(f"{SITEMAP}loc")]
    assert files[0] == "http://testserver/sitemaps/site.xml"
    assert files[1:] == [f"http://testserver/sitemaps/posts-{n}.xml" for n in range(4)]
    posts: list[str] = []
    for url in files[1:]:
        urls = ET.fromstring(big_client.get(url.removeprefix("http://testserver")).content)
        locs = [loc.text or "" for loc in urls.iter(f"{SITEMAP}loc")]
        assert 0 < len(locs) <= SITEMAP_FILE
        posts += locs
    with closing(sqlite3.connect(big_client.app.state.settings.database_path)) as conn:  # type: ignore[attr-defined]
        visible = conn.execute(
            "SELECT count(*) FROM posts WHERE status IN ('published', 'scheduled') AND published_at <= ?",
            (datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),),
        ).fetchone()[0]
    assert len(posts) == len(set(posts)) == visible
    site = ET.fromstring(big_client.get("/sitemaps/site.xml").content)
    assert "http://testserver/tags/topic-1/" in {loc.text for loc in site.iter(f"{SITEMAP}loc")}
    assert "Sitemap: http://testserver/sitemap.xml" in big_client.get("/robots.txt").text
    missing = big_client.get("/sitemaps/posts-99.xml")
    assert missing.status_code == 404 and "There is no sitemap number 99" in missing.text


def test_a_very_common_word_shows_the_newest_matches_titles_first(
    big_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "MAX_RANKED", 30)
    pages = [
        BeautifulSoup(big_client.get(f"/search?q={scale_data.COMMON}&page={n}").text, "html.parser")
        for n in (1, 2, 3)
    ]
    message = pages[0].select_one(".search-message").get_text(strip=True)
    assert message.startswith("More than 30 results") and "Add a word" in message
    assert pages[0].select_one(".pagination span").get_text(strip=True) == "Page 1 of 3"
    shown = [
        (
            scale_data.COMMON in hit.select_one(".post-title").get_text().lower(),
            hit.select_one("time")["datetime"],
        )
        for page in pages
        for hit in page.select(".search-result")
    ]
    assert len(shown) == 30
    assert any(titled for titled, _ in shown) and not all(titled for titled, _ in shown)
    newest_first = sorted(shown, key=lambda s: s[1], reverse=True)
    assert shown == sorted(newest_first, key=lambda s: not s[0])  # titled ones first, each newest first
    rare = BeautifulSoup(big_client.get(f"/search?q={scale_data.RARE}").text, "html.parser")
    assert re.fullmatch(r"\d+ results\.", rare.select_one(".search-message").get_text(strip=True))
    assert rare.select(".search-result mark")


def test_archive_months_follow_daylight_saving_time(site_dir: Path, seed: Seeder) -> None:
    # New York is UTC-4 in summer and UTC-5 in winter: each pair straddles a local month's start.
    moments = {
        "June, late": datetime(2023, 7, 1, 3, 30, tzinfo=UTC),  # 23:30 EDT on 30 June
        "July, early": datetime(2023, 7, 1, 4, 30, tzinfo=UTC),  # 00:30 EDT on 1 July
        "November, late": datetime(2023, 12, 1, 4, 30, tzinfo=UTC),  # 23:30 EST on 30 November
        "December, early": datetime(2023, 12, 1, 5, 30, tzinfo=UTC),  # 00:30 EST on 1 December
    }
    seed(posts=[draft(title, published_at=at) for title, at in moments.items()])
    write_config(site_dir, 'timezone = "America/New_York"\n')
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        page = BeautifulSoup(client.get("/archive/").text, "html.parser")
        months = [li.get_text(" ", strip=True) for li in page.select(".archive-months li")]
        assert months == ["December 2023 (1)", "November 2023 (1)", "July 2023 (1)", "June 2023 (1)"]
        for path, title in [
            ("/archive/2023/6/", "June, late"),
            ("/archive/2023/7/", "July, early"),
            ("/archive/2023/11/", "November, late"),
            ("/archive/2023/12/", "December, early"),
        ]:
            shown = BeautifulSoup(client.get(path).text, "html.parser").select(".post-summary .post-title a")
            assert [a.get_text(strip=True) for a in shown] == [title]


def test_the_archive_spans_months_without_posts(site_dir: Path, seed: Seeder) -> None:
    seed(posts=[draft("Old", published_at=NOW - timedelta(days=800)), draft("New", days_ago=1)])
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        page = BeautifulSoup(client.get("/archive/").text, "html.parser")
        assert [a["href"] for a in page.select(".archive-months a")] == [
            "/archive/2024/5/",
            "/archive/2022/3/",
        ]


def index_reads(conn: sqlite3.Connection, sql: str, params: Params) -> int:
    """Return how many times FTS5 looks a word up in its index for one run of ``sql``.

    FTS5's work is not in the VM step count; its look-ups in the index's segments are traced as
    statements of their own (on ``search_index_idx``), and each run of a MATCH makes them again.
    (Reading the shown rows' text for their snippets is per row, and not counted.)"""
    internal: list[str] = []
    conn.set_trace_callback(lambda text: internal.append(text) if "search_index_idx" in text else None)
    try:
        conn.execute(sql, params).fetchall()
    finally:
        conn.set_trace_callback(None)
    return len(internal)


def test_a_prefix_search_reads_the_index_about_once_per_statement(
    big_site: Path, recorded: list[tuple[str, Params]]
) -> None:
    # A prefix (stretc*) merges the list of posts of every word it starts: FTS5 does that once per
    # run of the query, so a statement that ran it once per shown result (rowid IN (...)) cost ten.
    settings = load_settings(big_site, environ={})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get(f"/search?q={scale_data.COMMON[:-1]}*")
    assert response.status_code == 200
    assert len(BeautifulSoup(response.text, "html.parser").select(".search-result mark")) >= 10
    match = f'"{scale_data.COMMON[:-1]}"*'
    searches = [(sql, params) for sql, params in recorded if "search_index MATCH" in sql]
    assert len(searches) >= 3
    with closing(sqlite3.connect(settings.database_path)) as conn:
        once = "SELECT rowid FROM search_index WHERE search_index MATCH ? ORDER BY rowid DESC LIMIT 1"
        for sql, params in searches:
            assert index_reads(conn, sql, params) <= 2 * index_reads(conn, once, (match,)), sql


def test_a_comment_on_a_post_with_thousands_reads_only_the_copies_of_its_text(
    tmp_path: Path, recorded: list[tuple[str, Params]]
) -> None:
    """The duplicate check (and the insert's own) finds earlier copies by index, not by reading the post."""
    from pebbleblog.blog import create_post
    from pebbleblog.models import CommentInput, CommentStatus
    from pebbleblog.storage import comments as comment_store

    path = tmp_path / "site.db"

    async def facts_of_a_new_comment() -> bool:
        async with Database.connected(path) as db:
            post_id = await create_post(db, draft("Busy"), NOW)
            assert post_id is not None
            when = scale_data.stamp(NOW)
            with closing(sqlite3.connect(path)) as conn, conn:  # 3,000 comments, all alike but the end
                conn.executemany(
                    "INSERT INTO comments (post_id, status, author_name, body_source, body_html,"
                    " sanitizer_version, created_at, client_hash)"
                    " VALUES (?, 'approved', 'Ann', ?, '', 1, ?, ?)",
                    [
                        (post_id, f"Thank you for this, it helped. Number {n}", when, "c" * 32)
                        for n in range(3000)
                    ],
                )
            comment = CommentInput(
                post_id=post_id,
                author_name="Ann",
                body_source="Thank you for this, it helped. Number 1234",
                body_html="",
                sanitizer_version=1,
                status=CommentStatus.PENDING,
                created_at=NOW,
                client_hash="c" * 32,
            )
            limits = comment_store.SubmissionLimits(flood_since=None, hour_since=NOW, hourly_limit=0)
            recorded.clear()
            return (await comment_store.submission_facts(db.reader, comment, limits)).duplicate

    assert anyio.run(facts_of_a_new_comment) is True
    [(sql, params)] = recorded
    with closing(sqlite3.connect(path)) as conn:
        assert vm_steps(conn, sql, params) < 1_000, "the check read the post's other comments"
