"""Conditional requests: public pages and feeds carry an ETag and answer 304 when unchanged."""

from __future__ import annotations

from starlette.testclient import TestClient

from .conftest import Seeder, draft


def test_an_unchanged_page_answers_304_and_a_change_gives_a_new_etag(
    seed: Seeder, client: TestClient
) -> None:
    seed(posts=[draft("First")])
    first = client.get("/blog/")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = client.get("/blog/", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    seed(posts=[draft("Second", days_ago=0)])
    changed = client.get("/blog/", headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag and "Second" in changed.text


def test_feeds_and_error_pages_are_conditional_too(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("First")])
    feed = client.get("/feeds/posts.atom")
    assert client.get("/feeds/posts.atom", headers={"if-none-match": feed.headers["etag"]}).status_code == 304
    assert "etag" not in client.get("/nope").headers  # only successful responses


def test_personal_pages_are_never_given_an_etag(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("Talk")])
    assert "etag" not in client.get("/admin/login").headers  # no-store
    client.cookies.set("pb_remember", "x")
    page = client.get("/posts/talk/")
    assert page.headers.get("cache-control") == "private, no-store" and "etag" not in page.headers


def test_static_files_have_hashed_urls_cached_for_a_year(client: TestClient) -> None:
    from bs4 import BeautifulSoup

    href = BeautifulSoup(client.get("/").text, "html.parser").select_one("link[rel=stylesheet]")["href"]
    assert href.startswith("/static/pebbleblog.css?v=") and len(href.split("v=")[1]) == 12
    css = client.get(href)
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client.get("/static/pebbleblog.css").headers["cache-control"] == "no-cache"


def test_a_head_request_has_the_get_responses_validators(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("First")])
    for path in ("/blog/", "/feeds/posts.atom", "/sitemap.xml"):
        head = client.head(path)  # first, so no kept page answers it: the app and its validators do
        get = client.get(path)
        assert head.status_code == 200 and head.content == b"", path
        assert head.headers["etag"] == get.headers["etag"], path
        assert head.headers["last-modified"] == get.headers["last-modified"], path
        assert head.headers["content-length"] == get.headers["content-length"], path
        again = client.head(path, headers={"if-none-match": get.headers["etag"]})
        assert again.status_code == 304 and again.content == b"", path
