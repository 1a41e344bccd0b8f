"""The comment flow in a real browser against real uvicorn workers: preview and post without
JavaScript, the reader's own held comment, approval with the CLI, replies, remember-me, refusals that
keep what was typed, and the flood limit holding across two worker processes."""

from __future__ import annotations

import http.client
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import httpx2
import pytest
from bs4 import BeautifulSoup
from playwright.sync_api import BrowserContext, Locator, Page, expect

from .conftest import Server, copy_example_site, serve

pytestmark = pytest.mark.browser

POST_PATH = "/posts/low-back-hamstring-crossover-stretch/"
POST_TITLE = "Low Back/Hamstring Crossover Stretch"
FIRST_COMMENTER = "James Mackinder"  # the approved comment #1 that comes with the example site
PENDING_FLASH = (
    "Thank you! Your comment is awaiting moderation: until the site's owner approves it, only you can see it."
)
PENDING_MARK = "Awaiting moderation: only you can see this comment."


@pytest.fixture
def reader(new_context: Callable[..., BrowserContext], relaxed_server: Server) -> Callable[..., Page]:
    """Give a factory of pages on the relaxed server, each a separate reader (own browser context)."""

    def open_(**context_options: object) -> Page:
        return new_context(relaxed_server.url, **context_options).new_page()

    return open_


def _field(page: Page, label: str) -> Locator:
    return page.locator("#comment-form").get_by_label(label, exact=True)


def _fields(page: Page) -> dict[str, Locator]:
    return {
        "name": _field(page, "Name (required)"),
        "email": _field(page, "Email (optional)"),
        "website": _field(page, "Website (optional)"),
        "title": _field(page, "Title"),
        "body": _field(page, "Comment (required)"),
    }


def _remember(page: Page) -> Locator:
    return _field(page, "Remember my name, email and website in this browser")


def _type(page: Page, **values: str) -> None:
    """Type into the labelled fields, key by key, as a reader does (replacing what was there)."""
    fields = _fields(page)
    for name, value in values.items():
        fields[name].clear()
        fields[name].press_sequentially(value)


def _press(page: Page, button: str, status: int = 200) -> None:
    """Press a form button and check the status of the page the browser lands on."""
    with page.expect_navigation() as navigation:
        page.locator("#comment-form").get_by_role("button", name=button, exact=True).click()
    response = navigation.value
    assert response is not None and response.status == status, f"{button!r}: {response and response.status}"


def _comment(page: Page, comment_id: int) -> Locator:
    return page.locator(f".comment-list > li#comment-{comment_id}")


def _landed_comment_id(page: Page) -> int:
    """Return the id of the comment the browser was sent back to after posting (#comment-N)."""
    match = re.search(r"#comment-(\d+)$", page.url)
    assert match, f"posting did not lead back to the comment: {page.url}"
    return int(match.group(1))


def _count_comments(server: Server) -> int:
    return int(server.query("SELECT count(*) FROM comments")[0][0])


def test_post_without_javascript_is_held_shown_to_its_author_only_until_approved(
    reader: Callable[..., Page], relaxed_server: Server
) -> None:
    author = reader(java_script_enabled=False)
    response = author.goto(POST_PATH)
    assert response is not None and response.status == 200
    expect(author.get_by_role("heading", name="Leave a comment", exact=True)).to_be_visible()
    body = "Tried it *twice* today: my hamstrings thank you."
    _type(author, name="Rosa Vance", email="rosa@example.org", body=body)
    stored_before = _count_comments(relaxed_server)

    _press(author, "Preview")
    preview = author.locator(".comment-preview")
    expect(preview.get_by_role("heading", name="Preview (not posted yet)")).to_be_visible()
    expect(preview.locator(".comment-body em")).to_have_text("twice")
    expect(preview.locator(".comment-body")).to_have_text("Tried it twice today: my hamstrings thank you.")
    expect(preview.locator(".comment-author")).to_have_text("Rosa Vance")
    assert _count_comments(relaxed_server) == stored_before, "Preview stored a comment"
    expect(author.locator(".comment-list").get_by_text("my hamstrings thank you")).to_have_count(0)
    expect(author.locator(".flash")).to_have_count(0)
    expect(_fields(author)["body"]).to_have_value(body)

    _press(author, "Post comment")
    comment_id = _landed_comment_id(author)
    expect(author.get_by_role("status")).to_have_text(PENDING_FLASH)
    own = _comment(author, comment_id)
    expect(own).to_have_class(re.compile(r"\bcomment--pending\b"))
    expect(own.locator(".comment-status")).to_have_text(PENDING_MARK)
    expect(own.locator(".comment-body em")).to_have_text("twice")
    assert relaxed_server.query("SELECT status FROM comments WHERE id = ?", comment_id) == [("pending",)]

    other = reader()
    other.goto(POST_PATH)
    expect(_comment(other, 1)).to_be_visible()
    expect(_comment(other, comment_id)).to_have_count(0)
    expect(other.get_by_text("my hamstrings thank you")).to_have_count(0)

    relaxed_server.approve(comment_id)

    other.reload()
    shown = _comment(other, comment_id)
    expect(shown.locator(".comment-body em")).to_have_text("twice")
    expect(shown.locator(".comment-author")).to_have_text("Rosa Vance")
    expect(shown).not_to_have_class(re.compile(r"\bcomment--pending\b"))
    expect(shown.locator(".comment-status")).to_have_count(0)
    author.goto(POST_PATH)
    expect(_comment(author, comment_id).locator(".comment-status")).to_have_count(0)


def test_reply_is_threaded_under_its_parent_and_indented(
    reader: Callable[..., Page], relaxed_server: Server
) -> None:
    page = reader()
    page.goto(POST_PATH)
    parent = _comment(page, 1)
    parent.get_by_role("link", name=f"Reply to {FIRST_COMMENTER}", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?reply=1#comment-form$"))
    expect(page.get_by_role("heading", name=f"Reply to {FIRST_COMMENTER}", exact=True)).to_be_visible()
    replying_to = page.locator("#comment-form .replying-to")
    expect(replying_to.get_by_role("link", name=FIRST_COMMENTER, exact=True)).to_have_attribute(
        "href", "#comment-1"
    )
    expect(replying_to.locator("blockquote")).to_contain_text("This is an Amazing Stretch..!")
    expect(_fields(page)["title"]).to_have_value(f"Re: {POST_TITLE}")
    expect(page.locator("#comment-form input[name=parent]")).to_have_value("1")

    _type(page, name="Theo Marsh", body="Same here: the QL stretch fixed my desk back.")
    _press(page, "Post comment")
    reply_id = _landed_comment_id(page)
    expect(_comment(page, reply_id).locator(".comment-status")).to_have_text(PENDING_MARK)
    relaxed_server.approve(reply_id)

    page = reader()
    page.goto(POST_PATH)
    reply, parent = _comment(page, reply_id), _comment(page, 1)
    expect(reply).to_have_class(re.compile(r"\bcomment--depth-1\b"))
    expect(reply).to_have_class(re.compile(r"\bcomment--reply\b"))
    expect(parent).to_have_class(re.compile(r"\bcomment--depth-0\b"))
    expect(reply.locator(".comment-status")).to_have_count(0)
    parent_box, reply_box = parent.bounding_box(), reply.bounding_box()
    assert parent_box is not None and reply_box is not None
    assert reply_box["x"] > parent_box["x"], f"the reply is not indented: {reply_box} vs {parent_box}"
    assert reply_box["y"] > parent_box["y"], "the reply is drawn above its parent"
    follows = page.evaluate(
        "([a, b]) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)",
        [parent.element_handle(), reply.element_handle()],
    )
    assert follows, "the reply comes before its parent in the page"


def test_remember_me_fills_in_the_form_in_that_browser_only(reader: Callable[..., Page]) -> None:
    page = reader()
    page.goto(POST_PATH)
    identity = {"name": "Mina Okafor", "email": "mina@example.net", "website": "https://mina.example.net/"}
    _type(page, **identity, body="Remember me, please.")
    _remember(page).check()
    _press(page, "Post comment")
    _landed_comment_id(page)

    page.goto(POST_PATH)
    fields = _fields(page)
    for name, value in identity.items():
        expect(fields[name]).to_have_value(value)
    expect(fields["body"]).to_have_value("")
    expect(_remember(page)).to_be_checked()

    stranger = reader()
    stranger.goto(POST_PATH)
    for name, field in _fields(stranger).items():
        if name != "title":
            expect(field).to_have_value("")
    expect(_remember(stranger)).not_to_be_checked()


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        (
            "website",
            "ftp://x.example.com",
            "The website must be an address starting with http:// or https://; or leave it empty.",
        ),
        ("body", "x" * 5001, "Your comment is 5001 characters; the limit is 5000. Please shorten it"),
    ],
    ids=["website-not-http", "body-too-long"],
)
def test_refused_comment_comes_back_with_its_error_and_everything_typed(
    reader: Callable[..., Page], relaxed_server: Server, field: str, value: str, error: str
) -> None:
    page = reader()
    page.goto(POST_PATH)
    typed = {
        "name": "Ada Quill",
        "email": "ada@example.com",
        "website": "https://ada.example.com/",
        "title": "Refused, but kept",
        "body": "A comment that will be refused.",
    }
    _type(page, **{k: v for k, v in typed.items() if k != field})
    # A reader's browser enforces maxlength; a script or an old browser does not, so take it away.
    _fields(page)["body"].evaluate("el => el.removeAttribute('maxlength')")
    _fields(page)[field].fill(value)
    typed[field] = value
    _remember(page).check()
    stored_before = _count_comments(relaxed_server)

    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Post comment", exact=True).click()
    assert posted.value.status == 400
    page.wait_for_load_state()

    expect(page.locator("#comment-form .form-message")).to_have_text(
        "Please correct the fields marked below."
    )
    expect(page.locator(f"#c-{field}-error")).to_contain_text(error)
    fields = _fields(page)
    expect(fields[field]).to_have_attribute("aria-invalid", "true")
    for name, typed_value in typed.items():
        expect(fields[name], f"the {name} field lost its text").to_have_value(typed_value)
    expect(_remember(page)).to_be_checked()
    assert _count_comments(relaxed_server) == stored_before, "a refused comment was stored"


# --- two uvicorn workers, one database: the flood limit and duplicates hold across them ----------

FLOOD_COMMENTS = "[comments]\nmin_seconds = 0\nflood_seconds = 15\n"
MAX_ATTEMPTS = 200  # each is one new connection; enough to reach both workers many times over


@pytest.fixture(scope="module")
def flood_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Serve a fresh copy of the example site with the default flood limit, on two workers."""
    site = copy_example_site(tmp_path_factory.mktemp("flood"), FLOOD_COMMENTS)
    with serve(site, workers=2) as server:
        assert len(server.worker_pids) == 2, server.worker_pids
        yield server


def _connection_owner(server: Server, conn: http.client.HTTPConnection) -> int:
    """Return the pid of the worker holding the server end of ``conn`` (Linux /proc)."""
    assert conn.sock is not None, "the connection is closed"
    client_port = conn.sock.getsockname()[1]
    with open("/proc/net/tcp", encoding="ascii") as table:
        rows = [line.split() for line in table.read().splitlines()[1:]]
    inodes = {
        row[9]
        for row in rows
        if row[1].endswith(f":{server.port:04X}") and row[2].endswith(f":{client_port:04X}") and row[9] != "0"
    }
    assert len(inodes) == 1, f"no single server socket for client port {client_port}: {inodes}"
    socket_link = f"socket:[{inodes.pop()}]"
    for pid in server.worker_pids:
        fd_dir = f"/proc/{pid}/fd"
        for fd in os.listdir(fd_dir):
            try:
                if os.readlink(f"{fd_dir}/{fd}") == socket_link:
                    return pid
            except FileNotFoundError:
                continue
    raise AssertionError(f"no worker of {server.worker_pids} holds {socket_link}")


def _request(
    server: Server, method: str, path: str, form: dict[str, str] | None = None
) -> tuple[int, str, int]:
    """Send one request on a new connection; return its status, body and the worker that answered."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        body = urlencode(form) if form is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8")
        return response.status, text, _connection_owner(server, conn)
    finally:
        conn.close()


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="needs Linux /proc to tell workers apart")
def test_flood_limit_and_duplicates_hold_across_two_workers(flood_server: Server) -> None:
    status, html, _ = _request(flood_server, "GET", POST_PATH)
    assert status == 200
    token = BeautifulSoup(html, "html.parser").select_one("#comment-form input[name=token]")
    assert token is not None
    first = {"token": str(token["value"]), "name": "Quick Poster", "body": "First!", "action": "post"}

    status, _, first_worker = _request(flood_server, "POST", POST_PATH + "comments", first)
    assert status == 303, f"the first comment was not accepted: {status}"
    accepted_at = time.monotonic()

    # Alternate new texts (429: too soon) and the same text again (409: duplicate), each on a new
    # connection, until both kinds of refusal have been answered by both workers.
    answered: dict[str, Counter[int]] = {"flood": Counter(), "duplicate": Counter()}
    unexpected = []
    for attempt in range(MAX_ATTEMPTS):
        kind = "flood" if attempt % 2 == 0 else "duplicate"
        form = first if kind == "duplicate" else {**first, "body": f"Second thought #{attempt}"}
        status, html, worker = _request(flood_server, "POST", POST_PATH + "comments", form)
        expected = 429 if kind == "flood" else 409
        if status != expected:
            unexpected.append((attempt, kind, status, worker))
        answered[kind][worker] += 1
        if all(len(workers) == 2 for workers in answered.values()):
            break
    elapsed = time.monotonic() - accepted_at
    assert not unexpected, (
        f"(attempt, kind, status, worker) not refused as expected, {elapsed:.1f} s after the first "
        f"comment (flood_seconds = 15): {unexpected}"
    )
    for kind, workers in answered.items():
        assert set(workers) == set(flood_server.worker_pids), (
            f"{kind} refusals only reached workers {dict(workers)} of {flood_server.worker_pids} "
            f"in {MAX_ATTEMPTS} attempts (first comment went to {first_worker})"
        )
    stored = flood_server.query("SELECT body_source FROM comments WHERE author_name = 'Quick Poster'")
    assert stored == [("First!",)]


@pytest.mark.parametrize("action", ["preview", "post"])
def test_a_reply_to_a_malformed_parent_is_refused_not_a_server_error(
    relaxed_server: Server, action: str
) -> None:
    with httpx2.Client(base_url=relaxed_server.url, timeout=10) as client:
        html = client.get(POST_PATH).text
        token = BeautifulSoup(html, "html.parser").select_one("#comment-form input[name=token]")
        assert token is not None
        form = {
            "token": str(token["value"]),
            "name": "Odd",
            "body": f"Odd parent ({action})",
            "action": action,
        }
        response = client.post(POST_PATH + "comments", data={**form, "parent": "²"})
    assert response.status_code == (200 if action == "preview" else 400), response.status_code
    assert "The comment you are replying to could not be found." in response.text
