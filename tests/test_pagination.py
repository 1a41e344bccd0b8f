"""Post lists paginated by key (?before=, ?after=): each post once, in order, both ways; old ?page= links."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from pebbleblog import create_app, load_settings
from pebbleblog.models import PostStatus

from .conftest import NOW, Seeder, draft, write_config

PER_PAGE = 3
TIE = NOW - timedelta(days=5, hours=1)  # four posts share this second, across a page boundary
LISTS = ["/blog/", "/", "/tags/t/", "/archive/2024/5/"]


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "html.parser")


def titles(page: BeautifulSoup) -> list[str]:
    return [a.get_text(strip=True) for a in page.select(".post-summary .post-title a")]


@pytest.fixture
def site(site_dir: Path, seed: Seeder) -> Iterator[tuple[TestClient, list[str]]]:
    """A site showing three posts a page, and its visible posts' titles, newest first."""
    write_config(site_dir, f"posts_per_page = {PER_PAGE}\n")
    specs = [(f"P{n:02d}", NOW - timedelta(days=n)) for n in range(1, 11)]
    specs += [(f"T{n}", TIE) for n in range(1, 5)]
    ids = seed(posts=[draft(title, published_at=at, tags=("t",)) for title, at in specs])
    seed(
        posts=[
            draft("Hidden draft", published_at=NOW - timedelta(days=2), status=PostStatus.DRAFT, tags=("t",)),
            draft("Scheduled", days_ago=-36500, tags=("t",)),  # due in a century
        ]
    )
    order = sorted(zip(specs, ids, strict=True), key=lambda s: (s[0][1], s[1]), reverse=True)
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        yield client, [title for (title, _), _ in order]


def walk(client: TestClient, url: str, rel: str) -> tuple[list[list[str]], list[str]]:
    """Follow the rel=next (older) or rel=prev (newer) links from ``url``: each page's titles and URL."""
    pages, urls = [], []
    while url is not None and len(urls) < 20:
        response = client.get(url)
        assert response.status_code == 200, url
        page = soup(response)
        pages.append(titles(page))
        urls.append(url)
        link = page.select_one(f".pagination a[rel={rel}]")
        url = link["href"] if link else None
    return pages, urls


@pytest.mark.parametrize("start", LISTS)
def test_older_links_walk_every_post_once_newest_first(
    site: tuple[TestClient, list[str]], start: str
) -> None:
    client, expected = site
    pages, urls = walk(client, start, "next")
    assert [title for page in pages for title in page] == expected
    assert [len(page) for page in pages] == [3, 3, 3, 3, 2]
    assert all(url.startswith(f"{start}?before=") for url in urls[1:])


@pytest.mark.parametrize("start", LISTS)
def test_newer_links_walk_back_to_the_first_page(site: tuple[TestClient, list[str]], start: str) -> None:
    client, expected = site
    older_pages, older_urls = walk(client, start, "next")
    pages, urls = walk(client, older_urls[-1], "prev")
    assert pages == older_pages[::-1]  # the same pages, the other way round
    assert urls[-1] == start  # the newest page is the list itself, without a key
    assert soup(client.get(start)).select_one(".pagination a[rel=prev]") is None


def test_posts_after_a_key_are_those_just_newer(site: tuple[TestClient, list[str]]) -> None:
    client, expected = site
    older = soup(client.get("/blog/")).select_one(".pagination a[rel=next]")["href"]
    key = older.removeprefix("/blog/?before=")  # the first page's last post
    page = soup(client.get(f"/blog/?after={key}"))
    assert titles(page) == expected[:2]  # the two posts newer than the key, newest first
    assert page.select_one(".pagination a[rel=prev]") is None
    assert titles(soup(client.get(page.select_one(".pagination a[rel=next]")["href"]))) == expected[2:5]


def test_scheduled_and_draft_posts_never_show_up_through_keys(site: tuple[TestClient, list[str]]) -> None:
    client, expected = site
    far_future = "9998-01-01T00:00:00Z_1"
    assert titles(soup(client.get(f"/blog/?before={far_future}"))) == expected[:PER_PAGE]
    assert titles(soup(client.get(f"/tags/t/?before={far_future}"))) == expected[:PER_PAGE]
    newest = soup(client.get("/blog/")).select_one(".post-summary .post-title a")
    assert newest.get_text(strip=True) == expected[0]
    pages, _ = walk(client, "/blog/?after=1000-01-01T00:00:00Z_1", "prev")
    assert {title for page in pages for title in page} == set(expected)
    # Past the newest visible post there is nothing, even though a scheduled post is there.
    response = client.get(f"/blog/?after={(NOW - timedelta(days=1)):%Y-%m-%dT%H:%M:%SZ}_999")
    assert response.status_code == 404
    assert "no more posts that way" in soup(response).select_one(".error-message").text


@pytest.mark.parametrize(
    "query",
    [
        "before=",
        "before=abc",
        "before=2024-06-01T12:00:00Z",
        "before=2024-06-01T12:00:00Z_",
        "before=2024-13-01T12:00:00Z_4",
        "before=2024-02-30T12:00:00Z_4",
        "before=2024-06-01 12:00:00Z_4",
        "before=2024-06-01T12:00:00Z_-4",
        "before=2024-06-01T12:00:00Z_4x",
        "before=2024-06-01T12:00:00Z_1234567890123456789",
        "after=0000-01-01T00:00:00Z_1",
        "after=%00",
        "after=２０２４-06-01T12:00:00Z_4",
    ],
)
@pytest.mark.parametrize("path", LISTS)
def test_a_malformed_key_is_a_400_that_says_what_to_fix(
    site: tuple[TestClient, list[str]], path: str, query: str
) -> None:
    client, _ = site
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    message = soup(response).select_one(".error-message").text
    assert "is not a place in this list" in message and "2024-06-01T12:00:00Z_42" in message


def test_two_positions_at_once_are_a_400(site: tuple[TestClient, list[str]]) -> None:
    client, _ = site
    response = client.get("/blog/?before=2024-06-01T12:00:00Z_4&after=2024-05-01T12:00:00Z_4")
    assert response.status_code == 400
    assert "Use ?before= or ?after=, not both" in soup(response).select_one(".error-message").text


@pytest.mark.parametrize("path", LISTS)
def test_old_page_numbers_redirect_to_where_their_posts_start(
    site: tuple[TestClient, list[str]], path: str
) -> None:
    client, expected = site
    first = client.get(f"{path}?page=1", follow_redirects=False)
    assert first.status_code == 302 and first.headers["location"] == path
    third = client.get(f"{path}?page=3", follow_redirects=False)
    assert third.status_code == 302 and third.headers["location"].startswith(f"{path}?before=")
    assert titles(soup(client.get(third.headers["location"]))) == expected[6:9]
    past_the_end = client.get(f"{path}?page=6")
    assert past_the_end.status_code == 404
    assert "There is no page 6 of this list any more" in past_the_end.text
    assert client.get(f"{path}?page=0").status_code == 400


def test_a_keyed_page_names_itself_as_canonical(site: tuple[TestClient, list[str]]) -> None:
    client, _ = site
    older = soup(client.get("/tags/t/")).select_one(".pagination a[rel=next]")["href"]
    page = soup(client.get(older))
    assert page.select_one("link[rel=canonical]")["href"] == f"http://testserver{older}"
    assert page.select_one("title").text.startswith("Posts tagged")


def test_the_month_list_stays_in_its_month(site_dir: Path, seed: Seeder) -> None:
    seed(
        posts=[
            draft("April", published_at=NOW.replace(month=4, day=30, hour=23)),
            draft("May 1", published_at=NOW.replace(month=5, day=1, hour=0)),
            draft("June", published_at=NOW.replace(hour=0)),
        ]
    )
    write_config(site_dir, "posts_per_page = 1\n")
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        pages, _ = walk(client, "/archive/2024/5/", "next")
        assert pages == [["May 1"]]
        older = client.get("/archive/2024/5/?before=2024-05-01T00:00:00Z_2")
        assert older.status_code == 404
        assert titles(soup(client.get("/archive/2024/4/?before=9000-01-01T00:00:00Z_1"))) == ["April"]


def test_a_latest_post_home_lists_posts_once_a_key_is_given(site_dir: Path, seed: Seeder) -> None:
    ids = seed(posts=[draft(f"P{n}", days_ago=n) for n in range(1, 5)])
    write_config(site_dir, 'home = "latest-post"\nposts_per_page = 2\n')
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        assert soup(client.get("/")).select_one("h1").get_text(strip=True) == "P1"  # the newest post in full
        key = f"2024-05-30T12:00:00Z_{ids[1]}"
        assert titles(soup(client.get(f"/?before={key}"))) == ["P3", "P4"]
        assert client.get("/?page=2", follow_redirects=False).headers["location"] == f"/blog/?before={key}"
