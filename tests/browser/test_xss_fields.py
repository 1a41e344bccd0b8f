"""The XSS corpus against every other user-controlled field, checked in Chromium with the canary.

test_xss_corpus.py posts every payload into every comment field and checks the public post page.
This module takes the same payloads everywhere else a user-controlled value is shown:

- posts and pages written in the admin editor: one post per payload (the payload in its title,
  subtitle, excerpt, body, tags and author, and refused in its slug, date and time) and one page per
  payload (title and body, refused slug). Moderators cannot write posts or pages (the editor is
  owner-only, checked below), so the owner writes them.
- comments (name, email, website, title, body), one per payload, as the admin shows them: every tab
  of the moderation queue, the dashboard, the post page with inline moderation, the page a
  notification mail's link opens; in the comment feeds; and in the notification mails themselves.
- upload names: uploaded through the admin form, and files with payload names put into uploads/ (as
  an import or a file transfer would), shown by the uploads screen.
- query parameters shown back on a page: search, the queue's filter, flash messages, a tag address.
- settings edited in the admin: every text and list field and the navigation labels and links, a
  batch of payloads per round, and every public and admin page shows them.

Pages shown a few times are opened in Chromium by navigation. Pages shown once per payload (hundreds)
are fetched over HTTP and written into a tab at the site's origin with set_content (a navigation
costs about 150 ms, this about 40 ms): the same HTML, parser, canary, scan and provocation.
Content-Security-Policy is bypassed, as in test_xss_corpus.py, so that escaping and sanitising are
tested on their own. Each test prints one summary line (``pytest -s``); the module prints the total.
"""

from __future__ import annotations

import functools
import time
import re
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from html import unescape
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import feedparser
import httpx2
import pytest
from playwright.sync_api import Browser, BrowserContext

from ..test_notifications import Inbox, links_of, start_smtp, text_of
from .conftest import RELAXED_COMMENTS, Server, copy_example_site, serve
from .xss import (
    CANARY,
    FORM_SHAPE,
    PAYLOADS,
    PROVOKE,
    SCAN,
    Canary,
    html_problems,
    post_corpus,
    sweep_with_the_mouse,
)

pytestmark = pytest.mark.browser
TIMES: Counter[str] = Counter()

OWNER, OWNER_PASSWORD = "xss-owner", "owner password of the xss test"
MODERATOR, MODERATOR_PASSWORD = "xss-moderator", "moderator password of the xss test"
POST_PATH = "/posts/low-back-hamstring-crossover-stretch/"
POST_TITLE = "Low Back/Hamstring Crossover Stretch"
MARKER = "xssmarker"  # a word in every payload post and page, to find them all by search
BATCH = 100  # posts per page of a list, entries per feed; posts get a tag per hundred
QUEUE_PAGE = 50  # comments per page of the moderation queue (moderation_queue.PER_PAGE)
ADMIN_POSTS_PAGE = 50  # posts per page of the admin's list (editor.PER_PAGE)
SETTINGS_ROUNDS = 8
REFLECTED_CHARS = 200  # the search and queue filter keep 200 characters
RENDER_BASE = "/xss-render-base"  # a 404 page: the document set_content writes into
CONTENT_REGIONS = ".post-body, .post-excerpt, .page-body, .comment-body, .comment-preview"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
MAIL_HEADERS = {
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "Content-Type",
    "Content-Transfer-Encoding",
    "MIME-Version",
}
# What a mail client turns into a live link: nothing a commenter typed may look like one.
LINKABLE = re.compile(
    r"(?i)\b(?:https?|ftp|file)://|\bwww\.|\b(?:javascript|vbscript|data|mailto):|\w\.[a-z]{2,}\b"
)
ATOM, RSS_NS = (
    "http://www.w3.org/2005/Atom",
    ("", "http://www.w3.org/2005/Atom", "http://purl.org/dc/elements/1.1/"),
)
SITEMAP_NS = ("http://www.sitemaps.org/schemas/sitemap/0.9",)
# A feed shown by Chromium as text: one <pre> and nothing else.
PLAIN_TEXT = """() => document.contentType === 'text/plain' && document.body.children.length === 1 &&
  document.body.firstElementChild.localName === 'pre' && !document.body.firstElementChild.children.length"""


# --- Tally: what was tried and what happened ---------------------------------------------------------


@dataclass
class Phase:
    """One family of fields: payloads tried per field, documents shown per surface, and trouble."""

    name: str
    tried: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    renders: Counter[str] = field(default_factory=Counter)
    executions: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def line(self) -> str:
        tried = ", ".join(f"{name} {count}" for name, count in self.tried.items())
        shown = ", ".join(f"{name} {count}" for name, count in self.renders.items())
        return (
            f"{self.name}: {sum(self.tried.values())} vectors tried ({tried}), "
            f"{sum(self.refused.values())} of them refused with a message; "
            f"{sum(self.renders.values())} documents in Chromium ({shown}); "
            f"{len(self.executions)} executions, {len(self.navigations)} navigations, "
            f"{len(self.foreign)} requests leaving the site, {len(self.findings)} findings"
        )

    def check(self) -> None:
        """Print the phase's line, and fail with everything that went wrong."""
        print(f"\nXSS {self.line()}")
        trouble = [*self.executions, *self.navigations, *self.foreign, *self.findings]
        assert not trouble, f"{self.line()}\n" + "\n".join(trouble[:80])


@dataclass
class Summary:
    phases: list[Phase] = field(default_factory=list)

    def line(self) -> str:
        tried = sum(sum(p.tried.values()) for p in self.phases)
        fields = sum(len(p.tried) for p in self.phases)
        renders = sum(sum(p.renders.values()) for p in self.phases)
        surfaces = sum(len(p.renders) for p in self.phases)
        executions = sum(len(p.executions) for p in self.phases)
        other = sum(len(p.navigations) + len(p.foreign) + len(p.findings) for p in self.phases)
        return (
            f"{len(PAYLOADS)} payloads; {tried} vectors tried in {fields} fields; {renders} documents "
            f"rendered in Chromium on {surfaces} surfaces; {executions} executions; {other} other findings"
        )


# --- The browser side --------------------------------------------------------------------------------


class Viewer:
    """A Chromium tab with the canary (anonymous, or signed in) and an HTTP client with the same rights."""

    def __init__(self, context: BrowserContext, server: Server, client: httpx2.Client) -> None:
        context.add_init_script(CANARY)
        # Nothing leaves the machine: a post may show another site's picture, which is allowed (and
        # counted as nothing); any other request elsewhere is recorded by the canary.
        context.route(re.compile(rf"^(?!{re.escape(server.url)}/)"), lambda route: route.abort())
        self.server, self.client = server, client
        self.page = context.new_page()
        self.canary = Canary(origin=server.url, expected=RENDER_BASE, foreign_images=True)
        self.canary.attach(self.page)
        self.phase = Phase("-")
        self.last = time.monotonic()

    def visit(self, surface: str, path: str, status: int = 200, sweep: bool = False) -> None:
        """Open ``path`` in the tab; scan it, focus and provoke every element (and sweep it with the
        mouse, if asked: that takes a while on a long page)."""
        self.canary.expected = path.split("#")[0]
        response = self.page.goto(path, wait_until="load")
        self._status(path, response.status if response else 0, status)
        self._inspect(surface, path, focus=True, sweep=sweep)

    def visit_feed(self, surface: str, path: str) -> None:
        """Open a feed or sitemap in the tab: nothing may run, and a feed is shown as plain text."""
        self.canary.expected = path
        response = self.page.goto(path, wait_until="load")
        self._status(path, response.status if response else 0, 200)
        if path.endswith((".atom", ".rss")) and not self.page.evaluate(PLAIN_TEXT):
            self.phase.findings.append(f"{path}: Chromium did not show the feed as plain text")
        self.page.wait_for_timeout(50)
        self.canary.check(self.page, path)
        self._collect(surface)

    def render(self, surface: str, label: str, html: str) -> None:
        """Write ``html`` into the tab at the site's origin, then scan and provoke it."""
        if self.page.url != self.server.url + RENDER_BASE:
            self.canary.expected = RENDER_BASE
            self.page.goto(RENDER_BASE)
        self.canary.expected = RENDER_BASE
        self.page.set_content(html, wait_until="load")
        self._inspect(surface, label, focus=False, sweep=False)

    def render_paths(
        self, surface: str, paths: list[str], status: int = 200, check: Callable[[str], None] | None = None
    ) -> None:
        """Fetch ``paths`` over HTTP, two at a time ahead of the tab, and render each (then ``check`` it)."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            for path, response in zip(paths, pool.map(self.client.get, paths), strict=True):
                self._status(path, response.status_code, status)
                self.render(surface, path, response.text)
                if check is not None:
                    check(path)

    def texts(self, selector: str) -> list[str]:
        """Return the text of every element matching ``selector``."""
        found: list[str] = self.page.eval_on_selector_all(selector, "els => els.map(e => e.textContent)")
        return found

    def values(self, selector: str) -> list[str]:
        """Return the value of every form control matching ``selector``."""
        found: list[str] = self.page.eval_on_selector_all(selector, "els => els.map(e => e.value)")
        return found

    def same_text(self, label: str, shown: list[str], stored: list[str]) -> None:
        """Record a finding unless the page shows exactly the stored text (no markup interpreted)."""
        if [_words(s) for s in shown] != [_words(s) for s in stored]:
            self.phase.findings.append(f"{label}: shown {shown[:3]!r}, stored {stored[:3]!r}")

    def settle(self) -> None:
        """Give timers, animations and late errors of the last document a moment, and collect them."""
        self.page.wait_for_timeout(300)
        self.canary.check(self.page, f"late, in {self.page.url}")
        self._collect(None)

    def _status(self, path: str, got: int, expected: int) -> None:
        if got != expected:
            self.phase.findings.append(f"{path[:160]}: HTTP {got}, expected {expected}")

    def _inspect(self, surface: str, label: str, focus: bool, sweep: bool) -> None:
        found = self.page.evaluate(SCAN, CONTENT_REGIONS)
        for key, items in found.items():
            if key != "elements" and items:
                self.phase.findings.append(f"{label[:160]}: {key}: {items[:4]}")
        self.page.locator("body").evaluate(PROVOKE, focus)
        if sweep:
            sweep_with_the_mouse(self.page)
        self.canary.check(self.page, label[:160])
        self._collect(surface)

    def _collect(self, surface: str | None) -> None:
        if surface is not None:
            self.phase.renders[surface] += 1
            now = time.monotonic()
            TIMES[surface] += now - self.last
            self.last = now
        self.phase.executions += self.canary.executions
        self.phase.navigations += [f"navigated to {url}" for url in self.canary.navigations]
        self.phase.foreign += [f"request {url}" for url in self.canary.foreign_requests]
        self.canary.executions, self.canary.navigations, self.canary.foreign_requests = [], [], []


def _words(text: str) -> str:
    """Return ``text`` for comparison as a browser shows it: runs of blanks as one space, NUL (which
    the parser drops or replaces) left out."""
    return " ".join(text.replace("\0", "").replace("\ufffd", "").split())


# --- The site -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[int, Inbox]]:
    controller, inbox = start_smtp()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def _create_user(site: Path, username: str, password: str, role: str) -> None:
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "pebbleblog",
            "create-admin",
            str(site),
            "--username",
            username,
            "--role",
            role,
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, smtp: tuple[int, Inbox]) -> Iterator[Server]:
    """Serve the example site with two workers, mail to a local SMTP server, an owner and a moderator."""
    mail = f'[mail]\nhost = "127.0.0.1"\nport = {smtp[0]}\nsecurity = "none"\nrecipients = ["owner@example.com"]\n'
    site_dir = copy_example_site(tmp_path_factory.mktemp("xss-fields"), RELAXED_COMMENTS + mail)
    config = site_dir / "pebbleblog.toml"
    lists = f"[site]\nposts_per_page = {BATCH}\nfeed_entries = {BATCH}\n"
    config.write_text(config.read_text(encoding="utf-8").replace("[site]\n", lists, 1), encoding="utf-8")
    _create_user(site_dir, OWNER, OWNER_PASSWORD, "owner")
    _create_user(site_dir, MODERATOR, MODERATOR_PASSWORD, "moderator")
    with serve(site_dir, workers=2) as server:
        yield server


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} field in the page"
    return unescape(found.group(1))


@contextmanager
def _signed_in_client(server: Server, username: str, password: str) -> Iterator[httpx2.Client]:
    """Give an HTTP client signed in through the sign-in form."""
    with httpx2.Client(base_url=server.url, timeout=60) as client:
        token = _hidden(client.get("/admin/login").text, "token")
        form = {"token": token, "username": username, "password": password, "next": "/admin/"}
        response = client.post("/admin/login", data=form)
        assert response.status_code == 303, response.text[:500]
        yield client


@pytest.fixture(scope="module")
def owner_client(site: Server) -> Iterator[httpx2.Client]:
    with _signed_in_client(site, OWNER, OWNER_PASSWORD) as client:
        yield client


@pytest.fixture(scope="module")
def anonymous_client(site: Server) -> Iterator[httpx2.Client]:
    with httpx2.Client(
        base_url=site.url, timeout=60, cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[]))
    ) as client:
        yield client


@pytest.fixture(scope="module")
def contexts(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    made: list[BrowserContext] = []

    def new(base_url: str) -> BrowserContext:
        # bypass_csp: the site's Content-Security-Policy forbids inline script, which would hide an
        # escaping failure from this test. Escaping must hold on its own (CSP is the second line).
        context = browser.new_context(
            base_url=base_url, bypass_csp=True, viewport={"width": 1280, "height": 900}
        )
        made.append(context)
        return context

    yield new
    for context in made:
        context.close()


@pytest.fixture(scope="module")
def reader(site: Server, anonymous_client: httpx2.Client, contexts: Callable[..., BrowserContext]) -> Viewer:
    """A reader's tab: not signed in, no cookies kept by the HTTP side."""
    return Viewer(contexts(site.url), site, anonymous_client)


@pytest.fixture(scope="module")
def owner(site: Server, owner_client: httpx2.Client, contexts: Callable[..., BrowserContext]) -> Viewer:
    """The owner's tab, signed in through the sign-in form."""
    viewer = Viewer(contexts(site.url), site, owner_client)
    page = viewer.page
    page.goto("/admin/login")
    page.get_by_label("Username").fill(OWNER)
    page.get_by_label("Password").fill(OWNER_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/admin/"), page.url
    viewer.canary.navigations.clear()  # signing in went to these pages, on purpose
    return viewer


@pytest.fixture(scope="module")
def summary() -> Iterator[Summary]:
    result = Summary()
    yield result
    print(f"\nXSS fields, all: {result.line()}")
    print({k: round(v, 1) for k, v in TIMES.items()})


def _start(summary: Summary, name: str, *viewers: Viewer) -> Phase:
    phase = Phase(name)
    summary.phases.append(phase)
    for viewer in viewers:
        viewer.phase = phase
    return phase


# --- Checks that need no browser --------------------------------------------------------------------


def _feed_problems(label: str, data: bytes, allow: frozenset[str]) -> tuple[int, list[str]]:
    """Return a feed's entry count and whatever in it a feed reader would show as active HTML."""
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    problems = [f"{label}: not well-formed: {parsed.bozo_exception}"] if parsed.bozo else []
    root = ET.fromstring(data)
    problems += _xml_problems(label, root, RSS_NS if root.tag == "rss" else (ATOM,))
    for number, entry in enumerate(parsed.entries):
        details = [entry.get(f"{key}_detail") for key in ("title", "summary", "author")]
        for detail in [*details, *entry.get("content", [])]:
            if detail and detail.get("type") in ("text/html", "application/xhtml+xml"):
                problems += html_problems(f"{label} entry {number}", detail["value"], allow)
    return len(parsed.entries), problems


def _xml_problems(label: str, root: ET.Element, namespaces: tuple[str, ...]) -> list[str]:
    """Return elements of an unexpected namespace (XHTML, SVG: they would run) and event attributes."""
    problems = []
    for element in root.iter():
        namespace = element.tag[1:].split("}")[0] if element.tag.startswith("{") else ""
        if namespace not in namespaces:
            problems.append(f"{label}: element {element.tag}")
        problems += [
            f"{label}: attribute {name}" for name in element.attrib if name.split("}")[-1][:2].lower() == "on"
        ]
    return problems


def _mail_problems(message: EmailMessage) -> list[str]:
    """Return what is wrong with a notification: extra headers, a folded subject, live links typed by
    the commenter, or commenter text outside its quoted block."""
    problems = []
    subject = str(message["Subject"])
    if set(message.keys()) != MAIL_HEADERS:
        problems.append(f"headers {sorted(message.keys())}")
    if "\n" in subject or "\r" in subject:
        problems.append(f"subject on several lines: {subject!r}")
    text = text_of(message)
    typed = text.split("\nThe comment, as typed", 1)[0].split("\n\n", 1)[-1]
    body = text.split("so that they cannot be opened by mistake):\n\n", 1)[-1].split("\n\nDecide with", 1)[0]
    if LINKABLE.search(typed) or LINKABLE.search(body):
        problems.append(
            f"a live link in what the commenter typed: {(LINKABLE.search(typed + body) or [''])[0]!r}"
        )
    if any(not line.startswith("| ") for line in body.split("\n")):
        problems.append(f"commenter text outside the quoted block: {body[:200]!r}")
    if sorted(links_of(message)) != ["approve", "spam", "trash"]:
        problems.append(f"the action links are not three: {links_of(message)}")
    return problems


def _chunks(payloads: list[str], limit: int) -> list[str]:
    """Join payloads with spaces into strings of at most ``limit`` characters, in order."""
    chunks: list[str] = []
    for payload in payloads:
        if chunks and len(chunks[-1]) + 1 + len(payload) <= limit:
            chunks[-1] += " " + payload
        else:
            chunks.append(payload[:limit])
    return chunks


# --- Posts and pages ------------------------------------------------------------------------------------

EDITOR_ERROR = re.compile(r'id="f-([\w.]+)-error"')
# What replaces a field the editor refuses (counted as refused), so that the rest can be stored.
POST_FALLBACKS = {"title": "xss post", "subtitle": "", "excerpt": "", "tags": "", "author": ""}
FORM_BATCH = 40  # payloads shown back at once by a refused editor or a preview
PAGES_EVERY, EDITORS_EVERY, TAGS_EVERY = 4, 8, 4  # the deterministic subsets, by payload index


def _batch_tag(index: int) -> str:
    return f"xss-batch-{index // BATCH}"


@functools.cache
def _csrf(client: httpx2.Client) -> str:
    """Return the CSRF token of the client's session (one per session, so fetched once)."""
    return _hidden(client.get("/admin/password").text, "csrf")


def _send(client: httpx2.Client, path: str, form: dict[str, str], action: str = "save") -> httpx2.Response:
    """Send an admin form as its button does (with the session's CSRF token)."""
    return client.post(path, data={"csrf": _csrf(client), "action": action, **form})


def test_moderators_cannot_write_posts_or_pages(site: Server) -> None:
    """Why the owner writes the payload posts: the editor (and settings, uploads) are the owner's."""
    with _signed_in_client(site, MODERATOR, MODERATOR_PASSWORD) as moderator:
        assert moderator.get("/admin/comments").status_code == 200
        for path in ("/admin/posts/new", "/admin/pages/new", "/admin/settings", "/admin/uploads"):
            assert moderator.get(path).status_code == 403, path
        refused = _send(moderator, "/admin/posts/new", {"title": "By a moderator", "body": "x"})
        assert refused.status_code == 403 and "owner" in refused.text
    assert site.query("SELECT count(*) FROM posts WHERE title = 'By a moderator'") == [(0,)]


def _write_payload_posts(phase: Phase, client: httpx2.Client) -> None:
    """Write one post per payload through the editor, the payload in every field that stores it."""
    for index, payload in enumerate(PAYLOADS):
        fields = {
            "title": payload,
            "subtitle": payload,
            "excerpt": payload,
            "body": f"{payload}\n\n{MARKER}\n",
            "tags": f"{payload}, {_batch_tag(index)}",
            "author": payload,
            "slug": f"xss-{index:03d}",
            "status": "published",
            "comments_open": "on",
        }
        phase.tried.update(["title", "subtitle", "excerpt", "body", "tags", "author"])
        while (saved := _send(client, "/admin/posts/new", fields)).status_code == 400:
            refused = set(EDITOR_ERROR.findall(saved.text)) & set(POST_FALLBACKS)
            if not refused or any(fields[name] == POST_FALLBACKS[name] for name in refused):
                break
            for name in refused:
                phase.refused[name] += 1
                fields[name] = _batch_tag(index) if name == "tags" else POST_FALLBACKS[name]
        if saved.status_code != 303:
            phase.findings.append(f"post #{index}: not saved ({saved.status_code}: {saved.text[:300]})")


def _write_payload_pages(phase: Phase, client: httpx2.Client) -> None:
    """Write a static page for every PAGES_EVERY-th payload (title and body)."""
    for index in range(0, len(PAYLOADS), PAGES_EVERY):
        payload = PAYLOADS[index]
        form = {"title": payload, "body": f"{payload}\n\n{MARKER}\n", "slug": f"xss-page-{index:03d}"}
        phase.tried.update(["page title", "page body"])
        saved = _send(client, "/admin/pages/new", {**form, "status": "published"})
        if saved.status_code != 303:
            phase.findings.append(f"page #{index}: not saved ({saved.status_code}: {saved.text[:300]})")


def _refused_editors(phase: Phase, owner: Viewer) -> None:
    """Send every payload, FORM_BATCH at a time, in every field of both editors, in forms the editor
    refuses and shows back (too long, not a date, not a slug), and through the post preview."""
    for path, form_fields in (
        (
            "/admin/posts/new",
            ("title", "slug", "subtitle", "body", "excerpt", "tags", "author", "date", "time"),
        ),
        ("/admin/pages/new", ("title", "slug", "body")),
    ):
        kind = "post" if "posts" in path else "page"
        owner.visit(f"empty {kind} editor", path)
        shape = owner.page.locator("form.editor").evaluate(FORM_SHAPE)
        for start in range(0, len(PAYLOADS), FORM_BATCH):
            batch = PAYLOADS[start : start + FORM_BATCH]
            label = f"{kind} editor, payloads #{start}-{start + len(batch) - 1}"
            answers = [
                # Every field at once: refused for the title's length (and the date), all shown back.
                (_send(owner.client, path, {name: "\n".join(batch) for name in form_fields}), "title"),
                # Only the slug wrong: refused with a message that quotes it.
                (_send(owner.client, path, {"title": "Slug", "slug": " ".join(batch), "status": "draft"}), "slug"),
            ]
            if kind == "post":
                answers.append(
                    (
                        _send(
                            owner.client, path, {"title": "Preview", "body": "\n\n".join(batch)}, "preview"
                        ),
                        "",
                    )
                )
            for response, error in answers:
                phase.tried.update(
                    f"{kind} editor {name}"
                    for name in (form_fields if error == "title" else [error or "preview"])
                    for _ in batch
                )
                if response.status_code != (400 if error else 200) or (
                    error and error not in EDITOR_ERROR.findall(response.text)
                ):
                    phase.findings.append(
                        f"{label}: answered {response.status_code}, errors {EDITOR_ERROR.findall(response.text)}"
                    )
                owner.render(
                    f"{kind} editor, shown back" if error else "post editor preview", label, response.text
                )
                if owner.page.locator("form.editor").evaluate(FORM_SHAPE) != shape:
                    phase.findings.append(f"{label}: the form changed shape ({error or 'preview'})")
                if error:
                    phase.refused.update(f"{kind} editor {error}" for _ in batch)


# What a post page shows of the stored post, as text (the JSON-LD parsed as data).
POST_SHOWN = """() => {
  const texts = selector => [...document.querySelectorAll(selector)].map(e => e.textContent);
  const data = [...document.querySelectorAll("script[type='application/ld+json']")]
    .map(e => JSON.parse(e.textContent)).filter(d => d['@type'] === 'BlogPosting');
  return [texts('h1.post-title'), texts('.post-subtitle'), texts('.post-meta .post-author'),
    texts('.post-meta .post-tags a').sort(),
    [...document.querySelectorAll("meta[property='og:title']")].map(e => e.content),
    data.map(d => d.headline)];
}"""


def _check_post_page(viewer: Viewer, stored: dict[str, tuple[str, str, str, list[str]]]) -> Callable[[str], None]:
    """Return a check that a post page shows the stored title, subtitle, author and tags as text, in
    the page, its OpenGraph title and its JSON-LD."""

    def check(path: str) -> None:
        title, subtitle, author, tags = stored[path.split("/")[2]]
        expected = [
            [title],
            [subtitle] if subtitle else [],
            [f"by {author}"] if author else [],
            sorted(tags, key=lambda t: t),
            [title],
            [title],
        ]
        for shown, wanted in zip(viewer.page.evaluate(POST_SHOWN), expected, strict=True):
            viewer.same_text(path, shown, wanted)

    return check


def _follow(viewer: Viewer, surface: str, path: str) -> int:
    """Visit a list and every later page of it (rel=next); return how many pages."""
    pages = 0
    while path:
        viewer.visit(surface, path)
        pages += 1
        following = viewer.page.locator("a[rel=next]")
        path = str(following.first.get_attribute("href")) if following.count() else ""
    return pages


def _check_feeds(phase: Phase, viewer: Viewer, paths: list[str], allow: frozenset[str]) -> int:
    """Check feeds as a reader's parser takes them, then open each in Chromium; return the entries."""
    entries = 0
    for path in paths:
        response = viewer.client.get(path)
        if response.status_code != 200:
            phase.findings.append(f"{path}: HTTP {response.status_code}")
            continue
        count, problems = _feed_problems(path, response.content, allow)
        entries += count
        phase.findings += problems
        viewer.visit_feed("feed", path)
    return entries


def test_post_and_page_fields(site: Server, owner: Viewer, reader: Viewer, summary: Summary) -> None:
    """Every payload in a post's title, subtitle, excerpt, body, tags and author (one post each), and in
    every editor field shown back; a subset as static pages. Then every page, list, feed and screen
    that shows them."""
    phase = _start(summary, "posts and pages", owner, reader)
    _write_payload_posts(phase, owner.client)
    _write_payload_pages(phase, owner.client)
    _refused_editors(phase, owner)
    posts = site.query(
        "SELECT id, slug, title, subtitle, author FROM posts WHERE slug LIKE 'xss-%' ORDER BY id"
    )
    pages = site.query("SELECT id, slug, title FROM pages WHERE slug LIKE 'xss-page-%' ORDER BY id")
    assert len(posts) == len(PAYLOADS) and len(pages) == -(-len(PAYLOADS) // PAGES_EVERY), phase.line()
    post_tags: dict[str, list[str]] = {}
    for slug, name in site.query(
        "SELECT p.slug, t.name FROM posts p JOIN post_tags pt ON pt.post_id = p.id JOIN tags t ON t.id = pt.tag_id"
    ):
        post_tags.setdefault(slug, []).append(name)
    stored = {
        slug: (title, subtitle, author, sorted(post_tags.get(slug, [])))
        for _, slug, title, subtitle, author in posts
    }
    tags = sorted(slug for (slug,) in site.query("SELECT slug FROM tags WHERE slug NOT LIKE 'xss-batch-%'"))

    reader.render_paths(
        "post page", [f"/posts/{slug}/" for _, slug, *_ in posts], check=_check_post_page(reader, stored)
    )
    reader.render_paths("static page", [f"/{slug}" for _, slug, _ in pages])
    reader.render_paths("tag page", [f"/tags/{slug}/" for slug in tags[::TAGS_EVERY]])
    owner.render_paths(
        "post editor, stored", [f"/admin/posts/{post_id}" for post_id, *_ in posts[::EDITORS_EVERY]]
    )
    owner.render_paths("page editor, stored", [f"/admin/pages/{page_id}" for page_id, *_ in pages[::2]])
    lists = _follow(reader, "blog list", "/blog/") + _follow(reader, "search results", f"/search?q={MARKER}")
    print("SEARCH", reader.texts(".search-message"), lists)
    for number in range(1, -(-(len(posts) + 1) // ADMIN_POSTS_PAGE) + 1):
        owner.visit("admin post list", f"/admin/posts?page={number}")
    owner.visit("admin page list", "/admin/pages")
    shown = {_words(text) for text in owner.texts(".admin-table td:first-child a")}
    if shown != {_words(title) for *_, title in pages} | {"Schedule an Appointment"}:
        phase.findings.append("the admin page list does not show every page title as text")

    batches = [
        f"/feeds/tags/xss-batch-{n}.{fmt}"
        for n in range(-(-len(PAYLOADS) // BATCH))
        for fmt in ("atom", "rss")
    ]
    entries = _check_feeds(phase, reader, batches, frozenset({"img"}))
    _check_feeds(phase, reader, ["/feeds/posts.atom", "/feeds/posts.rss"], frozenset({"img"}))
    if entries != 2 * len(PAYLOADS):
        phase.findings.append(f"the tag feeds hold {entries} entries, not {2 * len(PAYLOADS)}")
    sitemap = ET.fromstring(reader.client.get("/sitemap.xml").content)
    phase.findings += _xml_problems("sitemap", sitemap, SITEMAP_NS)
    locations = [loc.text or "" for loc in sitemap.iter(f"{{{SITEMAP_NS[0]}}}loc")]
    if len(locations) < len(posts) + len(pages) or not all(
        loc.startswith(site.url + "/") for loc in locations
    ):
        phase.findings.append(f"sitemap: {len(locations)} addresses, not all of them on the site")
    reader.visit_feed("sitemap", "/sitemap.xml")
    reader.settle()
    owner.settle()
    phase.check()
    assert lists >= 2 * -(-len(PAYLOADS) // BATCH), "the lists hold fewer pages than the posts need"
