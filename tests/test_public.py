"""Public pages through the app: lists, permalinks, tags, archive, comments, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from pebbleblog.models import CommentStatus, Position, PostStatus

from .conftest import NOW, Seeder, draft, write_config


def soup(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "html.parser")


def titles(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [a.get_text(strip=True) for a in soup(response).select(".post-summary .post-title a")]


def test_home_lists_recent_posts_newest_first_with_read_more(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("Older", days_ago=3, body="First para.\n\nSecond para."), draft("Newer", days_ago=1)])
    page = client.get("/")
    assert page.status_code == 200
    assert titles(page) == ["Newer", "Older"]
    older = soup(page).select(".post-summary")[1]
    assert older.select_one(".post-excerpt").get_text(strip=True) == "First para."
    assert older.select_one(".read-more a")["href"] == "/posts/older/"


def test_home_is_paginated(seed: Seeder, client: TestClient, site_dir) -> None:  # type: ignore[no-untyped-def]
    ids = seed(posts=[draft(f"Post {n}", days_ago=n) for n in range(1, 13)])
    first = client.get("/blog/")
    assert len(titles(first)) == 10 and titles(first)[0] == "Post 1"
    older = soup(first).select_one(".pagination a[rel=next]")["href"]
    assert older == f"/blog/?before=2024-05-22T12:00:00Z_{ids[9]}"  # Post 10, ten days before NOW
    assert soup(first).select_one(".pagination a[rel=prev]") is None
    second = client.get(older)
    assert titles(second) == ["Post 11", "Post 12"]
    assert soup(second).select_one(".pagination a[rel=prev]")["href"] == "/blog/"
    assert soup(second).select_one(".pagination a[rel=next]") is None


@pytest.mark.parametrize("value", ["abc", "-1", "0", "1.5", "99999999999999999999", "%00", "١"])
def test_a_malformed_page_number_is_a_400_that_says_what_to_fix(client: TestClient, value: str) -> None:
    response = client.get(f"/blog/?page={value}")
    assert response.status_code == 400
    assert "The page number must be a whole number" in soup(response).select_one(".error-message").text


def test_a_page_past_the_end_is_a_404(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("Only")])
    response = client.get("/blog/?page=7")
    assert response.status_code == 404
    assert "There is no page 7 of this list any more" in response.text


def test_post_permalink_shows_body_tags_and_neighbours(seed: Seeder, client: TestClient) -> None:
    seed(
        posts=[
            draft("One", days_ago=3),
            draft(
                "Two", days_ago=2, tags=("Low Back", "news"), subtitle="A sub", body="## Part\n\nText *here*."
            ),
            draft("Three", days_ago=1),
        ]
    )
    page = soup(client.get("/posts/two/"))
    assert page.select_one("h1.post-title").get_text(strip=True) == "Two"
    assert page.select_one(".post-subtitle").text == "A sub"
    assert str(page.select_one(".post-body h2")) == "<h2>Part</h2>"
    assert page.select_one(".post-body em").text == "here"
    assert [a["href"] for a in page.select(".post-tags a")] == ["/tags/low-back/", "/tags/news/"]
    assert page.select_one(".post-neighbours a[rel=prev]").text.strip() == "← One"
    assert page.select_one(".post-neighbours a[rel=next]").text.strip() == "Three →"
    assert page.select_one("link[rel=canonical]")["href"] == "http://testserver/posts/two/"


def test_unknown_post_is_a_styled_404(client: TestClient) -> None:
    response = client.get("/posts/no-such-post/")
    assert response.status_code == 404
    page = soup(response)
    assert page.select_one("h1").text == "Page not found"
    assert page.select_one("link[rel=stylesheet]")["href"].startswith("/static/pebbleblog.css?v=")
    assert page.select_one("meta[name=robots]")["content"] == "noindex"


def test_unknown_address_is_a_styled_404(client: TestClient) -> None:
    response = client.get("/a/b/c/d")
    assert response.status_code == 404
    assert soup(response).select_one("h1").text == "Page not found"


def test_drafts_and_future_posts_stay_hidden(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("Draft", status=PostStatus.DRAFT), draft("Visible"), draft("Future", days_ago=-3650)])
    assert titles(client.get("/")) == ["Visible"]
    assert client.get("/posts/draft/").status_code == 404
    assert client.get("/posts/future/").status_code == 404


def test_tag_page_lists_only_that_tag(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("Tagged", tags=("Stretches",)), draft("Plain")])
    response = client.get("/tags/stretches/")
    assert titles(response) == ["Tagged"]
    assert "Posts tagged “Stretches”" in soup(response).select_one("h1").text
    assert client.get("/tags/none/").status_code == 404


def test_monthly_archive(seed: Seeder, client: TestClient) -> None:
    seed(posts=[draft("May post", days_ago=20), draft("June post", days_ago=0)])
    archive = soup(client.get("/archive/"))
    links = [(a.text, a["href"]) for a in archive.select(".archive-months a")]
    assert links == [("June 2024", "/archive/2024/6/"), ("May 2024", "/archive/2024/5/")]
    assert titles(client.get("/archive/2024/5/")) == ["May post"]
    assert client.get("/archive/2023/5/").status_code == 404
    assert client.get("/archive/2024/13/").status_code == 404


def test_archive_months_follow_the_site_time_zone(site_dir, seed: Seeder) -> None:  # type: ignore[no-untyped-def]
    write_config(site_dir, 'timezone = "America/New_York"\n')
    from pebbleblog import create_app, load_settings

    # 2024-06-01 02:00 UTC is still May 31 in New York.
    seed(posts=[draft("Late May", days_ago=0, published_at=NOW.replace(hour=2))])
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        assert titles(client.get("/archive/2024/5/")) == ["Late May"]
        assert client.get("/archive/2024/6/").status_code == 404


def test_static_page_and_reserved_slugs(seed: Seeder, client: TestClient) -> None:
    seed(pages=[("About Us", "We *stretch*.")])
    page = soup(client.get("/about-us"))
    assert page.select_one("h1").text == "About Us"
    assert page.select_one(".page-body em").text == "stretch"
    assert client.get("/no-such-page").status_code == 404


def test_slashless_list_addresses_redirect(client: TestClient) -> None:
    response = client.get("/blog?page=2", follow_redirects=False)
    assert response.status_code == 308 and response.headers["location"] == "/blog/?page=2"
    assert client.get("/archive", follow_redirects=False).headers["location"] == "/archive/"


def test_approved_comments_are_threaded_oldest_first(seed: Seeder, client: TestClient) -> None:
    (post_id,) = seed(posts=[draft("Talk")])
    seed(
        comments_=[
            dict(post_id=post_id, name="Ann", body="First!", website="https://ann.example", minutes=1),
            dict(post_id=post_id, name="Bob", body="Second", title="My own title", minutes=2),
            dict(post_id=post_id, name="Spammer", body="buy", status=CommentStatus.SPAM, minutes=3),
            dict(post_id=post_id, name="Pat", body="Waiting", status=CommentStatus.PENDING, minutes=4),
        ]
    )
    seed(
        comments_=[
            dict(post_id=post_id, name="Cy", body="Reply to Ann", parent_id=1, minutes=5),
            dict(post_id=post_id, name="Di", body="Reply to Cy", parent_id=5, minutes=6),
        ]
    )
    page = soup(client.get("/posts/talk/"))
    items = page.select(".comment-list > li")
    assert [li.select_one(".comment-author").text for li in items] == ["Ann", "Cy", "Di", "Bob"]
    assert [[c for c in li["class"] if c.startswith("comment--depth")] for li in items] == [
        ["comment--depth-0"],
        ["comment--depth-1"],
        ["comment--depth-2"],
        ["comment--depth-0"],
    ]
    assert [li.select_one(".comment-title").text for li in items] == [
        "Re: Talk",
        "Re: Talk",
        "Re: Talk",
        "My own title",
    ]
    ann = items[0].select_one("a.comment-author")
    assert ann["href"] == "https://ann.example" and ann["rel"] == ["nofollow", "ugc"]
    assert items[0].select_one("img.avatar")["alt"] == "Avatar: Ann"
    assert not any(li.get("style") for li in items)
    assert "Spammer" not in page.text and "Waiting" not in page.text


def test_a_comment_website_that_is_not_http_is_not_linked(seed: Seeder, client: TestClient) -> None:
    (post_id,) = seed(posts=[draft("Talk")])
    seed(comments_=[dict(post_id=post_id, name="Eve", body="hi", website="javascript:alert(1)")])
    page = soup(client.get("/posts/talk/"))
    assert page.select_one("a.comment-author") is None
    assert "javascript:" not in str(page.select_one(".comment-list"))


def test_comment_bodies_are_sanitised_and_names_escaped(seed: Seeder, client: TestClient) -> None:
    (post_id,) = seed(posts=[draft("Talk")])
    seed(
        comments_=[
            dict(
                post_id=post_id,
                name="<b>Mallory</b>",
                body="<script>alert(1)</script><img src=x onerror=alert(2)> see https://a.example.com",
            )
        ]
    )
    page = soup(client.get("/posts/talk/"))
    body = page.select_one(".comment-body")
    assert body.find("script") is None and body.find("img") is None
    assert body.select_one("a")["rel"] == ["nofollow", "ugc", "noopener"]
    assert page.select_one(".comment-author").text == "<b>Mallory</b>"


def test_home_can_show_the_latest_post_or_a_page(site_dir, seed: Seeder) -> None:  # type: ignore[no-untyped-def]
    from pebbleblog import create_app, load_settings

    seed(posts=[draft("Old", days_ago=2), draft("Latest", days_ago=1)], pages=[("Welcome", "Hi.")])
    write_config(site_dir, 'home = "latest-post"\n')
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        assert soup(client.get("/")).select_one("h1.post-title").text.strip() == "Latest"
        assert titles(client.get("/blog/")) == ["Latest", "Old"]
    write_config(site_dir, 'home = "page:welcome"\n')
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        assert soup(client.get("/")).select_one("h1").text == "Welcome"


def test_site_wide_blocks_on_every_page(site_dir, seed: Seeder) -> None:  # type: ignore[no-untyped-def]
    from pebbleblog import __version__, create_app, load_settings

    write_config(
        site_dir,
        """
        [contact]
        name = "Ada Lovelace"
        credentials = "LMT"
        email = "ada@example.com"
        phone = "(203) 555-0100"
        address = ["1 Main St", "Westport, CT"]

        [footer]
        copyright_holder = "Ada's Practice"

        [[navigation]]
        label = "About"
        url = "page:about"

        [[navigation]]
        label = "Book"
        url = "https://book.example/ada"

        [[navigation]]
        label = "Form"
        url = "upload:form.pdf"
    """,
    )
    seed(posts=[draft("Hello", days_ago=800)], pages=[("About", "x")])
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        for path in ("/", "/posts/hello/", "/about", "/archive/", "/nope"):
            page = soup(client.get(path))
            nav = [(a.text, a["href"]) for a in page.select("nav.site-nav a")]
            assert nav == [
                ("About", "/about"),
                ("Book", "https://book.example/ada"),
                ("Form", "/uploads/form.pdf"),
            ], path
            contacts = page.select("address.contact")
            assert len(contacts) == 2, path
            assert contacts[0].select_one(".contact-name").text == "Ada Lovelace, LMT"
            assert contacts[0].select_one(".contact-email")["href"] == "mailto:ada@example.com"
            assert contacts[0].select_one(".contact-phone")["href"] == "tel:2035550100"
            this_year = datetime.now(UTC).year
            assert page.select_one(".copyright").text == (
                f"© 2022–{this_year} Ada's Practice. All Rights Reserved."
            )
            powered = page.select_one(".powered-by")
            assert powered.get_text() == f"Powered by pebbleblog {__version__} | Login"
            assert powered.select("a")[-1]["href"].startswith("/admin/login?next=/")


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/", "/nope", "/static/pebbleblog.css"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_scheduled_post_appears_when_its_time_comes(seed: Seeder, client: TestClient) -> None:
    import anyio

    from pebbleblog import blog
    from pebbleblog.storage import Database

    seed(posts=[draft("Soon", days_ago=-1)])
    settings = client.app.state.settings  # type: ignore[attr-defined]

    async def visible_at(moment) -> list[str]:  # type: ignore[no-untyped-def]
        database = Database(settings.database_path)
        await database.open()
        try:
            return [p.title for p in (await blog.recent_posts(database, settings, Position(), moment)).items]
        finally:
            await database.close()

    assert anyio.run(visible_at, NOW) == []
    assert anyio.run(visible_at, NOW + timedelta(days=1, seconds=1)) == ["Soon"]


def test_pages_are_valid_html(seed: Seeder, client: TestClient) -> None:
    import html5lib

    (post_id,) = seed(
        posts=[draft("Valid", tags=("t",), body="## Head\n\n| a | b |\n|---|---|\n| 1 | 2 |")],
        pages=[("About", "Hi")],
    )
    seed(
        comments_=[
            dict(post_id=post_id, name="Ann", body="<p>para<blockquote>unclosed", website="https://a.b")
        ]
    )
    for path in (
        "/",
        "/posts/valid/",
        "/about",
        "/tags/t/",
        "/archive/",
        "/archive/2024/5/",
        "/nope",
        "/blog/?page=x",
        "/admin/login",
        "/search?q=x",
        "/search?q=head",
    ):
        parser = html5lib.HTMLParser(strict=True)
        parser.parse(client.get(path).text)  # raises on any parse error
        assert parser.errors == [], path


def test_archive_edges_never_fail(client: TestClient) -> None:
    for path in (
        "/archive/9999/12/",
        "/archive/9998/12/",
        "/archive/0/1/",
        "/archive/1000/1/",
        "/archive/99999999999999999999/1/",
    ):
        assert client.get(path).status_code == 404, path
    redirect = client.get("/archive/2024/05/", follow_redirects=False)
    assert redirect.status_code == 301 and redirect.headers["location"] == "/archive/2024/5/"


def test_a_page_cannot_take_a_slug_the_site_uses(seed: Seeder, client: TestClient) -> None:
    from pebbleblog.errors import BadRequest

    with pytest.raises(BadRequest, match="The slug “blog” is used by the site itself"):
        seed(pages=[("Blog", "x")])
    assert client.get("/blog/").status_code == 200


def test_long_paths_are_not_echoed_whole(client: TestClient) -> None:
    response = client.get("/posts/" + "a" * 5000 + "/")
    assert response.status_code == 404 and len(response.text) < 6000


def test_uploads_are_served_in_a_sandbox(settings, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    settings.uploads_dir.mkdir(exist_ok=True)
    (settings.uploads_dir / "evil.html").write_text("<script>alert(1)</script>")
    response = client.get("/uploads/evil.html")
    assert response.status_code == 200
    assert "sandbox" in response.headers["content-security-policy"]
    assert "script-src" not in response.headers["content-security-policy"]
    assert client.get("/uploads/../pebbleblog.toml").status_code == 404


def test_site_wide_blocks_follow_new_content_and_the_address_asked_for(site_dir, seed: Seeder) -> None:  # type: ignore[no-untyped-def]
    # The copyright years, feed links and business JSON-LD are kept per worker between changes.
    from pebbleblog import create_app, load_settings

    seed(posts=[draft("Hello", days_ago=800)])
    this_year = datetime.now(UTC).year
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        assert soup(client.get("/")).select_one(".copyright").text.startswith(f"© 2022–{this_year} ")
        seed(posts=[draft("Older", days_ago=3000)])  # another connection: the content counter moves
        assert (
            soup(client.get("/posts/hello/")).select_one(".copyright").text.startswith(f"© 2016–{this_year} ")
        )
        feed = soup(client.get("/posts/hello/", headers={"host": "other.example"}))
        hrefs = [link["href"] for link in feed.select('link[rel=alternate][title^="Test Blog"]')]
        assert hrefs and all(h.startswith("http://other.example/feeds/") for h in hrefs)
