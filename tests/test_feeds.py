"""Atom and RSS feeds: well formed, only what is public, stable ids, dates with time zones."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from pebbleblog import create_app, load_settings
from pebbleblog.models import CommentStatus, PostStatus
from pebbleblog.settings import Settings

from .conftest import Seeder, draft, write_config

# The title is plain text: exact in Atom; in RSS its tags cannot be taken for markup (see feeds.py).
BOLD_TITLE = {"atom": "Second <b>bold</b> & co", "rss": "Second ‹b>bold‹/b> & co"}
FEEDS = [
    "/feeds/posts.{fmt}",
    "/feeds/comments.{fmt}",
    "/feeds/tags/stretch.{fmt}",
    "/feeds/posts/first/comments.{fmt}",
]


@pytest.fixture
def blog(seed: Seeder) -> dict[str, int]:
    first, second, _ = seed(
        posts=[
            draft("First", days_ago=3, tags=("Stretch",), body="Hello **world** & 1 < 2.\n\nMore text."),
            draft("Second <b>bold</b> & co", days_ago=2, tags=("Stretch", "Other")),
            draft("Secret draft", status=PostStatus.DRAFT, tags=("Stretch",)),
        ]
    )
    seed(
        comments_=[
            dict(post_id=first, name="Ann", body="Approved on first", minutes=1),
            dict(post_id=second, name="Bob", body="Approved on second", minutes=2),
            dict(post_id=first, name="Pat", body="Pending words", status=CommentStatus.PENDING, minutes=3),
            dict(post_id=first, name="Sam", body="Spam words", status=CommentStatus.SPAM, minutes=4),
            dict(post_id=first, name="Tia", body="Trashed words", status=CommentStatus.TRASH, minutes=5),
        ]
    )
    return {"first": first, "second": second}


def parse(client: TestClient, path: str) -> feedparser.FeedParserDict:
    response = client.get(path)
    assert response.status_code == 200, path
    fmt = path.rsplit(".", 1)[1]
    assert response.headers["content-type"].startswith(f"application/{fmt}+xml")
    assert "max-age" in response.headers["cache-control"]
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
    return parsed


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@pytest.mark.parametrize("path", FEEDS)
def test_every_feed_parses_cleanly_with_zoned_dates(
    blog: dict[str, int], client: TestClient, path: str, fmt: str
) -> None:
    parsed = parse(client, path.format(fmt=fmt))
    assert parsed.version == ("atom10" if fmt == "atom" else "rss20")
    assert parsed.entries
    for entry in parsed.entries:
        raw = entry.get("published") or entry.get("updated")
        assert raw.endswith(("Z", "+0000")), raw  # an explicit zone, not a floating time
        assert entry.published_parsed is not None
        assert entry.link.startswith("http://testserver/posts/")
        assert entry.id


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_posts_feed_lists_visible_posts_newest_first_with_escaped_content(
    blog: dict[str, int], client: TestClient, fmt: str
) -> None:
    parsed = parse(client, f"/feeds/posts.{fmt}")
    assert [e.title for e in parsed.entries] == [BOLD_TITLE[fmt], "First"]
    first = parsed.entries[1]
    html = first.content[0].value if fmt == "atom" else first.description
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("strong").text == "world"
    assert "& 1 < 2" in soup.text
    assert "More text." in soup.text  # full content by default
    assert first.link == "http://testserver/posts/first/"
    assert "Secret draft" not in str(parsed)


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_comment_feeds_hold_only_approved_comments(
    blog: dict[str, int], client: TestClient, fmt: str
) -> None:
    site_wide = parse(client, f"/feeds/comments.{fmt}")
    assert [e.author for e in site_wide.entries] == ["Bob", "Ann"]
    on_first = parse(client, f"/feeds/posts/first/comments.{fmt}")
    assert [e.author for e in on_first.entries] == ["Ann"]
    assert on_first.entries[0].link.endswith("/posts/first/#comment-1")
    for parsed in (site_wide, on_first):
        text = str(parsed)
        for hidden in ("Pending words", "Spam words", "Trashed words", "Pat", "Sam", "Tia"):
            assert hidden not in text


def test_tag_feed_holds_only_the_tags_visible_posts(blog: dict[str, int], client: TestClient) -> None:
    parsed = parse(client, "/feeds/tags/stretch.atom")
    assert [e.title for e in parsed.entries] == [BOLD_TITLE["atom"], "First"]
    assert parsed.feed.link == "http://testserver/tags/stretch/"
    assert [e.title for e in parse(client, "/feeds/tags/other.rss").entries] == [BOLD_TITLE["rss"]]


def test_rss_titles_and_names_cannot_be_taken_for_html(seed: Seeder, client: TestClient) -> None:
    """RSS cannot say a title is plain text and readers guess (feedparser takes one with a closing tag
    for HTML), so in RSS a "<" that would open a tag is written as "‹"; Atom keeps titles exact."""
    markup = "<img src=x onerror=alert(1)></img> <\x00b>x</b> 1 < 2"
    (post_id,) = seed(posts=[draft(markup, author="<i>Ann</i>")])
    seed(comments_=[dict(post_id=post_id, name="<b>Bob</b>", title="<script>alert(1)</script>", body="Hi")])
    for path in (
        "/feeds/posts.rss",
        "/feeds/comments.rss",
        "/feeds/posts/img-src-x-onerror-alert-1-img-b-x-b-1-2/comments.rss",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        parsed = feedparser.parse(response.content, sanitize_html=False)
        for entry in parsed.entries:
            assert entry.title_detail.type == "text/plain", (path, entry.title)
            assert "<" not in entry.title.replace("1 < 2", "") and "<" not in entry.author, (path, entry)
        assert parsed.feed.title_detail.type == "text/plain", path
    titles = [e.title for e in feedparser.parse(client.get("/feeds/posts.rss").content).entries]
    assert titles[0] == "‹img src=x onerror=alert(1)>‹/img> ‹b>x‹/b> 1 < 2"
    atom = feedparser.parse(client.get("/feeds/posts.atom").content, sanitize_html=False)
    assert atom.entries[0].title == "<img src=x onerror=alert(1)></img> <b>x</b> 1 < 2"
    assert atom.entries[0].title_detail.type == "text/plain"


@pytest.mark.parametrize(
    "path", ["/feeds/posts.json", "/feeds/tags/nope.atom", "/feeds/posts/secret-draft/comments.rss"]
)
def test_unknown_feeds_are_not_found(blog: dict[str, int], client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_ids_are_stable_across_requests_and_formats(blog: dict[str, int], client: TestClient) -> None:
    atom = [e.id for e in parse(client, "/feeds/posts.atom").entries]
    assert atom == [e.id for e in parse(client, "/feeds/posts.atom").entries]
    assert atom == [e.id for e in parse(client, "/feeds/posts.rss").entries]
    assert all(i.startswith("tag:testserver,") for i in atom)
    assert len(set(atom)) == 2


def test_summary_setting_and_entry_count(tmp_path: Path, seed: Seeder, settings: Settings) -> None:
    seed(posts=[draft(f"Post {n}", days_ago=n, body=f"Intro {n}.\n\nRest {n}.") for n in range(1, 6)])
    write_config(settings.site_dir, 'feed_content = "summary"\nfeed_entries = 3\n')
    with TestClient(create_app(load_settings(settings.site_dir, environ={}))) as client:
        for fmt in ("atom", "rss"):
            parsed = parse(client, f"/feeds/posts.{fmt}")
            assert [e.title for e in parsed.entries] == ["Post 1", "Post 2", "Post 3"]
            assert "Intro 1." in parsed.entries[0].summary
            assert "Rest 1." not in str(parsed.entries[0])


def test_links_and_ids_come_from_base_url(seed: Seeder, settings: Settings) -> None:
    seed(posts=[draft("Hello", tags=("t",))])
    write_config(settings.site_dir, 'base_url = "https://blog.example.com/"\n')
    with TestClient(create_app(load_settings(settings.site_dir, environ={}))) as client:
        atom = parse(client, "/feeds/posts.atom")
        assert atom.entries[0].link == "https://blog.example.com/posts/hello/"
        assert atom.entries[0].id.startswith("tag:blog.example.com,")
        assert atom.feed.links[1].href == "https://blog.example.com/feeds/posts.atom"
        rss = parse(client, "/feeds/posts.rss")
        assert rss.feed.link == "https://blog.example.com/"
        page = BeautifulSoup(client.get("/posts/hello/").text, "html.parser")
        hrefs = {link["href"] for link in page.select('link[rel="alternate"]')}
        assert "https://blog.example.com/feeds/posts.atom" in hrefs


def test_pages_advertise_their_feeds(blog: dict[str, int], client: TestClient) -> None:
    def alternates(path: str) -> set[str]:
        page = BeautifulSoup(client.get(path).text, "html.parser")
        return {
            link["href"].removeprefix("http://testserver")
            for link in page.select('head link[rel="alternate"]')
            if link["type"] in ("application/atom+xml", "application/rss+xml")
        }

    site_feeds = {"/feeds/posts.atom", "/feeds/posts.rss"}
    assert alternates("/") == site_feeds
    assert alternates("/tags/stretch/") == site_feeds | {
        "/feeds/tags/stretch.atom",
        "/feeds/tags/stretch.rss",
    }
    assert alternates("/posts/first/") == site_feeds | {
        "/feeds/posts/first/comments.atom",
        "/feeds/posts/first/comments.rss",
    }


def test_an_empty_site_still_has_valid_feeds(client: TestClient) -> None:
    for fmt in ("atom", "rss"):
        assert parse(client, f"/feeds/posts.{fmt}").entries == []
        assert parse(client, f"/feeds/comments.{fmt}").entries == []
