"""The XSS corpus against every other user-controlled field, checked in Chromium with the canary.

test_xss_corpus.py posts every payload into every comment field and checks the public post page.
This module takes the same payloads everywhere else a user-controlled value is shown. All payloads
go into every field; a few surfaces that show one payload each, and repeat a template the whole
corpus goes through elsewhere, see a deterministic subset (every n-th; the constants below):

- settings (every text and list setting, navigation labels and links), a quarter of the corpus a
  round: the settings screen (saved, and refused with everything shown back), nine kinds of public
  page, the dashboard, the feeds, and the subject of a notification mail.
- posts, one per payload (title, subtitle, excerpt, body, tags, author): every post page, the blog
  list, search results, the admin's list, every entry of the tag feeds, the sitemap. Every payload
  also goes through every editor field (slug, date and time too) in forms the editor refuses and
  shows back, and through the preview. Subsets: a static page for every 4th payload, the stored
  editor of every 8th post, every 4th tag page. Moderators cannot write posts or pages (checked
  below), so the owner writes them.
- comments, one per payload in every field: every page of the pending and approved tabs of the
  moderation queue (the first of spam and trash), the dashboard, the post page with inline
  moderation, the comment feeds (after each hundred is approved), all the notification mails (plain
  text: no live link typed by the commenter, nothing outside its quote, no extra header; an HTML
  part would be rendered), and the page that every 3rd mail's link opens.
- upload names: every payload as an uploaded file's name (every 16th through Chromium's file
  chooser) and as the name of a file put into uploads/ (as an import or a file transfer leaves it).
- query parameters shown back (search, the sign-in page's return address, the queue's filter and
  flash message): all payloads, packed into 200-character queries.

Pages shown a few times are opened by navigation. Pages shown once per payload are fetched over HTTP
and written into a tab at the site's origin with set_content (a navigation costs about 150 ms, this
about 40 ms): the same HTML, parser, canary, scan and provocation. Content-Security-Policy is
bypassed, as in test_xss_corpus.py, so that escaping and sanitising are tested on their own. Each
test prints one summary line (``pytest -s``); the module prints the total.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import time
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
from urllib.parse import unquote_plus, urlencode

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

OWNER, OWNER_PASSWORD = "xss-owner", "owner password of the xss test"
MODERATOR, MODERATOR_PASSWORD = "xss-moderator", "moderator password of the xss test"
POST_PATH = "/posts/low-back-hamstring-crossover-stretch/"
POST_TITLE = "Low Back/Hamstring Crossover Stretch"
MARKER = "xssmarker"  # a word in every payload post and page, to find them all by search
BATCH = 100  # posts per page of a list, entries per feed; posts get a tag per hundred
QUEUE_PAGE = 50  # comments per page of the moderation queue (moderation_queue.PER_PAGE)
ADMIN_POSTS_PAGE = 50  # posts per page of the admin's list (editor.PER_PAGE)
SETTINGS_ROUNDS = 4  # a quarter of the corpus a round: up to 79 navigation links at once
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
ATOM = "http://www.w3.org/2005/Atom"
RSS_NS = ("", ATOM, "http://purl.org/dc/elements/1.1/")
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
    mails: int = 0
    started: float = field(default_factory=time.monotonic)

    def line(self) -> str:
        tried = ", ".join(f"{name} {count}" for name, count in self.tried.items())
        shown = ", ".join(f"{name} {count}" for name, count in self.renders.items())
        return (
            f"{self.name}: {sum(self.tried.values())} vectors tried ({tried}), "
            f"{sum(self.refused.values())} of them refused with a message; "
            f"{sum(self.renders.values())} documents in Chromium ({shown}); {self.mails} mails checked; "
            f"{len(self.executions)} executions, {len(self.navigations)} navigations, "
            f"{len(self.foreign)} requests leaving the site, {len(self.findings)} findings "
            f"({time.monotonic() - self.started:.0f} s)"
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
        mails = sum(p.mails for p in self.phases)
        other = sum(len(p.navigations) + len(p.foreign) + len(p.findings) for p in self.phases)
        return (
            f"{len(PAYLOADS)} payloads; {tried} vectors tried in {fields} fields; {renders} documents "
            f"rendered in Chromium on {surfaces} surfaces; {mails} mails checked; {executions} executions; "
            f"{other} other findings"
        )


# --- The browser side --------------------------------------------------------------------------------


# One round trip per document: scan it, provoke every element, and take what the canary recorded.
INSPECT_DOCUMENT = f"""([regions, focus]) => {{
  const scan = ({SCAN})(regions);
  ({PROVOKE})(document.body, focus);
  return [scan, (window.__xss || []).splice(0)];
}}"""
TAKE_RECORDED = "() => (window.__xss || []).splice(0)"
FORM_SHAPE_OF = f"""selector => {{
  const form = document.querySelector(selector);
  return form ? ({FORM_SHAPE})(form) : null;
}}"""


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

    def visit(
        self, surface: str, path: str, status: int = 200, focus: bool = True, sweep: bool = False
    ) -> None:
        """Open ``path`` in the tab; scan it and provoke every element (focusing each that can take
        focus, unless told not to: on a list of hundreds that takes seconds), and sweep it with the
        mouse if asked."""
        self.canary.expected = path.split("#")[0]
        response = self.page.goto(path, wait_until="load")
        self._status(path, response.status if response else 0, status)
        self.inspect(surface, path, focus=focus, sweep=sweep)

    def visit_feed(self, surface: str, path: str) -> None:
        """Open a feed or sitemap in the tab: nothing may run, and a feed is shown as plain text."""
        self.canary.expected = path
        response = self.page.goto(path, wait_until="load")
        self._status(path, response.status if response else 0, 200)
        if path.endswith((".atom", ".rss")) and not self.page.evaluate(PLAIN_TEXT):
            self.phase.findings.append(f"{path}: Chromium did not show the feed as plain text")
        self._take(path)
        self._collect(surface)

    def render(self, surface: str, label: str, html: str) -> None:
        """Write ``html`` into the tab at the site's origin, then scan and provoke it."""
        if self.page.url != self.server.url + RENDER_BASE:
            self.canary.expected = RENDER_BASE
            self.page.goto(RENDER_BASE)
        self.canary.expected = RENDER_BASE
        self.page.set_content(html, wait_until="load")
        self.inspect(surface, label, focus=False, sweep=False)

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

    def inspect(self, surface: str, label: str, focus: bool = True, sweep: bool = False) -> None:
        """Scan the tab's document, provoke it, and collect what the canary saw."""
        scan, recorded = self.page.evaluate(INSPECT_DOCUMENT, [CONTENT_REGIONS, focus])
        for key, items in scan.items():
            if key != "elements" and items:
                self.phase.findings.append(f"{label[:160]}: {key}: {items[:4]}")
        self.canary.executions += recorded
        if sweep:
            sweep_with_the_mouse(self.page)
        self._take(label)
        self._collect(surface)

    def form_shape(self, selector: str) -> list[str] | None:
        """Return the shape of the first form matching ``selector`` (None if there is none left)."""
        shape: list[str] | None = self.page.evaluate(FORM_SHAPE_OF, selector)
        return shape

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
            self.phase.findings.append(f"{label[:160]}: shown {shown[:3]!r}, stored {stored[:3]!r}")

    def settle(self) -> None:
        """Give timers, animations and late errors of the last document a moment, and collect them."""
        self.page.wait_for_timeout(300)
        self._take(f"late, in {self.page.url}")
        self._collect(None)

    def _status(self, path: str, got: int, expected: int) -> None:
        if got != expected:
            self.phase.findings.append(f"{path[:160]}: HTTP {got}, expected {expected}")

    def _take(self, label: str) -> None:
        self.canary.executions += self.page.evaluate(TAKE_RECORDED)
        self.canary.executions += [f"frame {frame.url} ({label[:160]})" for frame in self.page.frames[1:]]

    def _collect(self, surface: str | None) -> None:
        # The console and the page's own record both report an execution: count each once.
        if surface is not None:
            self.phase.renders[surface] += 1
        self.phase.executions += [
            e for e in dict.fromkeys(self.canary.executions) if e not in self.phase.executions
        ]
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
    mail = f'[mail]\nhost = "127.0.0.1"\nport = {smtp[0]}\nsecurity = "none"\n'
    mail += 'recipients = ["owner@example.com"]\n'
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


def _start(summary: Summary, name: str, *viewers: Viewer) -> Phase:
    phase = Phase(name)
    summary.phases.append(phase)
    for viewer in viewers:
        viewer.phase = phase
    return phase


# --- Admin forms, feeds, mail ---------------------------------------------------------------------------


def _feed_problems(label: str, data: bytes, allow: frozenset[str]) -> tuple[list[Any], list[str]]:
    """Return a feed's entries, and whatever in it a feed reader would take for active HTML (what it
    takes for HTML, it takes as feedparser does, without feedparser's own sanitiser)."""
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    problems = [f"{label}: not well-formed: {parsed.bozo_exception}"] if parsed.bozo else []
    root = ET.fromstring(data)
    problems += _xml_problems(label, root, RSS_NS if root.tag == "rss" else (ATOM,))
    html = []
    for entry in [parsed.feed, *parsed.entries]:
        details = [entry.get(f"{key}_detail") for key in ("title", "subtitle", "summary", "author")]
        for detail in [*details, *entry.get("content", [])]:
            if detail and detail.get("type") in ("text/html", "application/xhtml+xml"):
                html.append(f"<div>{detail['value']}</div>")
    # All of a feed's HTML in one parse: html5lib is slow, and an element is an element either way.
    problems += html_problems(label, "".join(html), allow)
    return list(parsed.entries), problems


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


@functools.cache
def _csrf(client: httpx2.Client) -> str:
    """Return the CSRF token of the client's session (one per session, so fetched once)."""
    return _hidden(client.get("/admin/password").text, "csrf")


def _send(
    client: httpx2.Client, path: str, form: dict[str, str | list[str]], action: str = "save"
) -> httpx2.Response:
    """Send an admin form as its button does (with the session's CSRF token)."""
    return client.post(path, data={"csrf": _csrf(client), "action": action, **form})


def _follow(viewer: Viewer, surface: str, path: str) -> int:
    """Visit a list and every later page of it (rel=next); return how many pages."""
    pages = 0
    while path:
        viewer.visit(surface, path, focus=False)
        pages += 1
        following = viewer.page.locator("a[rel=next]")
        path = str(following.first.get_attribute("href")) if following.count() else ""
    return pages


def _check_feeds(
    phase: Phase, viewer: Viewer, paths: list[str], allow: frozenset[str]
) -> dict[str, list[Any]]:
    """Check feeds as a reader's parser takes them, then open each in Chromium; return their entries."""
    entries = {}
    for path in paths:
        response = viewer.client.get(path)
        if response.status_code != 200:
            phase.findings.append(f"{path}: HTTP {response.status_code}")
            continue
        entries[path], problems = _feed_problems(path, response.content, allow)
        phase.findings += problems
        viewer.visit_feed("feed", path)
    return entries


def test_the_canary_sees_injected_script(reader: Viewer) -> None:
    """The instruments themselves: a document with an event handler and a script element, written
    into the tab as the bulk checks write pages, is caught by the canary, the scan and the garble check."""
    phase = Phase("control")
    reader.phase = phase
    reader.render("control", "control", '<p><img src="/x" onerror="alert(1)"><script>confirm(2)</script></p>')
    reader.same_text("control", reader.texts("p"), ["<script>confirm(2)</script>"])
    reader.settle()
    assert [e.split(" in ")[0] for e in phase.executions] == ["confirm(2)", "alert(1)"], phase.executions
    assert any("handlers" in f for f in phase.findings) and any("scripts" in f for f in phase.findings)
    assert any("shown" in f for f in phase.findings), phase.findings


def test_moderators_cannot_write_posts_or_pages(site: Server) -> None:
    """Why the owner writes the payload posts: the editor (and settings, uploads) are the owner's."""
    with _signed_in_client(site, MODERATOR, MODERATOR_PASSWORD) as moderator:
        assert moderator.get("/admin/comments").status_code == 200
        for path in ("/admin/posts/new", "/admin/pages/new", "/admin/settings", "/admin/uploads"):
            assert moderator.get(path).status_code == 403, path
        refused = _send(moderator, "/admin/posts/new", {"title": "By a moderator", "body": "x"})
        assert refused.status_code == 403 and "owner" in refused.text
    assert site.query("SELECT count(*) FROM posts WHERE title = 'By a moderator'") == [(0,)]


# --- Settings ----------------------------------------------------------------------------------------

TEXT_SETTINGS = (
    "site.title",
    "site.description",
    "contact.name",
    "contact.credentials",
    "contact.email",
    "contact.phone",
    "footer.copyright_holder",
    "footer.rights",
)
LIST_SETTINGS = (
    "contact.address",
    "comments.moderation_words",
    "comments.blocked_words",
    "comments.blocked_emails",
)
# Validated: a payload there is refused with a message, and the form shows everything back.
CHECKED_SETTINGS = ("footer.copyright_years", "comments.blocked_networks", "comments.link_limit")
HOLD_WORD = "holdthisone"  # a moderation word, so that each round's comment is held and mailed
# The settings form's values as the browser would send them (less the session's token, and less the
# navigation rows, if asked).
FORM_DATA = """(form, withoutNavigation) => Object.fromEntries([...new FormData(form)]
  .filter(([key]) => key !== 'csrf' && !(withoutNavigation && key.startsWith('nav-'))))"""
# Every kind of public page (each shows the settings), and what it answers.
SETTINGS_PAGES = (
    ("/blog/", 200),
    ("/", 200),
    (POST_PATH, 200),
    ("/search?q=stretch", 200),
    ("/archive/", 200),
    ("/tags/stretches/", 200),
    ("/schedule-an-appointment", 200),
    ("/no-such-page", 404),
    ("/admin/login", 200),
)
# What every public page shows of the settings.
SETTINGS_SHOWN = """() => {
  const texts = selector => [...document.querySelectorAll(selector)].map(e => e.textContent);
  const business = [...document.querySelectorAll("script[type='application/ld+json']")]
    .map(e => JSON.parse(e.textContent)).filter(d => d['@type'] === 'LocalBusiness');
  return {
    title: texts('.site-title a'),
    nav: texts('.site-nav a'),
    contact: texts('.contact-name'),
    address: texts('.contact-address'),
    copyright: texts('.copyright'),
    description: [...document.querySelectorAll('meta[name=description]')].map(e => e.content),
    business: business.map(d => d.name),
  };
}"""


def _nav_url(index: int, payload: str) -> str:
    """Return a navigation link that the settings accept, with as much of the payload as it can hold."""
    bare = "".join(payload.split()).replace("..", ".")
    return ("/search?q=", "https://x.example/", "upload:")[index % 3] + bare


def _settings_form(base: dict[str, str], batch: list[str], refused: bool) -> dict[str, str]:
    """Return the settings form with the batch in every text field, list and navigation link (and, if
    ``refused``, in the fields that are checked too, and as raw navigation addresses)."""
    form = {**base, **{name: " ".join(batch) for name in TEXT_SETTINGS}}
    form.update({name: "\n".join(batch) for name in LIST_SETTINGS})
    form["comments.moderation_words"] += f"\n{HOLD_WORD}"
    for index, payload in enumerate(batch):
        form[f"nav-{index}-order"] = str(index + 1)
        form[f"nav-{index}-label"] = payload
        form[f"nav-{index}-url"] = payload if refused else _nav_url(index, payload)
    if refused:
        form.update({name: " ".join(batch) for name in CHECKED_SETTINGS})
    return form


def _settings_shown(viewer: Viewer, path: str, stored: dict[str, Any], labels: list[str]) -> None:
    shown = viewer.page.evaluate(SETTINGS_SHOWN)
    name, credentials = stored["contact.name"], stored["contact.credentials"]
    expected = {
        "title": [stored["site.title"]],
        "nav": labels,
        "contact": [f"{name}, {credentials}"] * 2,
        "address": [*stored["contact.address"]] * 2,
        "copyright": [
            f"© {stored['footer.copyright_years']} {stored['footer.copyright_holder']}. "
            + stored["footer.rights"]
        ],
        "description": [stored["site.description"]],
        "business": [name],
    }
    if path != "/blog/":  # other pages describe themselves (a post, a search)
        del expected["description"]
    for key, wanted in expected.items():
        viewer.same_text(f"{path} {key}", shown[key], wanted)


def _settings_round(
    phase: Phase, site: Server, owner: Viewer, reader: Viewer, inbox: Inbox, number: int, batch: list[str]
) -> list[int]:
    """Save the batch in the settings, show it back refused, visit what shows settings, and have a
    comment mailed; return the comment's id."""
    owner.visit("settings screen", "/admin/settings")
    base = owner.page.locator("form.comment-fields").evaluate(FORM_DATA, True)
    for name in (*TEXT_SETTINGS, *LIST_SETTINGS, "navigation label", "navigation link"):
        phase.tried[name] += len(batch)
    saved = _send(owner.client, "/admin/settings", _settings_form(base, batch, refused=False), action="")
    if saved.status_code != 303:
        phase.findings.append(f"round {number}: settings not saved ({saved.status_code}): {saved.text[:400]}")
        return []
    owner.visit("settings screen", "/admin/settings")
    shape = owner.form_shape("form.comment-fields")
    refused = _send(owner.client, "/admin/settings", _settings_form(base, batch, refused=True), action="")
    for name in (*CHECKED_SETTINGS, "navigation link (raw)"):
        phase.tried[name] += len(batch)
        phase.refused[name] += len(batch)
    if refused.status_code != 400:
        phase.findings.append(f"round {number}: raw payloads not refused ({refused.status_code})")
    owner.render("settings screen, refused", f"round {number}, refused", refused.text)
    if owner.form_shape("form.comment-fields") != shape:
        phase.findings.append(f"round {number}: the refused settings form changed shape")

    stored = {key: json.loads(value) for key, value in site.query("SELECT key, value FROM site_settings")}
    labels = [payload.strip() for payload in batch]
    for path, status in SETTINGS_PAGES:
        reader.visit("public page", path, status=status, sweep=path == "/blog/")
        _settings_shown(reader, path, stored, labels)
    owner.visit("dashboard", "/admin/")
    feeds = ["/feeds/posts.atom", "/feeds/posts.rss", "/feeds/comments.rss"]
    _check_feeds(phase, reader, feeds, frozenset({"img"}))

    # A held comment's mail carries the site's title in its subject.
    before = len(inbox.received)
    corpus = post_corpus(site, POST_PATH, [f"Round {number}: {HOLD_WORD}"])
    phase.findings += corpus.unexpected
    if corpus.stored:
        (message,) = inbox.wait(before + 1, seconds=30)[before:]
        phase.mails += 1
        phase.findings += [f"round {number} mail: {p}" for p in _mail_problems(message)]
        if _words(str(message["Subject"])) != _words(
            f"[{stored['site.title']}] Comment held on “{POST_TITLE}”"
        ):
            phase.findings.append(f"round {number} mail subject: {message['Subject']!r}")
    return corpus.stored


def test_settings_fields(
    site: Server, owner: Viewer, reader: Viewer, smtp: tuple[int, Inbox], summary: Summary
) -> None:
    """Every payload, a quarter a round, in every text and list setting and as navigation labels and
    links, saved through the settings screen; then every kind of page, the feeds and the mail."""
    phase = _start(summary, "settings", owner, reader)
    owner.visit("settings screen", "/admin/settings")
    original = owner.page.locator("form.comment-fields").evaluate(FORM_DATA, False)
    held: list[int] = []
    try:
        for number in range(SETTINGS_ROUNDS):
            batch = PAYLOADS[number::SETTINGS_ROUNDS]
            held += _settings_round(phase, site, owner, reader, smtp[1], number, batch)
        reader.settle()
        owner.settle()
    finally:
        # The site as it was, for the other tests: its settings, and none of these rounds' comments.
        restored = _send(owner.client, "/admin/settings", original, action="")
        ids = [str(comment_id) for comment_id in held]
        forgotten = _send(owner.client, "/admin/comments", {"ids": ids}, action="delete") if ids else None
    assert restored.status_code == 303, restored.text[:400]
    assert forgotten is None or f"{len(ids)} comment" in unquote_plus(forgotten.headers["location"])
    phase.check()


# --- Posts and pages ------------------------------------------------------------------------------------

EDITOR_ERROR = re.compile(r'id="f-([\w.]+)-error"')
# What replaces a field the editor refuses (counted as refused), so that the rest can be stored.
POST_FALLBACKS = {"title": "xss post", "subtitle": "", "excerpt": "", "tags": "", "author": ""}
FORM_BATCH = 40  # payloads shown back at once by a refused editor or a preview
# The deterministic subsets (every n-th payload, post, tag or mail) of the surfaces that show one
# payload each and repeat a template that the full corpus goes through elsewhere.
PAGES_EVERY, EDITORS_EVERY, TAGS_EVERY, MAIL_PAGES_EVERY = 4, 8, 4, 3


def _batch_tag(index: int) -> str:
    return f"xss-batch-{index // BATCH}"


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
    editors = {
        "post": (
            "/admin/posts/new",
            ("title", "slug", "subtitle", "body", "excerpt", "tags", "author", "date", "time"),
        ),
        "page": ("/admin/pages/new", ("title", "slug", "body")),
    }
    for kind, (path, fields) in editors.items():
        owner.visit(f"{kind} editor, empty", path)
        shape = owner.form_shape("form.editor")
        for start in range(0, len(PAYLOADS), FORM_BATCH):
            batch = PAYLOADS[start : start + FORM_BATCH]
            label = f"{kind} editor, payloads #{start} to #{start + len(batch) - 1}"
            # Every field at once (refused: the title is too long), then only the slug wrong (refused
            # with a message that quotes it), then, for posts, the preview.
            forms: list[tuple[str, tuple[str, ...], dict[str, str | list[str]], str]] = [
                ("title", fields, {name: "\n".join(batch) for name in fields}, "save"),
                ("slug", ("slug",), {"title": "Slug", "slug": " ".join(batch), "status": "draft"}, "save"),
            ]
            if kind == "post":
                forms.append(("", ("preview",), {"title": "Preview", "body": "\n\n".join(batch)}, "preview"))
            for error, shown_back, form, action in forms:
                response = _send(owner.client, path, form, action)
                errors = EDITOR_ERROR.findall(response.text)
                if response.status_code != (400 if error else 200) or (error and error not in errors):
                    phase.findings.append(f"{label}: answered {response.status_code}, errors {errors}")
                for name in shown_back:
                    phase.tried[f"{kind} editor {name}"] += len(batch)
                    phase.refused[f"{kind} editor {name}"] += len(batch) if error else 0
                owner.render(
                    f"{kind} editor, shown back" if error else "post editor preview", label, response.text
                )
                if owner.form_shape("form.editor") != shape:
                    phase.findings.append(f"{label}: the form changed shape ({error or 'preview'})")


# What a post page shows of the stored post, as text (the JSON-LD parsed as data).
POST_SHOWN = """() => {
  const texts = selector => [...document.querySelectorAll(selector)].map(e => e.textContent);
  const data = [...document.querySelectorAll("script[type='application/ld+json']")]
    .map(e => JSON.parse(e.textContent)).filter(d => d['@type'] === 'BlogPosting');
  return [texts('h1.post-title'), texts('.post-subtitle'), texts('.post-meta .post-author'),
    texts('.post-meta .post-tags a'),
    [...document.querySelectorAll("meta[property='og:title']")].map(e => e.content),
    data.map(d => d.headline)];
}"""


def _check_post_page(
    viewer: Viewer, stored: dict[str, tuple[str, str, str, list[str]]]
) -> Callable[[str], None]:
    """Return a check that a post page shows the stored title, subtitle, author and tags as text, in
    the page, its OpenGraph title and its JSON-LD."""

    def check(path: str) -> None:
        title, subtitle, author, tags = stored[path.split("/")[2]]
        expected = [
            [title],
            [subtitle] if subtitle else [],
            [f"by {author}"] if author else [],
            tags,
            [title],
            [title],
        ]
        shown = viewer.page.evaluate(POST_SHOWN)
        shown[3] = sorted(shown[3], key=_words)
        for found, wanted in zip(shown, expected, strict=True):
            viewer.same_text(path, found, wanted)

    return check


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
        "SELECT p.slug, t.name FROM posts p JOIN post_tags pt ON pt.post_id = p.id"
        " JOIN tags t ON t.id = pt.tag_id"
    ):
        post_tags.setdefault(slug, []).append(name)
    stored = {
        slug: (title, subtitle, author, sorted(post_tags.get(slug, []), key=_words))
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
    for number in range(1, -(-(len(posts) + 1) // ADMIN_POSTS_PAGE) + 1):
        owner.visit("admin post list", f"/admin/posts?page={number}", focus=False)
    owner.visit("admin page list", "/admin/pages")
    shown = {_words(text) for text in owner.texts(".admin-table td:first-child a")}
    if shown != {_words(title) for *_, title in pages} | {"Schedule an Appointment"}:
        phase.findings.append("the admin page list does not show every page title as text")

    batches = [
        f"/feeds/tags/xss-batch-{n}.{fmt}"
        for n in range(-(-len(PAYLOADS) // BATCH))
        for fmt in ("atom", "rss")
    ]
    entries = sum(len(e) for e in _check_feeds(phase, reader, batches, frozenset({"img"})).values())
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
    # The blog lists every post, a hundred a page; search shows the best 200 results.
    assert lists == -(-(len(posts) + 1) // BATCH) + 2, f"{lists} pages of lists"


# --- Comments ----------------------------------------------------------------------------------------

QUEUE_ROWS = """() => [...document.querySelectorAll('table.queue tbody tr')].map(tr =>
  [Number(tr.id.slice(1)), tr.querySelector('.queue-meta strong')?.textContent,
   tr.querySelector('.queue-title')?.textContent])"""


def _queue_tab(
    phase: Phase, owner: Viewer, status: str, stored: dict[int, tuple[str, str]], pages: int = 0
) -> None:
    """Visit every page of one tab of the moderation queue (or the first ``pages``); check that each
    comment's name and title show as text."""
    shown: list[int] = []
    for number in range(1, (pages or -(-len(stored) // QUEUE_PAGE) + 1) + 1):
        owner.visit(f"queue: {status}", f"/admin/comments?status={status}&page={number}", focus=False)
        for comment_id, name, title in owner.page.evaluate(QUEUE_ROWS):
            if comment_id in stored:
                shown.append(comment_id)
                owner.same_text(f"queue {status} #{comment_id}", [name, title], list(stored[comment_id]))
        if not owner.page.locator("a:has-text('Older →')").count():
            break
    if (pages and len(shown) != min(len(stored), pages * QUEUE_PAGE)) or (
        not pages and sorted(shown) != sorted(stored)
    ):
        phase.findings.append(f"the {status} tab shows {len(shown)} of the {len(stored)} comments")


def _bulk(phase: Phase, owner: Viewer, status: str, button: str, done: str) -> None:
    """Select every comment of a tab ("Select all N matching") and press a bulk action's button."""
    owner.canary.expected = "/admin/comments"
    owner.page.goto(f"/admin/comments?status={status}")
    owner.page.locator("#all").check()
    with owner.page.expect_navigation():
        owner.page.get_by_role("button", name=button, exact=True).click()
    flash = owner.texts(".flash")
    if not flash or not flash[0].endswith(done):
        phase.findings.append(f"{button} on every {status} comment: {flash}")


def test_comment_fields_on_admin_screens_feeds_and_mail(
    site: Server, owner: Viewer, reader: Viewer, smtp: tuple[int, Inbox], summary: Summary
) -> None:
    """One comment per payload, the payload in every field (as test_xss_corpus posts them), then every
    admin screen, feed and mail that shows comments. The public post page is test_xss_corpus's."""
    phase = _start(summary, "comments", owner, reader)
    inbox = smtp[1]
    mails_before = len(inbox.received)
    corpus = post_corpus(site, POST_PATH, PAYLOADS)
    for name, answers in corpus.answers.items():
        phase.tried[f"comment {name}"] += sum(answers.values())
        phase.refused[f"comment {name}"] += answers[400]
    phase.findings += corpus.unexpected
    assert len(corpus.stored) == len(PAYLOADS), corpus.summary()
    stored = {
        comment_id: (name, title or f"Re: {POST_TITLE}")
        for comment_id, name, title in corpus.rows("id, author_name, title")
    }

    # Each held comment is mailed as plain text; an HTML part, if a mail ever has one, is rendered.
    # The server logs each mail's outcome once the SMTP server has answered; wait for every one.
    first = min(stored)
    statuses = site.query("SELECT status, reasons, count(*) FROM comments WHERE id >= ? GROUP BY 1, 2", first)
    assert all(status == "pending" for status, _, _ in statuses), f"not all held: {statuses}"
    unlogged_sql = (
        "SELECT id FROM comments c WHERE id >= ?"
        " AND NOT EXISTS (SELECT 1 FROM mail_log m WHERE m.comment_id = c.id)"
    )
    deadline = time.monotonic() + 120
    while (unlogged := site.query(unlogged_sql, first)) and time.monotonic() < deadline:
        time.sleep(0.1)
    log = site.log_path.read_text(encoding="utf-8", errors="replace")
    assert not unlogged, (
        f"no mail logged for comments {unlogged[:10]} (of {first}..), {len(inbox.received) - mails_before}"
        f" received; answers {corpus.unexpected[:5]}; server log:\n{log[-4000:]}"
    )
    problems = site.query(
        "SELECT comment_id, status, detail FROM mail_log WHERE comment_id >= ? AND status != 'sent'", first
    )
    assert not problems, f"{len(problems)} notification(s) not sent: {problems[:5]}"
    messages = inbox.wait(mails_before + len(PAYLOADS), seconds=10)[mails_before:]
    for message in messages:
        phase.mails += 1
        phase.findings += [f"mail “{message['Subject']}”: {p}" for p in _mail_problems(message)]
        for part in message.walk():
            if part.get_content_type() == "text/html":
                owner.render("mail, HTML part", str(message["Subject"]), part.get_content())
    approve_links = [links_of(m)["approve"].removeprefix(site.url) for m in messages]
    reader.render_paths("page a mail's link opens", approve_links[::MAIL_PAGES_EVERY])

    _queue_tab(phase, owner, "pending", stored)
    owner.visit("dashboard", "/admin/")
    owner.visit("post page, signed in", POST_PATH, focus=False)
    moderation_forms = owner.page.locator("form.inline-moderation").count()
    if moderation_forms != len(PAYLOADS):
        phase.findings.append(f"the post page offers inline moderation of {moderation_forms} comments")
    _bulk(phase, owner, "pending", "Mark as spam", f"{len(PAYLOADS)} comments marked as spam.")
    _queue_tab(phase, owner, "spam", stored, pages=1)  # the same rows as pending and approved
    _bulk(phase, owner, "spam", "Trash", f"{len(PAYLOADS)} comments moved to the trash.")
    _queue_tab(phase, owner, "trash", stored, pages=1)
    _bulk(phase, owner, "trash", "Restore", f"{len(PAYLOADS)} comments restored to pending.")

    # Approved a hundred at a time, oldest first, so that each hundred is the newest in the feeds.
    feeds = [f"/feeds/comments.{fmt}" for fmt in ("atom", "rss")]
    feeds += [f"/feeds/posts/{POST_PATH.split('/')[2]}/comments.{fmt}" for fmt in ("atom", "rss")]
    ids = sorted(stored)
    for start in range(0, len(ids), BATCH):
        site.approve(*ids[start : start + BATCH])
        for feed, entries in _check_feeds(phase, reader, feeds, frozenset()).items():
            shown = {int(e.id.rsplit(":", 1)[1]) for e in entries}
            if not set(ids[start : start + BATCH]) <= shown:
                phase.findings.append(f"{feed} lacks comments of the hundred from #{start}")
    _queue_tab(phase, owner, "approved", stored)
    owner.visit("post page, signed in", POST_PATH, focus=False)
    owner.visit("dashboard", "/admin/", sweep=True)
    reader.settle()
    owner.settle()
    phase.check()


# --- Upload names ------------------------------------------------------------------------------------

BROWSER_UPLOADS_EVERY = 16


def _disk_name(index: int, payload: str) -> str:
    """Return a file name holding the payload, as an import or a file transfer could leave it."""
    name = payload.replace("/", "\u2215").replace("\0", "")
    while len(name.encode()) > 200:
        name = name[:-1]
    return f"{name}.{index:03d}.pdf"


def test_upload_names(site: Server, owner: Viewer, summary: Summary) -> None:
    """Every payload as the name of a file uploaded through the admin form (over HTTP, and a subset
    through Chromium's own file chooser), and as the name of a file put into uploads/ directly."""
    phase = _start(summary, "upload names", owner)
    uploads_dir = site.site_dir / "uploads"
    page = owner.page
    # First a few through Chromium's own file chooser (the uploads screen is short then).
    for index in range(0, len(PAYLOADS), BROWSER_UPLOADS_EVERY):
        if "\0" in PAYLOADS[index]:  # a file name cannot hold NUL
            continue
        phase.tried["upload name (Chromium's file chooser)"] += 1
        owner.canary.expected = "/admin/uploads"
        page.goto("/admin/uploads")
        file = {"name": f"{PAYLOADS[index]}.pdf", "mimeType": "application/pdf", "buffer": PDF}
        page.locator("#f-file").set_input_files(files=[file])
        with page.expect_navigation():
            page.get_by_role("button", name="Upload").click()
        owner.inspect("uploads screen, after an upload", f"upload of payload #{index}")
        if not owner.texts(".flash"):
            phase.findings.append(f"upload of payload #{index} through Chromium: no message ({page.url})")
    for payload in PAYLOADS:
        phase.tried["upload name (form)"] += 1
        answer = owner.client.post(
            "/admin/uploads",
            data={"csrf": _csrf(owner.client)},
            files={"file": (f"{payload}.pdf", PDF, "application/pdf")},
        )
        if answer.status_code == 400 and "field-error" in answer.text:
            phase.refused["upload name (form)"] += 1
        elif answer.status_code != 303:
            phase.findings.append(f"upload of “{payload}.pdf”: HTTP {answer.status_code} {answer.text[:200]}")
    for index, payload in enumerate(PAYLOADS):
        phase.tried["upload name (in uploads/)"] += 1
        (uploads_dir / _disk_name(index, payload)).write_bytes(PDF)
    names = sorted(p.relative_to(uploads_dir).as_posix() for p in uploads_dir.rglob("*") if p.is_file())
    owner.visit("uploads screen", "/admin/uploads", focus=False)
    owner.same_text("uploads screen", owner.texts(".admin-table td:first-child a"), names)
    # (The HTML parser reads a CR in an attribute as a LF, as it does everywhere.)
    if owner.values(".admin-table input[name=name]") != [
        n.replace("\r\n", "\n").replace("\r", "\n") for n in names
    ]:
        phase.findings.append("the uploads screen's delete forms do not name every file exactly")

    # Deleting a file whose name is markup works from the screen like any other.
    victim = next(n for n in names if '"' in n and "<" in n and "\r" not in n)
    row = owner.page.evaluate(
        "name => [...document.querySelectorAll('input[name=name]')].findIndex(i => i.value === name)", victim
    )
    with page.expect_navigation():
        page.locator(".admin-table form.inline-form").nth(row).get_by_role("button").click()
    if owner.texts(".flash") != ["File deleted."] or (uploads_dir / victim).exists():
        phase.findings.append(f"deleting “{victim}” from the uploads screen failed: {owner.texts('.flash')}")
    owner.settle()
    phase.check()


# --- Query parameters shown back --------------------------------------------------------------------


def test_query_parameters_shown_back(owner: Viewer, reader: Viewer, summary: Summary) -> None:
    """Every payload (packed into 200-character queries) in the search box, the sign-in page's return
    address, and the moderation queue's filter and flash message."""
    phase = _start(summary, "query parameters", owner, reader)
    chunks = _chunks(PAYLOADS, REFLECTED_CHARS)
    surfaces = [
        (reader, "search page", "form.search-form", "/search", lambda c: {"q": c}, ["search q"]),
        (
            reader,
            "sign-in page",
            "section.login form",
            "/admin/login",
            lambda c: {"next": "/" + c},
            ["sign-in next"],
        ),
        (
            owner,
            "queue, filtered",
            "form.queue-filter",
            "/admin/comments",
            lambda c: {"q": c, "done": c},
            ["queue q", "flash done"],
        ),
    ]
    for viewer, surface, form, path, query, fields in surfaces:
        viewer.visit(f"{surface}, empty", path)
        shape = viewer.form_shape(form)

        def same_shape(
            address: str, viewer: Viewer = viewer, form: str = form, shape: list[str] = shape
        ) -> None:
            if viewer.form_shape(form) != shape:
                phase.findings.append(f"{address[:120]}: the form changed shape")

        viewer.render_paths(surface, [f"{path}?{urlencode(query(c))}" for c in chunks], check=same_shape)
        for name in fields:
            phase.tried[name] += len(PAYLOADS)
    reader.settle()
    owner.settle()
    phase.check()
