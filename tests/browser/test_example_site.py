"""The example site in a real browser: the Remaley blog page as Pebble served it, downloads,
accessibility (axe), the 404 page and pages without JavaScript."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Locator, Page, expect

from pebbleblog import __version__

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
INTAKE_FORM = REPO_ROOT / "example_site" / "uploads" / "intake-form.pdf"

POST_PATH = "/posts/low-back-hamstring-crossover-stretch/"
POST_TITLE = "Low Back/Hamstring Crossover Stretch"
NAV_LABELS = ["Schedule an Appointment", "Purchase a Gift Certificate", "Download Intake Form"]
CONTACT_NAME = "Diana Remaley, LMT"
EMAIL = "Diana@RemaleyMassage.com"
PHONE = "(203)292-5362"
ADDRESS = ["19 Compo Road South", "Westport, CT"]
COPYRIGHT = "© 2017 Diana Remaley Massage Therapy. All Rights Reserved."

# The text of the original page (Pebble 2.6.4), in reading order.
FIRST_PARAGRAPH = (
    "Many clients who come into my office for a massage complain about low back pain. This is the "
    "season for gardening, sports, and long vacation car rides. All of these, in addition to the "
    "simple act of sitting at a desk all day, can aggravate the low back. The low back "
    "(lumbar/sacral) area is complicated, because there are a lot of muscles that lie over each "
    "other, and which are difficult to stretch due to the proximity of the pelvis bone."
)
SECOND_PARAGRAPH_SENTENCE = (
    "It takes some time to master, but know that the intention of the stretch is what leads to "
    "increased flexibility."
)
QL_SENTENCE = "The first, “QL”, attaches from the lowest rib to the top of the pelvis."
FEELS_GREAT = "It feels great!"
STRETCH_SENTENCE = "Take a deep breath and lean into the stretch for about 10 seconds."
LAST_PARAGRAPH = (
    "Keep working on your low back stretching – you'll also find that after a massage therapy "
    "session, this stretch will come much easier. I'd be happy to demonstrate this stretch for you "
    "the next time you're in my Westport office. Enjoy!"
)
COMMENTER = "James Mackinder"
COMMENT_TITLE = f"Re: {POST_TITLE}"
COMMENT_START = (
    "This is an Amazing Stretch..! I discovered through trial + error a very similar stretch to "
    "this one which released 20 years of intermittent, unpredictable + debilitating lower rhs back "
    "pain for me."
)
COMMENT_END = (
    "I have tried probably 100 different stretches over the past 20 years, many of which provided "
    "temporary relief, but none which were able to pinpoint the exact source of my discomfort + "
    "totally remove it."
)

BLOCKING_IMPACTS = {"serious", "critical"}


def _paragraph(scope: Page | Locator, text: str) -> Locator:
    """Return the one paragraph containing ``text``, checking the text case and quotes exactly."""
    paragraph = scope.locator("p").filter(has_text=text)
    expect(paragraph, f"one paragraph contains {text!r}").to_have_count(1)
    assert text in paragraph.inner_text(), f"the paragraph does not contain exactly {text!r}"
    return paragraph


def _comment_body(page: Page) -> Locator:
    body = _paragraph(page, COMMENT_START)
    text = body.inner_text().strip()
    assert text.startswith(COMMENT_START), text
    assert text.endswith(COMMENT_END), text
    return body


def _contact_items(region: Locator, where: str) -> list[tuple[str, Locator]]:
    email = region.get_by_role("link", name=EMAIL, exact=True)
    phone = region.get_by_role("link", name=PHONE, exact=True)
    expect(email).to_have_attribute("href", f"mailto:{EMAIL}")
    expect(phone).to_have_attribute("href", "tel:2032925362")
    return [
        (f"{where} contact name", region.get_by_text(CONTACT_NAME, exact=True)),
        (f"{where} email link", email),
        (f"{where} phone link", phone),
        *((f"{where} address {line!r}", region.get_by_text(line, exact=True)) for line in ADDRESS),
    ]


def _assert_visible_in_order(page: Page, items: list[tuple[str, Locator]]) -> None:
    """Check each element is shown on screen, and that they come in this order in the page."""
    width = page.evaluate("document.documentElement.clientWidth")
    boxes = []
    for label, locator in items:
        expect(locator, f"{label} is visible").to_be_visible()
        box = locator.bounding_box()
        assert box is not None, label
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{label} is off screen: {box}"
        boxes.append(box)
    handles = [locator.element_handle() for _, locator in items]
    misplaced = page.evaluate(
        """els => els.findIndex((el, i) => i > 0 &&
              !(els[i - 1].compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING))""",
        handles,
    )
    assert misplaced == -1, f"{items[misplaced][0]} comes before {items[misplaced - 1][0]}"
    labelled_boxes = zip([label for label, _ in items], boxes, strict=True)
    for (before, box_before), (label, box) in pairwise(labelled_boxes):
        assert box["y"] + box["height"] / 2 >= box_before["y"], f"{label} is drawn above {before}"


def _expect_post_and_comment(page: Page) -> None:
    expect(page.get_by_role("heading", level=1, name=POST_TITLE, exact=True)).to_be_visible()
    expect(page.get_by_text("My absolute favorite stretch!", exact=True)).to_be_visible()
    expect(_paragraph(page, FIRST_PARAGRAPH)).to_have_text(FIRST_PARAGRAPH)
    expect(page.get_by_role("img", name=f"Avatar: {COMMENTER}", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=COMMENT_TITLE, exact=True)).to_be_visible()
    expect(_comment_body(page)).to_be_visible()


def test_home_shows_the_remaley_page_in_order(page: Page) -> None:
    response = page.goto("/")
    assert response is not None and response.status == 200

    nav = page.get_by_role("navigation", name="Site")
    header, footer = page.get_by_role("banner"), page.get_by_role("contentinfo")
    avatar = page.get_by_role("img", name=f"Avatar: {COMMENTER}", exact=True)
    powered_by = footer.locator("p").filter(has_text="Powered by")
    login = footer.get_by_role("link", name="Login", exact=True)
    items = [
        *((f"nav link {label!r}", nav.get_by_role("link", name=label, exact=True)) for label in NAV_LABELS),
        *_contact_items(header, "header"),
        ("post title", page.get_by_role("heading", level=1, name=POST_TITLE, exact=True)),
        ("subtitle", page.get_by_text("My absolute favorite stretch!", exact=True)),
        ("first paragraph", _paragraph(page, FIRST_PARAGRAPH)),
        ("second paragraph", _paragraph(page, SECOND_PARAGRAPH_SENTENCE)),
        ("heading 'Anatomy lesson:'", page.get_by_role("heading", name="Anatomy lesson:", exact=True)),
        ("“QL” sentence", _paragraph(page, QL_SENTENCE)),
        ("'It feels great!'", _paragraph(page, FEELS_GREAT)),
        ("heading 'The Stretch:'", page.get_by_role("heading", name="The Stretch:", exact=True)),
        ("stretch sentence", _paragraph(page, STRETCH_SENTENCE)),
        ("last paragraph", _paragraph(page, LAST_PARAGRAPH)),
        ("comment avatar", avatar),
        ("comment heading", page.get_by_role("heading", name=COMMENT_TITLE, exact=True)),
        ("comment text", _comment_body(page)),
        ("copyright line", footer.get_by_text(COPYRIGHT, exact=True)),
        ("powered-by line", powered_by),
        ("login link", login),
        *_contact_items(footer, "footer"),
    ]
    _assert_visible_in_order(page, items)

    expect(_paragraph(page, FIRST_PARAGRAPH)).to_have_text(FIRST_PARAGRAPH)
    expect(_paragraph(page, LAST_PARAGRAPH)).to_have_text(LAST_PARAGRAPH)
    assert avatar.evaluate("img => img.complete && img.naturalWidth > 0"), "the avatar did not load"
    expect(powered_by).to_have_text(f"Powered by pebbleblog {__version__} | Login")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "remaley-home.png", full_page=True)

    with page.expect_response(lambda r: r.request.is_navigation_request()) as login_page:
        login.click()
    assert login_page.value.status == 200
    assert urlsplit(page.url).path == "/admin/login"
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_intake_form_link_downloads_the_pdf(page: Page, tmp_path: Path) -> None:
    page.goto("/")
    link = page.get_by_role("navigation", name="Site").get_by_role(
        "link", name="Download Intake Form", exact=True
    )
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == "intake-form.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF")
    assert data == INTAKE_FORM.read_bytes()


def test_permalink_shows_the_post_and_links_to_the_appointment_page(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1).get_by_role("link")).to_have_attribute("href", POST_PATH)

    response = page.goto(POST_PATH)
    assert response is not None and response.status == 200
    _expect_post_and_comment(page)

    page.get_by_role("navigation", name="Site").get_by_role(
        "link", name="Schedule an Appointment", exact=True
    ).click()
    expect(page.get_by_role("heading", level=1, name="Schedule an Appointment", exact=True)).to_be_visible()


@pytest.mark.parametrize("path", ["/", POST_PATH, "/blog/", "/no-such-page"])
def test_pages_have_no_serious_accessibility_violations(open_page: Callable[..., Page], path: str) -> None:
    page = open_page()
    response = page.goto(path)
    assert response is not None and response.status == (404 if path == "/no-such-page" else 200)
    results = Axe().run(page)
    assert results.response["passes"], f"axe checked nothing on {path}"
    blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(f"    {node['target']}: {node['html']}" for node in v["nodes"])
        for v in blocking
    )
    assert not blocking, f"axe found serious/critical violations on {path}:\n{report}"


def test_404_page_is_styled(page: Page) -> None:
    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1, name="Page not found", exact=True)).to_be_visible()
    footer = page.get_by_role("contentinfo")
    expect(footer).to_be_visible()
    background = footer.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), "the stylesheet is not applied"
    font = page.locator("body").evaluate("el => getComputedStyle(el).fontFamily")
    assert "Georgia" in font, f"the error page does not use the site's theme: {font}"


def test_home_works_without_javascript(open_page: Callable[..., Page]) -> None:
    page = open_page(java_script_enabled=False)
    response = page.goto("/")
    assert response is not None and response.status == 200
    _expect_post_and_comment(page)
