"""Every payload of tests/data/xss-payloads.txt, posted through the real comment form into every
field, approved with the CLI, and then: the stored HTML must be inert, and Chromium must run none of
it, on the post page or in the form that shows the payloads back (preview, kept input)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page

from .conftest import Server
from .xss import (
    CANARY,
    FORM_SHAPE,
    INSPECT,
    PAYLOADS,
    PROVOKE,
    Canary,
    Corpus,
    as_kept,
    html_problems,
    post_corpus,
    sweep_with_the_mouse,
)

pytestmark = pytest.mark.browser

POST_PATH = "/posts/low-back-hamstring-crossover-stretch/"
POST_TITLE = "Low Back/Hamstring Crossover Stretch"
PREVIEW_BATCH = 40


def test_corpus_is_large_and_distinct() -> None:
    assert len(PAYLOADS) >= 150, f"only {len(PAYLOADS)} payloads"
    assert len({as_kept(p) for p in PAYLOADS}) == len(PAYLOADS), "the corpus repeats payloads"
    assert all(p == p.strip() for p in PAYLOADS), "leading or trailing blanks would be trimmed away"


@pytest.fixture
def canary_page(new_context: Callable[..., BrowserContext], relaxed_server: Server) -> tuple[Page, Canary]:
    """Give a page whose every document carries the canary, and the canary's records."""
    # bypass_csp: the site's Content-Security-Policy forbids inline script, which would hide a
    # sanitiser failure from this test. The sanitiser must hold on its own (CSP is the second line).
    context = new_context(relaxed_server.url, bypass_csp=True, viewport={"width": 1280, "height": 1600})
    context.add_init_script(CANARY)
    page = context.new_page()
    canary = Canary(origin=relaxed_server.url, expected=POST_PATH)
    canary.attach(page)
    return page, canary


def _fill_and_preview(page: Page, values: dict[str, str]) -> None:
    """Put ``values`` into the form as they are (no browser checks) and press Preview."""
    page.locator("#comment-form form").evaluate(
        """(form, values) => {
             form.noValidate = true;
             for (const [name, value] of Object.entries(values)) form.elements[name].value = value;
           }""",
        values,
    )
    with page.expect_navigation() as navigation:
        page.locator("#comment-form").get_by_role("button", name="Preview", exact=True).click()
    response = navigation.value
    assert response is not None and response.status == 200, response and response.status


def test_the_form_showing_every_payload_back_runs_no_script(canary_page: tuple[Page, Canary]) -> None:
    """Preview shows each payload back: in the name, email, website and title inputs, the body
    textarea and the rendered preview (batches of payloads per field, one Preview each).

    It stores nothing, and runs before the corpus is posted, while the page is light."""
    page, canary = canary_page
    page.goto(POST_PATH)
    form = page.locator("#comment-form form")
    shape = form.evaluate(FORM_SHAPE)
    previews = 0
    for start in range(0, len(PAYLOADS), PREVIEW_BATCH):
        batch = PAYLOADS[start : start + PREVIEW_BATCH]
        body = "\n\n".join(batch)
        _fill_and_preview(
            page, {**dict.fromkeys(("name", "email", "website", "title"), "".join(batch)), "body": body}
        )
        previews += 1
        preview = page.locator(".comment-preview")
        assert preview.count() == 1, "no preview shown"
        assert form.evaluate("form => form.elements.body.value") == as_kept(body), "the body was not kept"
        assert form.evaluate(FORM_SHAPE) == shape, f"the form changed shape after batch {previews}"
        found = preview.evaluate(INSPECT, ":scope > article")
        assert len(found["comments"]) == 1, found["comments"]
        assert not found["handlers"] and not found["dangerous"], found
        preview.evaluate(PROVOKE)
        form.evaluate("form => { for (const el of form.elements) { el.focus(); el.blur(); } }")
        canary.check(page)
    page.wait_for_timeout(300)
    canary.check(page)
    report = f"{previews} previews of {len(PAYLOADS)} payloads in 5 fields; {canary.report()}"
    print(f"\nXSS form: {report}")
    assert canary.clean(), report


@pytest.fixture(scope="module")
def corpus(relaxed_server: Server) -> Corpus:
    """Post every payload into every field over HTTP, then approve every held comment with the CLI."""
    result = post_corpus(relaxed_server, POST_PATH, PAYLOADS)
    relaxed_server.approve(*result.stored)
    print(f"\nXSS corpus: {result.summary()}")
    return result


def test_every_payload_is_stored_or_refused_with_its_field_error(corpus: Corpus) -> None:
    assert not corpus.unexpected, corpus.summary() + "\nunexpected answers:\n" + "\n".join(corpus.unexpected)
    # The body takes any text (no format rules), so every payload must have been stored as a body.
    assert corpus.answers["body"] == Counter({303: len(PAYLOADS)}), corpus.summary()
    assert len(corpus.stored) == len(PAYLOADS), corpus.summary()
    stored_bodies = {row[0] for row in corpus.rows("body_source")}
    missing = [p for p in PAYLOADS if as_kept(p) not in stored_bodies]
    assert not missing, f"payloads not stored as sent: {missing}"


def test_stored_comment_html_is_inert(corpus: Corpus) -> None:
    rows = corpus.rows("id, body_html")
    assert len(rows) == len(corpus.stored)
    problems = [problem for comment_id, html in rows for problem in html_problems(comment_id, html)]
    assert not problems, f"{len(problems)} problems in stored HTML ({corpus.summary()}):\n" + "\n".join(
        problems
    )


def test_the_post_page_with_every_payload_runs_no_script(
    corpus: Corpus, canary_page: tuple[Page, Canary], relaxed_server: Server
) -> None:
    page, canary = canary_page
    response = page.goto(POST_PATH, wait_until="load")
    assert response is not None and response.status == 200
    comment_list = page.locator(".comment-list")
    found = comment_list.evaluate(INSPECT, ":scope > li")
    approved = relaxed_server.query(
        "SELECT id, author_name, title FROM comments WHERE status = 'approved' ORDER BY id"
    )
    assert len(found["comments"]) == len(approved) >= len(corpus.stored), "not every comment is shown"

    provoked = comment_list.evaluate(PROVOKE)
    sweep_with_the_mouse(page)
    page.wait_for_timeout(500)  # let timers, animations and media errors fire
    canary.check(page)

    shown = {c["id"]: (c["author"], c["title"]) for c in found["comments"]}
    garbled = [
        f"#{comment_id}: shown as {shown.get(f'comment-{comment_id}')!r}"
        for comment_id, name, title in approved
        if shown.get(f"comment-{comment_id}") != (name, title or f"Re: {POST_TITLE}")
    ]
    script_links = [link for link in found["links"] if link[1] not in ("http:", "https:", "mailto:")]
    report = (
        f"{corpus.summary()}; the page has {found['elements']} elements in its comment list, "
        f"{len(found['links'])} links, {provoked} elements provoked; {canary.report()}"
    )
    print(f"\nXSS post page: {report}")
    assert canary.clean(), report
    assert not found["handlers"], f"event handler attributes: {found['handlers']}"
    assert not found["dangerous"], f"active elements in comments: {found['dangerous']}"
    assert not script_links, f"links that are not http(s) or mailto: {script_links}"
    assert not garbled, "names or titles not shown as the plain text stored:\n" + "\n".join(garbled)
