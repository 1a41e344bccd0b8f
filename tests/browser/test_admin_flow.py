"""The owner runs the site from the admin in a real browser, without JavaScript."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .conftest import RELAXED_COMMENTS, Server, copy_example_site, serve

pytestmark = pytest.mark.browser

POST = "/posts/low-back-hamstring-crossover-stretch/"
OWNER, PASSWORD = "diana", "stretch every single day"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    site = copy_example_site(tmp_path_factory.mktemp("admin"), RELAXED_COMMENTS)
    created = subprocess.run(
        [sys.executable, "-m", "pebbleblog", "create-admin", str(site), "--username", OWNER],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    with serve(site, workers=2) as running:
        yield running


def post_comment_over_http(server: Server, name: str, body: str) -> None:
    """Post a comment the way a browser's form would (fetch the form, send it back)."""
    with urllib.request.urlopen(server.url + POST, timeout=10) as response:
        html = response.read().decode()
    token = html.split('name="token" value="', 1)[1].split('"', 1)[0]
    data = urllib.parse.urlencode({"token": token, "name": name, "body": body, "action": "post"}).encode()
    request = urllib.request.Request(server.url + POST + "comments", data=data)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200  # the 303 was followed to the post page


def sign_in_from_footer(page: Page) -> None:
    page.goto(POST)
    page.get_by_role("link", name="Login").click()
    page.get_by_label("Username").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_owner_approves_in_bulk_and_the_reader_sees_it(
    server: Server, new_context: Callable[..., BrowserContext]
) -> None:
    reader = new_context(server.url, java_script_enabled=False).new_page()
    reader.goto(POST)
    reader.locator("#c-name").fill("Rita Reader")
    reader.locator("#c-body").fill("Does this help with sciatica?")
    reader.get_by_role("button", name="Post comment").click()
    expect(reader.locator(".comment--pending")).to_contain_text("Does this help with sciatica?")
    post_comment_over_http(server, "Second Reader", "Thank you for this.")
    post_comment_over_http(server, "Third Reader", "Tried it today.")

    owner = new_context(server.url, java_script_enabled=False).new_page()
    sign_in_from_footer(owner)
    assert owner.url.endswith(POST)  # back where the owner came from
    expect(owner.locator(".powered-by")).to_contain_text("Logout")
    owner.locator(".powered-by").get_by_role("link", name="Admin").click()
    owner.get_by_role("navigation", name="Admin").get_by_role("link", name="Comments").click()
    expect(owner.locator(".tabs")).to_contain_text("Pending (3)")
    for name in ("Rita Reader", "Second Reader", "Third Reader"):
        owner.get_by_label(f"Select the comment by {name}").check()
    owner.get_by_role("button", name="Approve").click()
    expect(owner.locator(".flash")).to_have_text("3 comments approved.")

    reader.reload()
    mine = reader.locator(".comment", has_text="Does this help with sciatica?")
    expect(mine).to_be_visible()
    expect(mine.locator(".comment-status")).to_have_count(0)
    expect(reader.locator(".comment", has_text="Tried it today.")).to_be_visible()


def test_owner_writes_previews_schedules_uploads_and_links(
    server: Server, new_context: Callable[..., BrowserContext], tmp_path: Path
) -> None:
    owner = new_context(server.url, java_script_enabled=False, accept_downloads=True).new_page()
    sign_in_from_footer(owner)
    owner.goto("/admin/posts/new")
    owner.get_by_label("Title (required)").fill("Foam rolling for runners")
    owner.get_by_label("Post (Markdown)").fill("Roll **slowly** over the calf.")
    owner.get_by_label("Tags").fill("running, self-care")
    owner.get_by_label("State").select_option("published")
    owner.get_by_role("button", name="Preview").click()
    expect(owner.locator(".comment-preview strong")).to_have_text("slowly")
    owner.get_by_role("button", name="Save").click()
    expect(owner.locator(".flash")).to_contain_text("Saved post")
    owner.goto("/posts/foam-rolling-for-runners/")
    expect(owner.locator("h1.post-title")).to_have_text("Foam rolling for runners")

    owner.goto("/admin/posts/new")
    owner.get_by_label("Title (required)").fill("Winter hours")
    owner.get_by_label("Post (Markdown)").fill("We open at ten from December.")
    owner.get_by_label("State").select_option("published")
    owner.get_by_label("Date").fill("2099-12-01")
    owner.get_by_label("Time").fill("09:00")
    owner.get_by_role("button", name="Save").click()
    expect(owner.locator("tr", has_text="Winter hours")).to_contain_text("scheduled")
    assert owner.goto("/posts/winter-hours/").status == 404

    pdf = tmp_path / "Price List.pdf"
    pdf.write_bytes(PDF)
    owner.goto("/admin/uploads")
    owner.get_by_label("File (PDF").set_input_files(str(pdf))
    owner.get_by_role("button", name="Upload").click()
    expect(owner.locator(".flash")).to_contain_text("price-list.pdf")

    owner.goto("/admin/settings")
    rows = owner.locator("input[name$='-label']")
    empty = rows.count() - 2  # two empty rows for adding
    owner.locator(f"input[name='nav-{empty}-label']").fill("Price List")
    owner.locator(f"input[name='nav-{empty}-url']").fill("upload:price-list.pdf")
    owner.get_by_role("button", name="Save settings").click()
    expect(owner.locator(".flash")).to_have_text("Settings saved.")

    visitor = new_context(server.url, accept_downloads=True).new_page()
    visitor.goto("/")
    link = visitor.get_by_role("navigation", name="Site").get_by_role("link", name="Price List")
    with visitor.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == PDF


@pytest.mark.parametrize(
    "path",
    [
        "/admin/login",
        "/admin/",
        "/admin/comments",
        "/admin/posts/new",
        "/admin/settings",
        "/admin/uploads",
        "/admin/users",
    ],
)
def test_admin_screens_have_no_serious_accessibility_violations(
    server: Server, new_context: Callable[..., BrowserContext], path: str
) -> None:
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

    page = new_context(server.url).new_page()
    if path != "/admin/login":
        sign_in_from_footer(page)
    page.goto(path)
    violations = [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
