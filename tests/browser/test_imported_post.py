"""A blog moved from Pebble, in a real browser: an old link lands on the post, its comments are threaded
with avatars, and the comments still awaiting moderation are only in the owner's queue."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from .conftest import REPO_ROOT, Server, serve

pytestmark = pytest.mark.browser

SAMPLE = REPO_ROOT / "tests" / "data" / "pebble-sample"
OLD_LINK = "/2024/03/05/1709647957412.html"
POST = "/posts/three-stretches-for-desk-bound-shoulders/"
TITLE = "Three stretches for desk-bound shoulders"
OWNER, PASSWORD = "hannah", "cedar cove since 2009"


def _pebbleblog(*args: str, stdin: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pebbleblog", *args], input=stdin, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"pebbleblog {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A new site, the Pebble sample imported with the command line (its time zone set as advised)."""
    site = tmp_path_factory.mktemp("moved") / "site"
    _pebbleblog("init", str(site))
    config = site / "pebbleblog.toml"
    config.write_text(config.read_text().replace('timezone = "UTC"', 'timezone = "America/New_York"'))
    summary = _pebbleblog("import", str(site), str(SAMPLE))
    assert "comments: 7 new" in summary
    _pebbleblog("create-admin", str(site), "--username", OWNER, stdin=PASSWORD + "\n")
    with serve(site) as running:
        yield running


def test_an_old_link_shows_the_post_with_threaded_comments_and_avatars(
    server: Server, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context(server.url).new_page()
    page.goto(OLD_LINK)
    assert page.url == server.url + POST
    expect(page.locator("h1.post-title")).to_have_text(TITLE)
    comments = page.locator("li.comment")
    expect(comments).to_have_count(2)
    expect(page.locator("#comments-heading")).to_have_text("2 comments")
    first, reply = comments.nth(0), comments.nth(1)
    expect(first.locator(".comment-author")).to_have_text("Priya N.")
    expect(reply.locator(".comment-author")).to_have_text("Hannah Lindqvist")
    expect(reply).to_have_class(r"comment comment--depth-1 comment--reply")
    first_box, reply_box = first.bounding_box(), reply.bounding_box()
    assert first_box and reply_box and reply_box["x"] > first_box["x"], (
        "the reply is indented under its parent"
    )
    for avatar in (first.locator("img.avatar"), reply.locator("img.avatar")):
        assert avatar.evaluate("img => img.complete && img.naturalWidth > 0"), "the avatar image loaded"
    expect(page.locator("body")).not_to_contain_text("Mark T.")  # held for moderation
    expect(page.locator("body")).not_to_contain_text("How often should I book")


def test_pending_comments_wait_in_the_owners_queue(
    server: Server, new_context: Callable[..., BrowserContext]
) -> None:
    listed = server.cli("comments")
    assert "Mark T." in listed and "Sam" in listed and "Priya" not in listed
    assert "2 pending comment(s)" in listed
    owner = new_context(server.url, java_script_enabled=False).new_page()
    owner.goto("/admin/login")
    owner.get_by_label("Username").fill(OWNER)
    owner.get_by_label("Password").fill(PASSWORD)
    owner.get_by_role("button", name="Sign in").click()
    owner.goto("/admin/comments")
    expect(owner.locator(".tabs")).to_contain_text("Pending (2)")
    queue = owner.locator("main")
    expect(queue).to_contain_text("How often should I book a massage if I have chronic neck pain?")
    expect(queue).to_contain_text("Following — same question!")
    expect(queue).not_to_contain_text("The doorway stretch helped")


def test_old_file_links_download_from_uploads(
    server: Server, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context(server.url).new_page()
    response = page.goto("/files/intake-form.txt")
    assert response is not None and response.ok
    assert page.url == server.url + "/uploads/files/intake-form.txt"
    assert Path(SAMPLE / "blogs/default/files/intake-form.txt").read_text() in page.content()
