"""Full-text search: ranking, snippets, phrase and prefix queries, visibility, index upkeep, hostile input."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from pebbleblog import editor, search
from pebbleblog.editor import PostForm
from pebbleblog.models import PostStatus
from pebbleblog.settings import Settings
from pebbleblog.storage import Database

from .conftest import NOW, REPO, Seeder, draft


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return BeautifulSoup(response.text, "html.parser")


def found(client: TestClient, query: str, **params: str) -> list[str]:
    page = soup(client.get("/search", params={"q": query, **params}))
    return [a.get_text(strip=True) for a in page.select(".search-result .post-title a")]


def message(client: TestClient, query: str) -> str:
    node = soup(client.get("/search", params={"q": query})).select_one(".search-message")
    return "" if node is None else node.get_text(strip=True)


def test_a_title_match_ranks_above_a_body_match(seed: Seeder, client: TestClient) -> None:
    seed(
        posts=[
            draft("Shoulder care", body="Some words about the hamstring, once.", days_ago=1),
            draft("Hamstring stretches", body="Gentle stretches for the back of the leg.", days_ago=5),
            draft("Unrelated", body="Nothing to see."),
        ]
    )
    assert found(client, "hamstring") == ["Hamstring stretches", "Shoulder care"]


def test_results_link_to_posts_and_pages(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("Stretch", body="Try a lunge.")], pages=[("Appointments", "Book a lunge session.")])
    page = soup(client.get("/search?q=lunge"))
    hrefs = sorted(a["href"] for a in page.select(".search-result .post-title a"))
    assert hrefs == ["/appointments", "/posts/stretch/"]
    assert page.select_one(".search-message").get_text(strip=True) == "2 results."


def test_snippets_mark_matches_and_escape_hostile_content(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("Hostile", body="Before <script>alert('x')</script> the needle & <b>after</b>.")])
    response = client.get("/search?q=needle")
    assert "<script>" not in response.text
    snippet = soup(response).select_one(".search-snippet")
    assert [m.get_text() for m in snippet.select("mark")] == ["needle"]
    assert snippet.select("script, b") == []
    assert "&" in snippet.get_text()


def test_stray_marker_characters_in_content_cannot_break_the_markup(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("Odd", body="a \ue000 b \ue001 c \ue000 needle")])
    snippet = soup(client.get("/search?q=needle")).select_one(".search-snippet")
    assert "needle" in [m.get_text().strip() for m in snippet.select("mark")]
    assert "\ue000" not in snippet.get_text() and "\ue001" not in snippet.get_text()


def test_phrase_and_prefix_queries(seed: Seeder, client: TestClient) -> None:
    seed(
        posts=[
            draft("Phrase", body="The low back stretch."),
            draft("Apart", body="Back pain is low today."),
            draft("Prefix", body="Massage therapy works."),
        ]
    )
    assert found(client, '"low back"') == ["Phrase"]
    assert sorted(found(client, "low back")) == ["Apart", "Phrase"]
    assert found(client, "massag*") == ["Prefix"]
    assert found(client, "massag") == []
    assert found(client, '"low back') == ["Phrase"]  # an unclosed quote still makes a phrase


def test_drafts_and_future_posts_are_never_found(seed: Seeder, client: TestClient) -> None:
    seed(
        posts=[
            draft("Shown", body="secret word"),
            draft("Draft", body="secret word", status=PostStatus.DRAFT),
            draft("Scheduled", body="secret word", status=PostStatus.SCHEDULED, days_ago=-36_500),
            draft("Future", body="secret word", days_ago=-36_500),
        ]
    )
    assert found(client, "secret") == ["Shown"]


@pytest.mark.anyio
async def test_due_scheduled_posts_appear_by_the_clock(db: Database, settings: Settings) -> None:
    form = PostForm(title="Later", body="tomorrow word", status="published", date="2024-06-02", time="12:00")
    await editor.save_post(db, None, form, ZoneInfo("UTC"), NOW)
    assert (await search.search(db, settings, "tomorrow", 1, NOW)).result.total == 0
    later = await search.search(db, settings, "tomorrow", 1, NOW + timedelta(days=2))
    assert [f.hit.title for f in later.result.items] == ["Later"]


@pytest.mark.anyio
async def test_the_index_follows_edits_and_deletes(db: Database, settings: Settings) -> None:
    def titles(results: search.SearchResults) -> list[str]:
        return [f.hit.title for f in results.result.items]

    zone = ZoneInfo("UTC")
    form = PostForm(title="Edited", body="apple", status="published", date="2024-05-01", time="10:00")
    post_id = await editor.save_post(db, None, form, zone, NOW)
    assert titles(await search.search(db, settings, "apple", 1, NOW)) == ["Edited"]
    await editor.save_post(db, post_id, replace(form, body="banana"), zone, NOW)
    assert titles(await search.search(db, settings, "apple", 1, NOW)) == []
    assert titles(await search.search(db, settings, "banana", 1, NOW)) == ["Edited"]
    await editor.save_post(db, post_id, replace(form, status="draft"), zone, NOW)
    assert titles(await search.search(db, settings, "apple", 1, NOW)) == []
    await editor.delete_post(db, post_id)
    count = await db.reader.fetch_value("SELECT count(*) FROM search_index")
    assert count == 0

    page_id = await editor.save_page(db, None, {"title": "Hours", "body": "open daily"}, NOW)
    assert titles(await search.search(db, settings, "daily", 1, NOW)) == ["Hours"]
    await editor.save_page(db, page_id, {"title": "Hours", "body": "closed sundays"}, NOW)
    assert titles(await search.search(db, settings, "daily", 1, NOW)) == []
    assert titles(await search.search(db, settings, "sundays", 1, NOW)) == ["Hours"]
    await editor.save_page(db, page_id, {"title": "Hours", "body": "closed sundays", "status": "draft"}, NOW)
    assert titles(await search.search(db, settings, "sundays", 1, NOW)) == []
    await editor.delete_page(db, page_id)
    assert await db.reader.fetch_value("SELECT count(*) FROM search_index") == 0


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '""',
        "*",
        "**",
        "NEAR(",
        "NEAR(a b",
        "a AND OR NOT",
        "AND",
        "NOT needle",
        '"unbalanced needle',
        "needle\x00",
        "\x00",
        "x" * 10_000,
        "needle " * 2_000,
        "日本語 ünïcödé 🙂",
        "title:needle",
        "{title body}: needle",
        "^needle",
        "needle -",
        "(needle",
        "needle)",
        "'; DROP TABLE posts; --",
    ],
)
def test_hostile_queries_answer_200_with_a_message(seed: Seeder, client: TestClient, query: str) -> None:
    seed(posts=[draft("Haystack", body="A needle in the hay.")])
    response = client.get("/search", params={"q": query})
    assert response.status_code == 200
    page = soup(response)
    assert page.select(".search-result") or page.select_one(".search-message").get_text(strip=True)


def test_undecodable_query_bytes_answer_200(client: TestClient) -> None:
    response = client.get("/search?q=%ED%A0%80%FF%00needle%01")
    assert response.status_code == 200
    assert "\x00" not in response.text and "\x01" not in response.text


def test_operators_are_plain_words(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("Haystack", body="A needle in the hay.")])
    assert found(client, "NOT needle") == []  # "not" is a word the post does not contain
    assert found(client, "needle AND") == []
    assert found(client, "(needle") == ["Haystack"]
    assert "Search for words" in message(client, "*")


def test_long_queries_are_cut_and_say_so(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("Haystack", body="A needle in the hay.")])
    assert found(client, "needle " + "x" * 300) == []
    assert "first 200 characters" in message(client, "needle " + "x" * 300)


def test_an_empty_search_shows_the_form_without_a_message(client: TestClient) -> None:
    page = soup(client.get("/search"))
    assert page.select_one("main form[role=search], header form[role=search]") is not None
    assert page.select_one(".search-message") is None


def test_results_are_paginated_and_keep_the_query(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft(f"Post {n}", days_ago=n, body="common & word") for n in range(1, 13)])
    first, second = soup(client.get("/search?q=common")), soup(client.get("/search?q=common&page=2"))
    assert len(first.select(".search-result")) == 10 and len(second.select(".search-result")) == 2
    assert first.select_one(".pagination a[rel=next]")["href"] == "/search?q=common&page=2"
    beyond = soup(client.get("/search?q=common&page=3"))
    assert "There is no page 3 of results" in beyond.select_one(".search-message").get_text()
    assert client.get("/search?q=common&page=x").status_code == 400


def test_the_search_box_is_in_the_header(client: TestClient) -> None:
    form = soup(client.get("/search")).select_one("header.site-header form[role=search]")
    assert form["action"] == "/search" and form["method"] == "get"
    assert form.select_one("label")["for"] == form.select_one("input[name=q]")["id"]
    assert form.select_one("button[type=submit]") is not None


@pytest.fixture
def example_client(tmp_path: Path) -> TestClient:
    from pebbleblog import create_app, load_settings

    shutil.copytree(
        REPO / "example_site",
        tmp_path / "example_site",
        ignore=shutil.ignore_patterns("*.db", "*.db-*", ".secret_key"),
    )
    shutil.copytree(REPO / "themes", tmp_path / "themes")
    return TestClient(create_app(load_settings(tmp_path / "example_site", environ={})))


def test_the_example_site_finds_hamstring(example_client: TestClient) -> None:
    with example_client as client:
        page = soup(client.get("/search?q=hamstring"))
        links = [a["href"] for a in page.select(".search-result .post-title a")]
        assert links == ["/posts/low-back-hamstring-crossover-stretch/"]
        assert page.select_one(".search-snippet mark") is not None
        header = page.select_one("header.remaley-header")
        assert header is not None and header.select_one("form[role=search]") is not None


@pytest.mark.anyio
async def test_the_migration_indexes_existing_posts_and_pages(tmp_path: Path) -> None:
    import aiosqlite

    from pebbleblog.storage import migrations

    version = next(m.version for m in migrations.available() if m.name == "0005_search.sql")
    async with aiosqlite.connect(tmp_path / "old.db", isolation_level=None) as conn:
        await migrations.apply(conn, target=version - 1)
        await conn.execute(
            "INSERT INTO posts (slug, title, body_source, body_html, render_version, status, published_at,"
            " created_at, updated_at) VALUES ('p', 'Old post', 'kept words', '', 1, 'published',"
            " '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')"
        )
        await conn.execute(
            "INSERT INTO pages (slug, title, body_source, body_html, render_version, status, created_at,"
            " updated_at) VALUES ('g', 'Old page', 'kept too', '', 1, 'published', '2024-01-01T00:00:00Z',"
            " '2024-01-01T00:00:00Z')"
        )
        await migrations.apply(conn, target=version)
        async with conn.execute(
            "SELECT rowid, kind FROM search_index WHERE search_index MATCH 'kept'"
        ) as cur:
            assert sorted(tuple(r) for r in await cur.fetchall()) == [(2, "post"), (3, "page")]


@pytest.mark.anyio
async def test_a_fragmented_index_is_merged_and_still_finds_everything(
    db: Database, settings: Settings
) -> None:
    from pebbleblog.storage import search as search_index

    zone = ZoneInfo("UTC")
    for number in range(search_index.MOST_SEGMENTS + 4):  # one transaction each: a segment each
        form = PostForm(title=f"Note {number}", body=f"fascia word{number}", status="published",
                        date="2024-05-01", time="10:00")  # fmt: skip
        await editor.save_post(db, None, form, zone, NOW)
    before = await search_index.segment_count(db.reader)
    assert before > search_index.MOST_SEGMENTS
    found = await search.search(db, settings, "fascia", 1, NOW)
    assert await search_index.compact_index(db)
    assert await search_index.segment_count(db.reader) == 1
    assert not await search_index.compact_index(db)  # nothing more to merge
    again = await search.search(db, settings, "fascia", 1, NOW)
    assert [f.hit.title for f in again.result.items] == [f.hit.title for f in found.result.items]
    assert again.result.total == search_index.MOST_SEGMENTS + 4
    assert [f.hit.title for f in (await search.search(db, settings, "word3", 1, NOW)).result.items] == [
        "Note 3"
    ]
