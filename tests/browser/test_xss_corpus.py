"""Every payload of tests/data/xss-payloads.txt, posted through the real comment form into every
field, approved with the CLI, and then: the stored HTML must be inert, and Chromium must run none of
it, on the post page or in the form that shows the payloads back (preview, kept input)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx2
import pytest
from bs4 import BeautifulSoup, Tag
from playwright.sync_api import BrowserContext, ConsoleMessage, Dialog, Frame, Page, Request

from .conftest import REPO_ROOT, Server

pytestmark = pytest.mark.browser

PAYLOAD_FILE = REPO_ROOT / "tests" / "data" / "xss-payloads.txt"
PLACEHOLDERS = {"{TAB}": "\t", "{LF}": "\n", "{CR}": "\r", "{FF}": "\f", "{NUL}": "\0"}
POST_PATH = "/posts/low-back-hamstring-crossover-stretch/"
POST_TITLE = "Low Back/Hamstring Crossover Stretch"
FIELDS = ("name", "email", "website", "title", "body")
PREVIEW_BATCH = 40

# Elements and attributes that must never come out of the comment sanitiser.
FORBIDDEN_TAGS = frozenset(
    (  # noqa: SIM905 (a word list reads better than 48 quoted strings)
        "script style iframe frame frameset object embed applet form input button select option textarea "
        "base meta link svg math img image video audio source track picture details summary marquee "
        "template noscript noembed noframes xmp plaintext title isindex keygen portal bgsound layer "
        "animate set use foreignobject html head body"
    ).split()
)
URL_ATTRIBUTES = frozenset(
    ("href", "src", "action", "formaction", "xlink:href", "data", "cite", "background", "poster", "srcdoc")
)
BAD_SCHEMES = ("javascript:", "vbscript:", "data:", "livescript:")
XHTML = "http://www.w3.org/1999/xhtml"
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")

# A canary in every document (frames too): the dialog functions record their calls instead of
# blocking, and the record goes to the console, which Playwright hears from any frame.
CANARY = """
(() => {
  window.__xss = [];
  for (const name of ['alert', 'confirm', 'prompt', 'print']) {
    window[name] = function (...args) {
      const call = `${name}(${args.map(String).join(', ')}) in ${location.href}`;
      window.__xss.push(call);
      console.error('XSS-CANARY ' + call);
    };
  }
})();
"""
# Every element in the comment list gets focus and every kind of event a handler could listen to
# (not bubbling, and no click on links: their targets are checked separately).
PROVOKE = """
list => {
  const events = ['mouseover', 'mouseenter', 'mousemove', 'mousedown', 'mouseup', 'click', 'dblclick',
    'contextmenu', 'pointerover', 'pointerenter', 'pointerdown', 'pointerup', 'focus', 'focusin',
    'blur', 'keydown', 'keyup', 'input', 'change', 'toggle', 'animationstart', 'animationend',
    'transitionend', 'wheel', 'scroll', 'load', 'error', 'begin', 'start', 'finish'];
  let count = 0;
  for (const el of list.querySelectorAll('*')) {
    if (typeof el.focus === 'function') { el.focus(); el.blur(); }
    for (const type of events) {
      if (type === 'click' && el.closest('a, area')) continue;
      el.dispatchEvent(new Event(type, {bubbles: false, cancelable: true}));
    }
    count++;
  }
  return count;
}
"""
INSPECT = """
(list, itemSelector) => {
  const dangerous = 'script, style, iframe, frame, object, embed, applet, form, input, button, select, ' +
    'textarea, base, meta, link, svg, math, img:not(.avatar), video, audio, details, marquee, template, ' +
    'noscript, portal, [style], [srcdoc], [formaction], [autofocus], [contenteditable]';
  const elements = [...list.querySelectorAll('*')];
  return {
    elements: elements.length,
    dangerous: elements.filter(el => el.matches(dangerous)).map(el => el.outerHTML.slice(0, 160)),
    handlers: elements.flatMap(el => [...el.attributes].filter(a => /^on/i.test(a.name))
                                        .map(a => `<${el.localName} ${a.name}="${a.value}">`)),
    links: [...list.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.protocol]),
    comments: [...list.querySelectorAll(itemSelector)].map(li => ({
      id: li.id,
      author: li.querySelector('.comment-author').textContent,
      title: li.querySelector('.comment-title').textContent,
    })),
  };
}
"""
# The form as elements: a payload shown back in it must not add, remove or change any of them.
FORM_SHAPE = """
form => [...form.querySelectorAll('*')]
  .filter(el => !el.matches('.field-error'))
  .map(el => [el.localName, ...[...el.attributes].map(a => a.name).filter(n => n !== 'aria-invalid' &&
    n !== 'aria-describedby' && n !== 'checked').sort()].join(' '))
"""


def _load_payloads() -> list[str]:
    payloads = []
    for line in PAYLOAD_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        for placeholder, char in PLACEHOLDERS.items():
            line = line.replace(placeholder, char)
        payloads.append(line)
    return payloads


def _as_kept(text: str) -> str:
    """Return ``text`` as the comment form keeps it: control characters removed, newlines as LF."""
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


PAYLOADS = _load_payloads()


def test_corpus_is_large_and_distinct() -> None:
    assert len(PAYLOADS) >= 150, f"only {len(PAYLOADS)} payloads"
    assert len({_as_kept(p) for p in PAYLOADS}) == len(PAYLOADS), "the corpus repeats payloads"
    assert all(p == p.strip() for p in PAYLOADS), "leading or trailing blanks would be trimmed away"


@dataclass
class Canary:
    """What a page did that only injected script (or markup) could make it do."""

    origin: str
    executions: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.text.startswith("XSS-CANARY "):
            self.executions.append(message.text.removeprefix("XSS-CANARY "))

    def on_dialog(self, dialog: Dialog) -> None:
        self.executions.append(f"{dialog.type} dialog: {dialog.message!r}")
        dialog.dismiss()

    def on_page_error(self, error: Exception) -> None:
        # The site's pages run no script of their own, so any script error is injected script.
        self.executions.append(f"script error: {error}")

    def on_frame_navigated(self, frame: Frame) -> None:
        if frame.parent_frame is not None or not frame.url.startswith(self.origin + POST_PATH):
            self.navigations.append(frame.url)

    def on_request(self, request: Request) -> None:
        if not request.url.startswith(self.origin + "/"):
            self.foreign_requests.append(request.url)

    def report(self) -> str:
        return (
            f"{len(self.executions)} executions {self.executions}, navigations elsewhere "
            f"{self.navigations}, requests leaving the site {self.foreign_requests}"
        )

    def check(self, page: Page) -> None:
        """Collect what the canary of the page's current document recorded, and any frames."""
        self.executions += [f"{call} (recorded in the page)" for call in page.evaluate("window.__xss")]
        self.executions += [f"frame {frame.url}" for frame in page.frames[1:]]

    def clean(self) -> bool:
        return not (self.executions or self.navigations or self.foreign_requests)


@pytest.fixture
def canary_page(new_context: Callable[..., BrowserContext], relaxed_server: Server) -> tuple[Page, Canary]:
    """Give a page whose every document carries the canary, and the canary's records."""
    # bypass_csp: the site's Content-Security-Policy forbids inline script, which would hide a
    # sanitiser failure from this test. The sanitiser must hold on its own (CSP is the second line).
    context = new_context(relaxed_server.url, bypass_csp=True, viewport={"width": 1280, "height": 1600})
    context.add_init_script(CANARY)
    page = context.new_page()
    canary = Canary(origin=relaxed_server.url)
    page.on("console", canary.on_console)
    page.on("dialog", canary.on_dialog)
    page.on("pageerror", canary.on_page_error)
    page.on("framenavigated", canary.on_frame_navigated)
    page.on("request", canary.on_request)
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
        assert form.evaluate("form => form.elements.body.value") == _as_kept(body), "the body was not kept"
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


@dataclass
class Corpus:
    """What posting the corpus did: requests sent, answers per field, comments stored."""

    server: Server
    payloads: list[str]
    requests: int = 0
    answers: dict[str, Counter[int]] = field(default_factory=lambda: {f: Counter() for f in FIELDS})
    unexpected: list[str] = field(default_factory=list)
    stored: list[int] = field(default_factory=list)

    def rows(self, columns: str) -> list[tuple[Any, ...]]:
        """Return ``columns`` of every stored comment of the corpus."""
        marks = ",".join("?" * len(self.stored))
        return self.server.query(f"SELECT {columns} FROM comments WHERE id IN ({marks})", *self.stored)

    def summary(self) -> str:
        per_field = "; ".join(
            f"{name}: " + ", ".join(f"{count}x{status}" for status, count in sorted(answers.items()))
            for name, answers in self.answers.items()
        )
        return (
            f"{len(self.payloads)} payloads, {self.requests} requests, {len(self.stored)} comments "
            f"stored and approved; answers per field (status: 303 stored, 400 refused): {per_field}"
        )


def _form_token(client: httpx2.Client) -> str:
    response = client.get(POST_PATH)
    assert response.status_code == 200
    token = BeautifulSoup(response.text, "html.parser").select_one("#comment-form input[name=token]")
    assert token is not None, "no comment form on the post page"
    return str(token["value"])


def _field_errors(html: str) -> set[str]:
    """Return the fields a refused form marks as wrong (parsed on hundreds of pages, so a regex)."""
    return set(re.findall(r'<span class="field-error" id="c-(\w+)-error">', html))


def _post(client: httpx2.Client, corpus: Corpus, form: dict[str, str]) -> httpx2.Response:
    corpus.requests += 1
    return client.post(POST_PATH + "comments", data={**form, "action": "post"})


def _post_payload(client: httpx2.Client, corpus: Corpus, token: str, index: int, payload: str) -> None:
    """Post the payload in every field at once; when some are refused, replace those and resend.

    Refused fields are counted as refused (safe); the rest are counted with the final answer."""
    form = {"token": token, **dict.fromkeys(FIELDS, payload)}
    refused: set[str] = set()
    while True:
        response = _post(client, corpus, form)
        errors = _field_errors(response.text) if response.status_code == 400 else set()
        retry = errors - refused - {"body"}
        if not retry or not retry <= set(FIELDS):
            break
        for name in retry:
            corpus.answers[name][400] += 1
            form[name] = f"xss #{index}" if name == "name" else ""
        refused |= retry
    for name in set(FIELDS) - refused:
        corpus.answers[name][response.status_code] += 1
    if response.status_code != 303:
        corpus.unexpected.append(f"#{index} {payload!r}: {response.status_code}, errors in {errors or '-'}")


@pytest.fixture(scope="module")
def corpus(relaxed_server: Server) -> Corpus:
    """Post every payload into every field over HTTP, then approve every held comment with the CLI."""
    result = Corpus(relaxed_server, PAYLOADS)
    # No cookies: a browser that has posted is shown its own held comments, which would make every
    # answer heavier, and the comments would be ours to edit. Each request comes as a stranger.
    no_cookies = CookieJar(DefaultCookiePolicy(allowed_domains=[]))
    with httpx2.Client(base_url=relaxed_server.url, cookies=no_cookies, timeout=30) as client:
        token = _form_token(client)
        for index, payload in enumerate(PAYLOADS):
            _post_payload(client, result, token, index, payload)
    result.stored = [
        row[0] for row in relaxed_server.query("SELECT id FROM comments WHERE status = 'pending'")
    ]
    relaxed_server.approve(*result.stored)
    print(f"\nXSS corpus: {result.summary()}")
    return result


def test_every_payload_is_stored_or_refused_with_its_field_error(corpus: Corpus) -> None:
    assert not corpus.unexpected, corpus.summary() + "\nunexpected answers:\n" + "\n".join(corpus.unexpected)
    # The body takes any text (no format rules), so every payload must have been stored as a body.
    assert corpus.answers["body"] == Counter({303: len(PAYLOADS)}), corpus.summary()
    assert len(corpus.stored) == len(PAYLOADS), corpus.summary()
    stored_bodies = {row[0] for row in corpus.rows("body_source")}
    missing = [p for p in PAYLOADS if _as_kept(p) not in stored_bodies]
    assert not missing, f"payloads not stored as sent: {missing}"


def _unsafe_url(value: str) -> bool:
    return _INVISIBLE.sub("", value).lower().startswith(BAD_SCHEMES)


def _html_problems(comment_id: int, html: str) -> list[str]:
    """Return what would make this stored comment HTML active, as a browser parses it."""
    body = BeautifulSoup(f"<body>{html}</body>", "html5lib").body
    assert isinstance(body, Tag)
    problems = []
    for tag in body.find_all(True):
        assert isinstance(tag, Tag)
        if tag.name.lower() in FORBIDDEN_TAGS or tag.namespace != XHTML:
            problems.append(f"#{comment_id}: <{tag.name}> element")
        for name, value in tag.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            lowered = name.lower()
            if lowered.startswith("on") or lowered in ("style", "srcdoc", "formaction", "autofocus"):
                problems.append(f"#{comment_id}: <{tag.name} {name}={text!r}>")
            elif lowered in URL_ATTRIBUTES and _unsafe_url(text):
                problems.append(f"#{comment_id}: <{tag.name} {name}={text!r}> (script URL)")
    return problems


def test_stored_comment_html_is_inert(corpus: Corpus) -> None:
    rows = corpus.rows("id, body_html")
    assert len(rows) == len(corpus.stored)
    problems = [problem for comment_id, html in rows for problem in _html_problems(comment_id, html)]
    assert not problems, f"{len(problems)} problems in stored HTML ({corpus.summary()}):\n" + "\n".join(
        problems
    )


def _sweep_with_the_mouse(page: Page) -> None:
    """Scroll through the whole page, moving the real mouse across it at every screenful."""
    viewport = page.viewport_size or {"width": 1280, "height": 720}
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    for top in range(0, height, viewport["height"]):
        page.evaluate("y => window.scrollTo(0, y)", top)
        for x, y in ((0.3, 0.1), (0.7, 0.5), (0.4, 0.9)):
            page.mouse.move(viewport["width"] * x, viewport["height"] * y)


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
    _sweep_with_the_mouse(page)
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
