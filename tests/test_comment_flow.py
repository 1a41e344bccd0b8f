"""The comment flow through HTTP: post, preview, reply, refusals with kept input, own pending comments."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from pebbleblog import create_app, load_settings
from pebbleblog.cli import main

from .conftest import Seeder, draft, write_config

URL = "/posts/talk/"
POST_TO = "/posts/talk/comments"


def page(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "html.parser")


@pytest.fixture
def site(site_dir, seed: Seeder):  # type: ignore[no-untyped-def]
    write_config(site_dir, "\n[comments]\nmin_seconds = 0\n")
    seed(posts=[draft("Talk"), draft("Closed", comments_open=False)])
    return site_dir


@pytest.fixture
def reader(site) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(load_settings(site, environ={}))) as client:
        yield client


def form_fields(client: TestClient, url: str = URL) -> dict[str, str]:
    html = page(client.get(url))
    return {
        "token": html.select_one("#comment-form input[name=token]")["value"],
        "parent": html.select_one("#comment-form input[name=parent]")["value"],
    }


def send(client: TestClient, action: str = "post", **fields: str):  # type: ignore[no-untyped-def]
    data = {**form_fields(client), "name": "Ann", "body": "Lovely post.", "action": action, **fields}
    return client.post(POST_TO, data=data, follow_redirects=False)


def test_the_form_has_labelled_fields_prefilled_title_and_markup_help(reader: TestClient) -> None:
    html = page(reader.get(URL))
    form = html.select_one("#comment-form form")
    assert form["method"] == "post" and form["action"] == POST_TO
    for name in ("name", "email", "website", "title", "body", "remember"):
        field = form.select_one(f"[name={name}]")
        assert html.select_one(f"label[for={field['id']}]") is not None, name
    assert form.select_one("[name=title]")["value"] == "Re: Talk"
    assert "Never shown on the site" in html.select_one("#c-email-hint").text
    assert (
        "&lt;blockquote&gt;" in str(html.select_one("#c-body-hint"))
        or "<blockquote>" in html.select_one("#c-body-hint").text
    )
    # no script runs: JSON-LD is a data block, never executed
    assert all(s.get("type") == "application/ld+json" for s in html.select("script"))


def test_preview_shows_the_rendered_comment_and_stores_nothing(reader: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    response = send(reader, "preview", body="Hello *there* <script>alert(1)</script>", name="Ann")
    html = page(response)
    assert response.status_code == 200
    preview = html.select_one(".comment-preview .comment-body")
    assert str(preview) == '<div class="comment-body"><p>Hello <em>there</em> </p>\n</div>'
    assert html.select_one("#c-body").text == "Hello *there* <script>alert(1)</script>"
    assert html.select_one("#c-name")["value"] == "Ann"
    assert html.select(".comment-list li") == []


def test_posting_shows_the_pending_comment_to_its_author_alone(reader: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    response = send(reader, body="My own words")
    assert response.status_code == 303 and response.headers["location"].startswith(URL + "#comment-")
    html = page(reader.get(URL))
    assert "awaiting moderation" in html.select_one(".flash").text
    mine = html.select_one(".comment--pending")
    assert mine is not None and "My own words" in mine.text
    assert "only you can see this comment" in mine.select_one(".comment-status").text
    assert html.select_one("meta[name=robots]")["content"] == "noindex"
    assert html.select_one(".comments-heading").text == "0 comments"
    with TestClient(create_app(load_settings(site, environ={}))) as stranger:
        other = stranger.get(URL)
        assert "My own words" not in other.text and 'name="robots"' not in other.text
    assert page(reader.get(URL)).select_one(".flash") is None  # the message is shown once


def test_a_kept_thread_never_shows_one_readers_held_comment_to_another(
    reader: TestClient,
    seed: Seeder,
) -> None:
    # Same app, same process: the stranger's thread is built and kept first, then the author's
    # held comment joins only the author's own page, and the stranger's kept thread stays theirs.
    seed(comments_=[dict(post_id=1, name="Bea", body="Shown to all")])
    stranger = TestClient(reader.app)  # no cookies of its own; the app is already running
    assert "Shown to all" in stranger.get(URL + "?fresh=1").text
    held = send(reader, body="Held for now")
    assert held.status_code == 303, held.text
    mine = page(reader.get(URL))
    assert [li.select_one(".comment-body").text.strip() for li in mine.select(".comment-list > li")] == [
        "Shown to all",
        "Held for now",
    ]
    for fresh in ("2", "3"):
        other = page(stranger.get(URL + "?fresh=" + fresh))
        assert [li.select_one(".comment-body").text.strip() for li in other.select(".comment-list > li")] == [
            "Shown to all"
        ]
        assert other.select_one(".comments-heading").text == "1 comment"


def test_the_kept_blank_form_still_gets_a_fresh_token_each_time(site) -> None:  # type: ignore[no-untyped-def]
    # The blank form is kept whole but for its token, which is stamped with the time it was made.
    settings = load_settings(site, environ={"PEBBLEBLOG_SERVER_PAGE_CACHE": "false"})
    with TestClient(create_app(settings)) as client:
        first = form_fields(client)["token"]
        time.sleep(1.1)
        second = form_fields(client)["token"]
        assert first != second
        assert client.app.state.templates.env.fragment_cache.hits >= 2  # the form's parts were reused
        data = {"token": second, "parent": "", "name": "Ann", "body": "Fresh", "action": "post"}
        assert client.post(POST_TO, data=data, follow_redirects=False).status_code == 303


def test_cookies_are_signed_http_only_and_same_site(reader: TestClient) -> None:
    response = send(reader, remember="on")
    cookies = response.headers.get_list("set-cookie")
    names = sorted(c.split("=", 1)[0] for c in cookies)
    assert names == ["pb_commenter", "pb_flash", "pb_mine", "pb_remember"]
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Ann" not in cookie  # signed and encoded, not plain


def test_remember_me_prefills_the_next_form(reader: TestClient) -> None:
    send(reader, remember="on", email="ann@example.com", website="https://ann.example.com")
    html = page(reader.get(URL))
    assert html.select_one("#c-name")["value"] == "Ann"
    assert html.select_one("#c-email")["value"] == "ann@example.com"
    assert html.select_one("#c-website")["value"] == "https://ann.example.com"
    assert html.select_one("#c-remember").has_attr("checked")


def test_tampered_cookies_are_ignored(reader: TestClient) -> None:
    reader.cookies.set("pb_mine", "[1,2,3]")
    reader.cookies.set("pb_remember", "eyJuYW1lIjoiRXZlIn0.forged.sig")
    response = reader.get(URL)
    assert response.status_code == 200
    assert page(response).select_one("#c-name").get("value", "") == ""


@pytest.mark.parametrize(
    ("fields", "status", "message", "field"),
    [
        ({"body": "x" * 5001}, 400, "Your comment is 5001 characters; the limit is 5000.", "body"),
        ({"website": "javascript:alert(1)"}, 400, "starting with http:// or https://", "website"),
        ({"name": ""}, 400, "Please enter your name.", "name"),
        ({"token": "forged"}, 400, "could not be verified", None),
    ],
)
def test_refusals_keep_everything_typed(
    reader: TestClient, fields: dict[str, str], status: int, message: str, field: str | None
) -> None:
    typed = {
        "name": "Ann",
        "email": "ann@example.com",
        "website": "https://ann.example.com",
        "title": "My title",
        "body": "Kept words",
        **fields,
    }
    response = send(reader, **typed)
    html = page(response)
    assert response.status_code == status
    text = (html.select_one(f"#c-{field}-error") if field else html.select_one(".form-message")).text
    assert message in text
    assert html.select_one("#c-body").text == typed["body"]
    assert html.select_one("#c-title")["value"] == typed["title"]
    assert html.select_one("#c-email")["value"] == typed["email"]
    assert html.select(".comment-list li") == []


def test_too_fast_is_refused_with_a_way_to_retry(site, seed: Seeder) -> None:  # type: ignore[no-untyped-def]
    write_config(site, "\n[comments]\nmin_seconds = 30\n")
    with TestClient(create_app(load_settings(site, environ={}))) as client:
        response = send(client)
        assert response.status_code == 400
        assert (
            "Please wait a few seconds and press the button again"
            in page(response).select_one(".form-message").text
        )
        assert page(response).select_one("#c-body").text == "Lovely post."


def test_duplicate_flood_and_closed_posts_are_refused(reader: TestClient) -> None:
    assert send(reader).status_code == 303
    duplicate = send(reader)
    assert duplicate.status_code == 409 and "already posted this comment" in duplicate.text
    flood = send(reader, body="Something new")
    assert flood.status_code == 429 and "one comment every 15 seconds" in flood.text
    assert page(flood).select_one("#c-body").text == "Something new"
    closed_page = page(reader.get("/posts/closed/"))
    assert closed_page.select_one("#comment-form") is None
    assert "Comments are closed" in closed_page.select_one(".comments-closed").text
    token = form_fields(reader)["token"]
    closed = reader.post(
        "/posts/closed/comments", data={"token": token, "name": "A", "body": "b", "action": "post"}
    )
    assert closed.status_code == 403 and "Comments are closed on this post." in closed.text


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ("UPDATE posts SET comments_open = 0 WHERE slug = 'talk'", 403, "Comments are closed on this post."),
        ("UPDATE posts SET status = 'draft' WHERE slug = 'talk'", 404, "There is no post at"),
    ],
)
def test_a_post_closed_or_unpublished_elsewhere_takes_no_more_comments(
    site_dir, seed: Seeder, change: str, status: int, message: str
) -> None:  # type: ignore[no-untyped-def]
    """Each process keeps the posts comments were sent to, but a write from elsewhere (another
    worker, the CLI) that closes or unpublishes one is seen by the very next comment."""
    write_config(site_dir, "\n[comments]\nmin_seconds = 0\nflood_seconds = 0\n")
    seed(posts=[draft("Talk")])
    settings = load_settings(site_dir, environ={})
    with TestClient(create_app(settings)) as client:
        fields = {**form_fields(client), "name": "Ann", "action": "post"}
        first = client.post(POST_TO, data={**fields, "body": "First"}, follow_redirects=False)
        assert first.status_code == 303
        with closing(sqlite3.connect(settings.database_path)) as conn, conn:
            conn.execute(change)
        refused = client.post(POST_TO, data={**fields, "body": "Second"}, follow_redirects=False)
    assert refused.status_code == status and message in refused.text
    with closing(sqlite3.connect(settings.database_path)) as conn:
        assert [r[0] for r in conn.execute("SELECT body_source FROM comments")] == ["First"]


def test_a_form_from_another_site_is_refused(reader: TestClient) -> None:
    for headers in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
        data = {**form_fields(reader), "name": "A", "body": "b", "action": "post"}
        response = reader.post(POST_TO, data=data, headers=headers)
        assert response.status_code == 403 and "sent from another site" in response.text


@pytest.mark.parametrize(
    "body",
    [
        {"files": {"body": ("x.txt", b"hi", "text/plain")}},
        {"data": {f"f{i}": "x" for i in range(50)}},
        {"content": b"\xff\xfe\x00garbage", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    ],
)
def test_malformed_form_bodies_get_a_4xx_not_a_500(reader: TestClient, body: dict) -> None:  # type: ignore[type-arg]
    response = reader.post(POST_TO, **body)
    assert 400 <= response.status_code < 500, response.text[:300]


def test_reply_form_shows_the_parent_and_threads_the_reply(site, seed: Seeder, reader: TestClient) -> None:  # type: ignore[no-untyped-def]
    seed(comments_=[dict(post_id=1, name="Bea", body="Parent words", title="Bea's title")])
    html = page(reader.get(URL + "?reply=1"))
    assert html.select_one("#comment-form-heading").text == "Reply to Bea"
    assert "Parent words" in html.select_one(".replying-to").text
    assert html.select_one("input[name=parent]")["value"] == "1"
    assert html.select_one("#c-title")["value"] == "Bea's title"
    data = {
        **form_fields(reader, URL + "?reply=1"),
        "name": "Cy",
        "body": "A reply",
        "title": "Bea's title",
        "action": "post",
    }
    assert reader.post(POST_TO, data=data, follow_redirects=False).status_code == 303
    assert main(["approve", str(site), "2"]) == 0
    items = page(reader.get(URL)).select(".comment-list > li")
    assert [("comment--depth-1" in li["class"], li.select_one(".comment-author").text) for li in items] == [
        (False, "Bea"),
        (True, "Cy"),
    ]


def test_reply_to_a_missing_comment_is_ignored_in_the_form(reader: TestClient) -> None:
    html = page(reader.get(URL + "?reply=999"))
    assert html.select_one("#comment-form-heading").text == "Leave a comment"


def test_edit_and_delete_own_comment(reader: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    send(reader, body="First version")
    html = page(reader.get(URL))
    edit_url = html.select_one(".comment-actions a[href*=edit]")["href"].split("#")[0]
    form = page(reader.get(edit_url))
    assert form.select_one("#comment-form-heading").text == "Edit your comment"
    assert form.select_one("#c-body").text == "First version"
    token = form.select_one("#comment-form input[name=token]")["value"]
    saved = reader.post(
        edit_url,
        data={"token": token, "name": "Ann", "body": "Second version", "action": "post"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    after = page(reader.get(URL))
    assert "Second version" in after.select_one(".comment--pending").text
    assert "awaits moderation again" in after.select_one(".flash").text
    delete = after.select_one(".comment-actions form")
    removed = reader.post(
        delete["action"], data={"token": delete.select_one("input")["value"]}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert "Second version" not in reader.get(URL).text
    with TestClient(create_app(load_settings(site, environ={}))) as stranger:
        assert stranger.get(edit_url).status_code == 403


def test_editing_is_refused_after_the_window(site, reader: TestClient) -> None:  # type: ignore[no-untyped-def]
    write_config(site, "\n[comments]\nmin_seconds = 0\nedit_minutes = 0\n")
    with TestClient(create_app(load_settings(site, environ={}))) as client:
        send(client)
        response = client.get("/posts/talk/comments/1/edit")
        assert response.status_code == 403 and "can no longer be changed" in response.text


def test_owner_approval_from_the_cli_publishes_and_trusts(site, capsys) -> None:  # type: ignore[no-untyped-def]
    write_config(site, "\n[comments]\nmin_seconds = 0\nflood_seconds = 0\n")
    with TestClient(create_app(load_settings(site, environ={}))) as reader:
        send(reader, body="Please approve me")
        assert main(["comments", str(site)]) == 0
        listing = capsys.readouterr().out
        assert "#1" in listing and "why: first comment from this commenter" in listing
        assert main(["approve", str(site), "1"]) == 0
        with TestClient(create_app(load_settings(site, environ={}))) as stranger:
            assert "Please approve me" in stranger.get(URL).text
        later = send(reader, body="Second comment, trusted now")
        assert later.status_code == 303
        assert "Thank you! Your comment is published." in page(reader.get(URL)).select_one(".flash").text
        assert main(["approve", str(site), "99"]) == 1


def test_moderation_words_do_not_flag_the_business(reader: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    send(reader, body="Best massage in Westport!")
    assert main(["approve", str(site), "1"]) == 0
    assert send(reader, body="Another massage question").status_code in (303, 429)
    import sqlite3

    with sqlite3.connect(site / "pebbleblog.db") as conn:
        reasons = [r[0] for r in conn.execute("SELECT reasons FROM comments ORDER BY id")]
    conn.close()
    assert all("moderation word" not in r for r in reasons)


def test_forwarded_for_counts_only_from_a_trusted_proxy(site) -> None:  # type: ignore[no-untyped-def]
    app = create_app(load_settings(site, environ={}))
    # From an untrusted client, X-Forwarded-For is ignored: both posts count for the same client.
    with TestClient(app, client=("203.0.113.50", 1000)) as direct:
        assert send(direct, body="one").status_code == 303
        spoofed = direct.post(
            POST_TO,
            data={**form_fields(direct), "name": "A", "body": "two", "action": "post"},
            headers={"x-forwarded-for": "198.51.100.1"},
        )
        assert spoofed.status_code == 429
    # From the trusted proxy (127.0.0.1 by default), each forwarded client counts on its own.
    with TestClient(app, client=("127.0.0.1", 1000)) as proxy:
        for n, address in enumerate(("198.51.100.2", "198.51.100.3")):
            data = {**form_fields(proxy), "name": "B", "body": f"via proxy {n}", "action": "post"}
            response = proxy.post(
                POST_TO, data=data, headers={"x-forwarded-for": address}, follow_redirects=False
            )
            assert response.status_code == 303, response.text[:200]


def test_a_refusal_on_a_closed_post_still_shows_the_typed_text(reader: TestClient) -> None:
    token = form_fields(reader)["token"]
    response = reader.post(
        "/posts/closed/comments",
        data={"token": token, "name": "Ann", "body": "My long thoughts", "action": "post"},
    )
    assert response.status_code == 403
    assert page(response).select_one("#c-body").text == "My long thoughts"


def test_kept_comment_html_never_carries_one_readers_edit_links_to_another(
    reader: TestClient,
    site,  # type: ignore[no-untyped-def]
) -> None:
    # The thread keeps each comment's HTML by its content ({% cache %} in _comments.html); the
    # author's own comment, with its Edit and Delete, is personal and must not be kept or reused.
    send(reader, body="Mine to edit")
    assert main(["approve", str(site), "1"]) == 0
    app = reader.app
    stranger = TestClient(app)  # no cookies of its own; the app is already running for the reader
    stranger.get(URL)  # a stranger's render first: the comment's part is kept
    assert page(reader.get(URL)).select(".comment-actions a[href*=edit]"), "the author can edit"
    for _ in range(2):  # and after the author's render, strangers still get no edit link
        thread = page(stranger.get(URL + "?fresh=1")).select(".comment-list > li")
        assert [li.select_one(".comment-body").text.strip() for li in thread] == ["Mine to edit"]
        assert not thread[0].select(".comment-actions a[href*=edit]")
    assert app.state.templates.env.fragment_cache.hits >= 1  # the stranger's part was reused
