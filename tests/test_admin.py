"""The admin through HTTP: sign-in and sessions, CSRF on every POST route, roles, the queue, the editor."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from bs4 import BeautifulSoup
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from pebbleblog import accounts, create_app, load_settings
from pebbleblog.models import CommentStatus, Role
from pebbleblog.security import CSRF_MARK
from pebbleblog.storage import Database

from .conftest import NOW, Seeder, draft, write_config

OWNER, MODERATOR, PASSWORD = "diana", "mod", "correct horse battery"


def page(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "html.parser")


def make_user(site: Path, username: str, role: Role) -> None:
    async def go() -> None:
        db = Database(load_settings(site, environ={}).database_path)
        await db.open()
        try:
            await accounts.create_user(db, username, PASSWORD, role, NOW)
        finally:
            await db.close()

    anyio.run(go)


@pytest.fixture
def site(site_dir: Path, seed: Seeder) -> Path:
    write_config(site_dir, "\n[comments]\nmin_seconds = 0\nflood_seconds = 0\n")
    seed(posts=[draft("Talk")], pages=[("About", "About us.")])
    make_user(site_dir, OWNER, Role.OWNER)
    make_user(site_dir, MODERATOR, Role.MODERATOR)
    return site_dir


@pytest.fixture
def browser(site: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings(site, environ={})), follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, username: str = OWNER, password: str = PASSWORD, target: str = ""):  # type: ignore[no-untyped-def]
    token = page(client.get("/admin/login")).select_one("input[name=token]")["value"]
    return client.post(
        "/admin/login", data={"token": token, "username": username, "password": password, "next": target}
    )


def csrf_of(client: TestClient, path: str = "/admin/") -> str:
    return str(page(client.get(path)).select_one("input[name=csrf]")["value"])


def test_the_footer_login_link_leads_to_sign_in_and_back(browser: TestClient) -> None:
    post = page(browser.get("/posts/talk/"))
    login = post.select(".powered-by a")[-1]
    assert login.text == "Login" and login["href"] == "/admin/login?next=/posts/talk/"
    response = sign_in(browser, target="/posts/talk/")
    assert response.status_code == 303 and response.headers["location"] == "/posts/talk/"
    footer = page(browser.get("/posts/talk/")).select_one(".powered-by")
    assert "Logout" in footer.text and "Login" not in footer.text


def test_admin_pages_need_sign_in(browser: TestClient) -> None:
    for path in ("/admin/", "/admin/comments", "/admin/posts", "/admin/settings", "/admin/users"):
        response = browser.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/admin/login?next=")


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/admin/\r\nx",
    ],
)
def test_sign_in_never_redirects_off_site(browser: TestClient, target: str) -> None:
    response = sign_in(browser, target=target)
    assert response.status_code == 303 and response.headers["location"] == "/admin/"


def test_wrong_password_is_refused_and_throttled(browser: TestClient) -> None:
    for _ in range(5):
        refused = sign_in(browser, password="not the password")
        assert refused.status_code == 401
        assert "The username or password is not right." in refused.text
    throttled = sign_in(browser)  # even the right password waits now
    assert throttled.status_code == 429 and "Too many failed sign-ins" in throttled.text
    assert page(throttled).select_one("#l-username")["value"] == OWNER


def test_throttling_holds_across_workers(site: Path) -> None:
    with TestClient(create_app(load_settings(site, environ={})), follow_redirects=False) as one:
        for _ in range(5):
            assert sign_in(one, password="nope nope nope").status_code == 401
    with TestClient(create_app(load_settings(site, environ={})), follow_redirects=False) as two:
        assert sign_in(two).status_code == 429


def test_success_resets_the_failure_count(browser: TestClient) -> None:
    for _ in range(4):
        sign_in(browser, password="nope nope nope")
    assert sign_in(browser).status_code == 303
    browser.cookies.clear()
    for _ in range(4):
        assert sign_in(browser, password="nope nope nope").status_code == 401


def test_sign_in_rotates_the_session_and_logout_ends_it(browser: TestClient) -> None:
    browser.cookies.set("pb_session", "attacker-chosen-value", domain="testserver.local")
    response = sign_in(browser)
    cookie = response.cookies.get("pb_session")
    assert cookie and cookie != "attacker-chosen-value"
    browser.cookies.clear()
    browser.cookies.set("pb_session", cookie, domain="testserver.local")
    assert browser.get("/admin/").status_code == 200
    assert browser.post("/admin/logout", data={"csrf": csrf_of(browser)}).status_code == 303
    browser.cookies.set("pb_session", cookie, domain="testserver.local")  # replaying the old cookie
    assert browser.get("/admin/").status_code == 303


def test_session_cookie_flags(browser: TestClient) -> None:
    header = sign_in(browser).headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header
    assert "Secure" not in header  # plain http in tests; https sets Secure (see next test)


def test_over_https_cookies_are_secure_and_hsts_is_sent(site: Path) -> None:
    app = create_app(load_settings(site, environ={}))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        response = sign_in(client)
        assert "Secure" in response.headers["set-cookie"]
        assert client.get("/").headers["strict-transport-security"].startswith("max-age=")


def test_every_post_route_is_csrf_protected(site: Path) -> None:
    app = create_app(load_settings(site, environ={}))
    unprotected = [
        route.path
        for route in app.routes
        if isinstance(route, Route)
        and "POST" in (route.methods or ())
        and not getattr(route.endpoint, CSRF_MARK, None)
    ]
    assert unprotected == []
    posts = [r for r in app.routes if isinstance(r, Route) and "POST" in (r.methods or ())]
    assert len(posts) >= 20
    assert all(isinstance(r, (Route, Mount)) for r in app.routes)


def test_admin_posts_without_the_token_or_from_another_site_are_refused(
    site: Path, browser: TestClient
) -> None:
    sign_in(browser)
    app = create_app(load_settings(site, environ={}))
    admin_posts = [
        r
        for r in app.routes
        if isinstance(r, Route)
        and "POST" in (r.methods or ())
        and r.path.startswith("/admin/")
        and r.path != "/admin/login"
    ]
    for route in admin_posts:
        path = re.sub(r"\{\w+:id\}", "1", route.path).replace("{token}", "x")
        missing = browser.post(path, data={"action": "approve"})
        assert missing.status_code in (403, 400), (path, missing.status_code)
        cross = browser.post(
            path, data={"csrf": csrf_of(browser)}, headers={"origin": "https://evil.example"}
        )
        assert cross.status_code == 403, (path, cross.status_code)
    assert browser.get("/posts/talk/").status_code == 200  # nothing was deleted on the way


def test_a_moderator_cannot_reach_settings_users_or_the_editor(browser: TestClient) -> None:
    sign_in(browser, MODERATOR)
    assert browser.get("/admin/comments").status_code == 200
    for path in ("/admin/settings", "/admin/users", "/admin/posts", "/admin/uploads", "/admin/pages/1"):
        response = browser.get(path)
        assert response.status_code == 403 and "Only the site's owner" in page(response).text, path
    nav = [a.text for a in page(browser.get("/admin/")).select(".admin-nav a")]
    assert "Settings" not in nav and "Users" not in nav
    saved = browser.post("/admin/settings", data={"csrf": csrf_of(browser), "site.title": "Hacked"})
    assert saved.status_code == 403


def post_comment(client: TestClient, body: str, name: str = "Reader") -> int:
    html = page(client.get("/posts/talk/"))
    token = html.select_one("#comment-form input[name=token]")["value"]
    response = client.post(
        "/posts/talk/comments",
        data={"token": token, "name": name, "body": body, "action": "post"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]
    return int(response.headers["location"].rsplit("-", 1)[1])


def statuses(site: Path) -> dict[int, str]:
    with sqlite3.connect(site / "pebbleblog.db") as conn:
        rows = dict(conn.execute("SELECT id, status FROM comments").fetchall())
    conn.close()
    return rows


def test_bulk_approve_from_the_queue(site: Path, browser: TestClient) -> None:
    with TestClient(create_app(load_settings(site, environ={}))) as reader:
        ids = [post_comment(reader, f"Comment {n}") for n in range(3)]
    sign_in(browser)
    queue = page(browser.get("/admin/comments"))
    assert [t.text for t in queue.select(".tabs a")][0] == "Pending (3)"
    assert "first comment from this commenter" in queue.select_one(".reasons").text
    assert queue.select_one(".badge").text == "3"
    response = browser.post(
        "/admin/comments",
        data={
            "csrf": csrf_of(browser),
            "status": "pending",
            "ids": [str(i) for i in ids],
            "action": "approve",
        },
    )
    assert response.status_code == 303 and "3+comments+approved" in response.headers["location"]
    assert set(statuses(site).values()) == {"approved"}
    with TestClient(create_app(load_settings(site, environ={}))) as stranger:
        assert all(f"Comment {n}" in stranger.get("/posts/talk/").text for n in range(3))


def test_select_all_matching_applies_to_every_page_of_the_filter(site: Path, browser: TestClient) -> None:
    with TestClient(create_app(load_settings(site, environ={}))) as reader:
        post_comment(reader, "buy cheap things")
        post_comment(reader, "lovely words")
    sign_in(browser)
    response = browser.post(
        "/admin/comments",
        data={"csrf": csrf_of(browser), "status": "pending", "q": "cheap", "all": "1", "action": "spam"},
    )
    assert response.status_code == 303
    assert sorted(statuses(site).values()) == ["pending", "spam"]
    found = page(browser.get("/admin/comments?status=spam&q=cheap"))
    assert len(found.select("tr[id^=c]")) == 1
    emptied = browser.post("/admin/comments/empty-spam", data={"csrf": csrf_of(browser)})
    assert emptied.status_code == 303 and list(statuses(site).values()) == ["pending"]


def test_blocking_a_commenter_sends_their_next_comment_to_spam(site: Path, browser: TestClient) -> None:
    with TestClient(create_app(load_settings(site, environ={}))) as reader:
        first = post_comment(reader, "first try")
        sign_in(browser)
        assert (
            browser.post(f"/admin/comments/{first}/block", data={"csrf": csrf_of(browser)}).status_code == 303
        )
        second = post_comment(reader, "second try")
    assert statuses(site)[first] == "spam" and statuses(site)[second] == "spam"
    with sqlite3.connect(site / "pebbleblog.db") as conn:
        reason = conn.execute("SELECT reasons FROM comments WHERE id = ?", (second,)).fetchone()[0]
    conn.close()
    assert "blocked commenter (client)" in reason


def test_the_owner_moderates_inline_on_the_post_page(site: Path, browser: TestClient) -> None:
    with TestClient(create_app(load_settings(site, environ={}))) as reader:
        comment_id = post_comment(reader, "held words")
    sign_in(browser)
    html = page(browser.get("/posts/talk/"))
    pending = html.select_one(f"#comment-{comment_id}")
    assert "Awaiting moderation" in pending.text and pending.select_one("button[value=approve]")
    form = pending.select_one("form.inline-moderation")
    response = browser.post(
        form["action"],
        data={"csrf": form.select_one("input[name=csrf]")["value"], "slug": "talk", "action": "approve"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/posts/talk/#comments"
    assert statuses(site)[comment_id] == CommentStatus.APPROVED


def test_approval_trusts_the_reader_s_browser(site: Path, browser: TestClient) -> None:
    with TestClient(create_app(load_settings(site, environ={}))) as reader:
        first = post_comment(reader, "please approve")
        sign_in(browser)
        browser.post(
            "/admin/comments", data={"csrf": csrf_of(browser), "ids": str(first), "action": "approve"}
        )
        second = post_comment(reader, "trusted now")
    assert statuses(site)[second] == "approved"


def test_write_preview_and_publish_a_post(browser: TestClient) -> None:
    sign_in(browser)
    csrf = csrf_of(browser, "/admin/posts/new")
    fields = {
        "csrf": csrf,
        "title": "Foam roller basics",
        "body": "Roll *slowly*.\n\n<script>x()</script>",
        "tags": "self-care, tools",
        "status": "published",
        "comments_open": "on",
    }
    preview = browser.post("/admin/posts/new", data={**fields, "action": "preview"})
    assert preview.status_code == 200
    assert str(page(preview).select_one(".comment-preview .post-body em")) == "<em>slowly</em>"
    assert page(preview).select_one("#f-title")["value"] == "Foam roller basics"
    saved = browser.post("/admin/posts/new", data={**fields, "action": "save"})
    assert saved.status_code == 303
    post = page(browser.get("/posts/foam-roller-basics/"))
    assert post.select_one("h1").text.strip() == "Foam roller basics"
    assert post.select_one(".post-body script") is None
    assert [a.text for a in post.select(".post-tags a")] == ["self-care", "tools"]


def test_schedule_a_post_and_bad_dates_are_explained(browser: TestClient) -> None:
    sign_in(browser)
    csrf = csrf_of(browser, "/admin/posts/new")
    base = {"csrf": csrf, "title": "Next year", "body": "Soon.", "status": "published", "action": "save"}
    bad = browser.post("/admin/posts/new", data={**base, "date": "2099-13-45", "time": "25:00"})
    assert bad.status_code == 400 and "Write the date as YYYY-MM-DD" in bad.text
    assert page(bad).select_one("#f-body").text == "Soon."
    assert (
        browser.post("/admin/posts/new", data={**base, "date": "2099-01-02", "time": "08:30"}).status_code
        == 303
    )
    assert browser.get("/posts/next-year/").status_code == 404
    listing = page(browser.get("/admin/posts"))
    assert any(td.text == "scheduled" for td in listing.select("td"))


def test_renaming_a_post_keeps_the_old_address(site: Path, browser: TestClient) -> None:
    sign_in(browser)
    form = page(browser.get("/admin/posts/1"))
    fields = {i["name"]: i.get("value", "") for i in form.select("form.editor input") if i.get("name")}
    fields.update(body=form.select_one("#f-body").text, status="published", slug="a-new-name", action="save")
    assert browser.post("/admin/posts/1", data=fields).status_code == 303
    moved = browser.get("/posts/talk/")
    assert moved.status_code == 301 and moved.headers["location"] == "/posts/a-new-name/"
    assert browser.get("/posts/a-new-name/").status_code == 200


def test_duplicate_slug_is_refused_with_the_input_kept(browser: TestClient) -> None:
    sign_in(browser)
    csrf = csrf_of(browser, "/admin/posts/new")
    response = browser.post(
        "/admin/posts/new",
        data={
            "csrf": csrf,
            "title": "Other",
            "slug": "talk",
            "body": "kept body",
            "status": "draft",
            "action": "save",
        },
    )
    assert response.status_code == 400
    assert "Another post already uses the slug “talk”" in page(response).select_one("#f-slug-error").text
    assert page(response).select_one("#f-body").text == "kept body"


def test_delete_a_post_after_confirming(browser: TestClient) -> None:
    sign_in(browser)
    confirm = page(browser.get("/admin/posts/1/delete"))
    assert "cannot be undone" in confirm.text
    form = confirm.select_one("main form")
    assert browser.post(form["action"], data={"csrf": form.select_one("input")["value"]}).status_code == 303
    assert browser.get("/posts/talk/").status_code == 404


PDF = b"%PDF-1.4\n%test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_upload_a_pdf_and_link_it_in_the_navigation(site: Path, browser: TestClient) -> None:
    sign_in(browser)
    csrf = csrf_of(browser, "/admin/uploads")
    response = browser.post(
        "/admin/uploads", data={"csrf": csrf}, files={"file": ("Intake Form (2).PDF", PDF, "application/pdf")}
    )
    assert response.status_code == 303 and "intake-form-2.pdf" in response.headers["location"]
    served = browser.get("/uploads/intake-form-2.pdf")
    assert served.content == PDF and served.headers["content-type"] == "application/pdf"
    assert served.headers["x-content-type-options"] == "nosniff"
    settings_form = page(browser.get("/admin/settings"))
    fields = {
        e["name"]: e.get("value", "")
        for e in settings_form.select("form input")
        if e.get("name") and e.get("type") != "checkbox"
    }
    fields.update({t["name"]: t.text for t in settings_form.select("form textarea")})
    fields.update(
        {
            "nav-0-label": "Download Intake Form",
            "nav-0-url": "upload:intake-form-2.pdf",
            "comments.hold_unknown": "on",
            "footer.powered_by": "on",
            "comments.avatars": "generated",
        }
    )
    saved = browser.post("/admin/settings", data=fields)
    assert saved.status_code == 303, page(saved).select_one(".form-message")
    with TestClient(create_app(load_settings(site, environ={}))) as other_worker:
        nav = page(other_worker.get("/")).select("nav.site-nav a")
        assert [(a.text, a["href"]) for a in nav] == [("Download Intake Form", "/uploads/intake-form-2.pdf")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("evil.pdf", b"<html><script>alert(1)</script>", "Upload a PDF, or a PNG, JPEG, GIF or WebP image."),
        ("photo.png", PDF, "This is a PDF document; its name must end in .pdf."),
        ("empty.pdf", b"", "Choose a file to upload."),
    ],
)
def test_uploads_are_checked_by_content(browser: TestClient, name: str, content: bytes, message: str) -> None:
    sign_in(browser)
    csrf = csrf_of(browser, "/admin/uploads")
    response = browser.post(
        "/admin/uploads", data={"csrf": csrf}, files={"file": (name, content, "application/pdf")}
    )
    assert response.status_code == 400 and message in page(response).select_one("#f-file-error").text


def test_settings_are_validated_and_nothing_is_half_saved(site: Path, browser: TestClient) -> None:
    sign_in(browser)
    form = page(browser.get("/admin/settings"))
    fields = {
        e["name"]: e.get("value", "")
        for e in form.select("form input")
        if e.get("name") and e.get("type") != "checkbox"
    }
    fields.update({"site.title": "New name", "comments.link_limit": "lots", "comments.avatars": "generated"})
    response = browser.post("/admin/settings", data=fields)
    assert response.status_code == 400 and "link_limit" in page(response).select_one(".form-message").text
    assert page(browser.get("/")).select_one(".site-title").text != "New name"


def test_owner_manages_users_and_passwords(site: Path, browser: TestClient) -> None:
    sign_in(browser)
    weak = browser.post(
        "/admin/users",
        data={"csrf": csrf_of(browser), "username": "helper", "password": "short", "role": "moderator"},
    )
    assert weak.status_code == 400 and "at least 10 characters" in weak.text
    added = browser.post(
        "/admin/users",
        data={
            "csrf": csrf_of(browser),
            "username": "helper",
            "password": "a long enough secret",
            "role": "moderator",
        },
    )
    assert added.status_code == 303
    with TestClient(create_app(load_settings(site, environ={})), follow_redirects=False) as other:
        assert sign_in(other, MODERATOR).status_code == 303
        assert other.get("/admin/comments").status_code == 200
        changed = browser.post("/admin/password", data={"csrf": csrf_of(browser)})  # missing fields
        assert changed.status_code == 400
        with TestClient(create_app(load_settings(site, environ={})), follow_redirects=False) as mod_session:
            sign_in(mod_session, MODERATOR)
            mod_csrf = csrf_of(mod_session, "/admin/password")
            ok = mod_session.post(
                "/admin/password",
                data={
                    "csrf": mod_csrf,
                    "current_password": PASSWORD,
                    "new_password": "another long secret",
                    "new_password_again": "another long secret",
                },
            )
            assert ok.status_code == 303
            assert mod_session.get("/admin/comments").status_code == 200  # this session stays
        assert other.get("/admin/comments").status_code == 303  # the other session ended


def test_cli_create_admin_reads_stdin_and_refuses_weak_passwords(site: Path) -> None:
    import subprocess
    import sys

    def create(username: str, password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pebbleblog", "create-admin", str(site), "--username", username],
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert create("ann", "ann-ann-ann-ann").returncode == 1
    assert "must not contain the username" in create("ann", "ann-ann-ann-ann").stderr
    assert "at least 10 characters" in create("ann", "short").stderr
    made = create("ann", "a perfectly fine secret")
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(site / "pebbleblog.db") as conn:
        stored = conn.execute("SELECT password_hash FROM users WHERE username = 'ann'").fetchone()[0]
    conn.close()
    assert stored.startswith("$argon2id$") and "perfectly" not in stored


def test_signing_in_to_another_account_does_not_reset_guesses_at_the_owner(browser: TestClient) -> None:
    for _ in range(2):
        for _ in range(2):
            assert sign_in(browser, OWNER, "a wrong guess!").status_code == 401
        assert sign_in(browser, MODERATOR).status_code == 303
        browser.cookies.clear()
    assert sign_in(browser, OWNER, "a wrong guess!").status_code == 401
    assert (
        sign_in(browser, OWNER).status_code == 429
    )  # five failures for the owner, whatever happened between


def test_parallel_guesses_cannot_pass_the_limit(site: Path) -> None:
    async def go() -> list[int]:
        from pebbleblog import accounts as acc

        settings = load_settings(site, environ={})
        db = Database(settings.database_path)
        await db.open()
        codes: list[int] = []

        async def attempt() -> None:
            try:
                await acc.sign_in(db, settings, OWNER, "a wrong guess!", "p" * 32, NOW)
            except acc.SignInRefused as refused:
                codes.append(refused.status_code)

        try:
            async with anyio.create_task_group() as group:
                for _ in range(20):
                    group.start_soon(attempt)
        finally:
            await db.close()
        return codes

    codes = anyio.run(go)
    assert codes.count(401) == 5 and codes.count(429) == 15


@pytest.mark.parametrize(
    "path",
    [
        "/admin/posts/99999999999999999999",
        "/admin/pages/99999999999999999999/delete",
        "/posts/talk/comments/99999999999999999999/edit",
    ],
)
def test_huge_ids_are_404_not_500(browser: TestClient, path: str) -> None:
    sign_in(browser)
    assert browser.get(path).status_code == 404


def test_odd_form_values_in_admin_actions_never_500(browser: TestClient) -> None:
    with TestClient(create_app(load_settings(browser.app.state.settings.site_dir, environ={}))) as reader:  # type: ignore[attr-defined]
        comment_id = post_comment(reader, "held")
    sign_in(browser)
    csrf = csrf_of(browser)
    moved = browser.post(
        f"/admin/comments/{comment_id}/moderate", data={"csrf": csrf, "action": "trash", "slug": "a/b"}
    )
    assert moved.status_code == 303 and moved.headers["location"] == "/admin/comments"
    assert browser.post("/admin/uploads/delete", data={"csrf": csrf, "name": "a\x00b"}).status_code == 404
    odd_role = browser.post(
        "/admin/users",
        data={"csrf": csrf, "username": "x", "password": "a long secret!", "role": "superadmin"},
    )
    assert odd_role.status_code == 400 and "Choose the role" in page(odd_role).text


def test_guessing_the_current_password_when_changing_it_is_throttled(browser: TestClient) -> None:
    sign_in(browser)
    csrf = csrf_of(browser, "/admin/password")
    fields = {
        "csrf": csrf,
        "new_password": "another long secret",
        "new_password_again": "another long secret",
    }
    for _ in range(5):
        wrong = browser.post("/admin/password", data={**fields, "current_password": "a wrong guess!"})
        assert wrong.status_code == 400 and "current password is not right" in page(wrong).text
    throttled = browser.post("/admin/password", data={**fields, "current_password": PASSWORD})
    assert throttled.status_code == 429 and "Too many failed" in page(throttled).text


def test_the_block_message_shows_a_name_with_ampersand_whole(site: Path, browser: TestClient) -> None:
    with TestClient(create_app(load_settings(site, environ={}))) as reader:
        comment_id = post_comment(reader, "hello", name="Tom & Jerry #1")
    sign_in(browser)
    response = browser.post(f"/admin/comments/{comment_id}/block", data={"csrf": csrf_of(browser)})
    assert response.status_code == 303
    assert "Blocked Tom &amp; Jerry #1." in browser.get(response.headers["location"]).text
