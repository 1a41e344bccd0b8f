"""What the XSS browser tests share: the payload corpus, the script-execution canary, the scripts that
provoke and inspect a page, and the check of stored HTML.

Used by test_xss_corpus.py (every payload in every comment field, on the post page) and
test_xss_fields.py (every other user-controlled field, on every page, feed, mail and admin screen).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx2
from bs4 import BeautifulSoup, Tag
from playwright.sync_api import ConsoleMessage, Dialog, Frame, Page, Request

from .conftest import REPO_ROOT, Server

PAYLOAD_FILE = REPO_ROOT / "tests" / "data" / "xss-payloads.txt"
PLACEHOLDERS = {"{TAB}": "\t", "{LF}": "\n", "{CR}": "\r", "{FF}": "\f", "{NUL}": "\0"}
COMMENT_FIELDS = ("name", "email", "website", "title", "body")

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
# Every element under the given one gets every kind of event a handler could listen to (not
# bubbling, and no click on links: their targets are checked separately), and unless ``focus`` is
# false, every element that can take focus gets it for real (asking the others costs a layout each,
# and they ignore it). Real focus costs most of the time; pages shown by the hundred skip it.
PROVOKE = """
(list, focus = true) => {
  const events = ['mouseover', 'mouseenter', 'mousemove', 'mousedown', 'mouseup', 'click', 'dblclick',
    'contextmenu', 'pointerover', 'pointerenter', 'pointerdown', 'pointerup', 'focus', 'focusin',
    'blur', 'keydown', 'keyup', 'input', 'change', 'toggle', 'animationstart', 'animationend',
    'transitionend', 'wheel', 'scroll', 'load', 'error', 'begin', 'start', 'finish'];
  let count = 0;
  for (const el of list.querySelectorAll('*')) {
    if (focus && (el.tabIndex >= 0 || el.hasAttribute('tabindex') || el.isContentEditable)) {
      el.focus();
      el.blur();
    }
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
# A form as elements: a payload shown back in it must not add, remove or change any of them.
FORM_SHAPE = """
form => [...form.querySelectorAll('*')]
  .filter(el => !el.matches('.field-error'))
  .map(el => [el.localName, ...[...el.attributes].map(a => a.name).filter(n => n !== 'aria-invalid' &&
    n !== 'aria-describedby' && n !== 'checked' && n !== 'selected').sort()].join(' '))
"""
# A whole document, as the site's own templates never make it: any of these is injected markup.
# (The site runs no script of its own; its only <script> elements are JSON-LD data blocks, and the
# only <svg> is the dashboard's chart; comments hold no images.) Inside ``regions`` (where stored
# HTML is shown) no form control, frame-like or SVG element may appear either.
SCAN = """
regions => {
  const all = [...document.querySelectorAll('*')];
  const cut = el => el.outerHTML.slice(0, 160);
  const active = 'iframe, frame, frameset, object, embed, applet, base, portal, meta[http-equiv], ' +
    'link:not([rel=stylesheet]):not([rel=icon]):not([rel=canonical]):not([rel=alternate]), style, ' +
    'math, template, noscript, xmp, plaintext, marquee, video, audio, [style], [srcdoc], ' +
    '[formaction], [autofocus], [contenteditable], svg:not(.chart > svg), ' +
    '.chart svg *:not(line, rect, title), .comment-body img';
  const inRegions = 'form, input, button, select, textarea, svg, details, link, meta, title';
  const scripts = [...document.querySelectorAll('script')].filter(s => {
    if (s.type !== 'application/ld+json' || s.attributes.length !== 1) return true;
    try { JSON.parse(s.textContent); return false; } catch (e) { return true; }
  });
  const schemes = ['http:', 'https:', 'mailto:', 'tel:'];
  // form.action would be a control named "action" (the editor has one), so ask the prototype.
  const action = Object.getOwnPropertyDescriptor(HTMLFormElement.prototype, 'action').get;
  const own = location.origin + '/';
  const badUrl = url => {  // an address that does not parse cannot be followed (nor run)
    try { return !schemes.includes(new URL(url, location.href).protocol); } catch (e) { return false; }
  };
  return {
    elements: all.length,
    handlers: all.flatMap(el => [...el.attributes].filter(a => /^on/i.test(a.name))
                                     .map(a => `<${el.localName} ${a.name}="${a.value.slice(0, 80)}">`)),
    scripts: scripts.map(cut),
    active: [...document.querySelectorAll(active)].map(cut),
    regions: [...document.querySelectorAll(regions)].flatMap(r => [...r.querySelectorAll(inRegions)])
                                                   .map(cut),
    links: [...document.querySelectorAll('a[href], area[href]')].filter(a => badUrl(a.href)).map(cut),
    forms: [...document.querySelectorAll('form')].filter(f => !action.call(f).startsWith(own)).map(cut),
    images: [...document.querySelectorAll('img[src]')].filter(i => badUrl(i.src)).map(cut),
  };
}
"""


def load_payloads() -> list[str]:
    """Return the corpus, placeholders replaced by the characters they stand for."""
    payloads = []
    for line in PAYLOAD_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        for placeholder, char in PLACEHOLDERS.items():
            line = line.replace(placeholder, char)
        payloads.append(line)
    return payloads


def as_kept(text: str) -> str:
    """Return ``text`` as the comment form keeps it: control characters removed, newlines as LF."""
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


PAYLOADS = load_payloads()


@dataclass
class Canary:
    """What a page did that only injected script (or markup) could make it do.

    ``expected`` is the path (prefix) the test is showing; the main frame going anywhere else, or
    any frame appearing, counts as a navigation. Requests leaving the site count too, except images
    when ``foreign_images`` is set (a post's author may show a picture from another site)."""

    origin: str
    expected: str = "/"
    foreign_images: bool = False
    executions: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        """Listen to everything ``page`` does."""
        page.on("console", self.on_console)
        page.on("dialog", self.on_dialog)
        page.on("pageerror", self.on_page_error)
        page.on("framenavigated", self.on_frame_navigated)
        page.on("request", self.on_request)

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
        if frame.parent_frame is not None or not frame.url.startswith(self.origin + self.expected):
            self.navigations.append(frame.url)

    def on_request(self, request: Request) -> None:
        if request.url.startswith(self.origin + "/"):
            return
        if self.foreign_images and request.resource_type == "image" and request.url.startswith("http"):
            return
        self.foreign_requests.append(f"{request.resource_type} {request.url}")

    def report(self) -> str:
        return (
            f"{len(self.executions)} executions {self.executions}, navigations elsewhere "
            f"{self.navigations}, requests leaving the site {self.foreign_requests}"
        )

    def check(self, page: Page, where: str = "") -> None:
        """Collect what the canary of the page's current document recorded, and any frames."""
        suffix = f" ({where})" if where else " (recorded in the page)"
        self.executions += [f"{call}{suffix}" for call in page.evaluate("window.__xss || []")]
        self.executions += [f"frame {frame.url}{suffix}" for frame in page.frames[1:]]

    def clean(self) -> bool:
        return not (self.executions or self.navigations or self.foreign_requests)


def unsafe_url(value: str) -> bool:
    """Tell whether a URL would run script (or carry a document) once invisible characters are gone."""
    return _INVISIBLE.sub("", value).lower().startswith(BAD_SCHEMES)


def html_problems(label: object, html: str, allow: frozenset[str] = frozenset()) -> list[str]:
    """Return what would make this stored HTML active, as a browser parses it.

    ``allow`` names forbidden elements the HTML may hold all the same (``img`` in a post)."""
    body = BeautifulSoup(f"<body>{html}</body>", "html5lib").body
    assert isinstance(body, Tag)
    problems = []
    forbidden = FORBIDDEN_TAGS - allow
    for tag in body.find_all(True):
        assert isinstance(tag, Tag)
        if tag.name.lower() in forbidden or tag.namespace != XHTML:
            problems.append(f"#{label}: <{tag.name}> element")
        for name, value in tag.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            lowered = name.lower()
            if lowered.startswith("on") or lowered in ("style", "srcdoc", "formaction", "autofocus"):
                problems.append(f"#{label}: <{tag.name} {name}={text!r}>")
            elif lowered in URL_ATTRIBUTES and unsafe_url(text):
                problems.append(f"#{label}: <{tag.name} {name}={text!r}> (script URL)")
    return problems


def sweep_with_the_mouse(page: Page) -> None:
    """Scroll through the whole page, moving the real mouse across it at every screenful."""
    viewport = page.viewport_size or {"width": 1280, "height": 720}
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    for top in range(0, height, viewport["height"]):
        page.evaluate("y => window.scrollTo(0, y)", top)
        for x, y in ((0.3, 0.1), (0.7, 0.5), (0.4, 0.9)):
            page.mouse.move(viewport["width"] * x, viewport["height"] * y)


@dataclass
class Corpus:
    """What posting the corpus did: requests sent, answers per field, comments stored."""

    server: Server
    payloads: list[str]
    requests: int = 0
    answers: dict[str, Counter[int]] = field(default_factory=lambda: {f: Counter() for f in COMMENT_FIELDS})
    unexpected: list[str] = field(default_factory=list)
    stored: list[int] = field(default_factory=list)

    def rows(self, columns: str) -> list[tuple[Any, ...]]:
        """Return ``columns`` of every stored comment of the corpus, oldest first."""
        marks = ",".join("?" * len(self.stored))
        return self.server.query(
            f"SELECT {columns} FROM comments WHERE id IN ({marks}) ORDER BY id", *self.stored
        )

    def summary(self) -> str:
        per_field = "; ".join(
            f"{name}: " + ", ".join(f"{count}x{status}" for status, count in sorted(answers.items()))
            for name, answers in self.answers.items()
        )
        return (
            f"{len(self.payloads)} payloads, {self.requests} requests, {len(self.stored)} comments "
            f"stored; answers per field (status: 303 stored, 400 refused): {per_field}"
        )


def _form_token(client: httpx2.Client, post_path: str) -> str:
    response = client.get(post_path)
    assert response.status_code == 200
    token = BeautifulSoup(response.text, "html.parser").select_one("#comment-form input[name=token]")
    assert token is not None, "no comment form on the post page"
    return str(token["value"])


def _field_errors(html: str) -> set[str]:
    """Return the fields a refused form marks as wrong (parsed on hundreds of pages, so a regex)."""
    return set(re.findall(r'<span class="field-error" id="c-(\w+)-error">', html))


def _post_payload(
    client: httpx2.Client, corpus: Corpus, post_path: str, token: str, index: int, payload: str
) -> None:
    """Post the payload in every field at once; when some are refused, replace those and resend.

    Refused fields are counted as refused (safe); the rest are counted with the final answer."""
    form = {"token": token, **dict.fromkeys(COMMENT_FIELDS, payload)}
    refused: set[str] = set()
    while True:
        corpus.requests += 1
        response = client.post(post_path + "comments", data={**form, "action": "post"})
        errors = _field_errors(response.text) if response.status_code == 400 else set()
        retry = errors - refused - {"body"}
        if not retry or not retry <= set(COMMENT_FIELDS):
            break
        for name in retry:
            corpus.answers[name][400] += 1
            form[name] = f"xss #{index}" if name == "name" else ""
        refused |= retry
    for name in set(COMMENT_FIELDS) - refused:
        corpus.answers[name][response.status_code] += 1
    if response.status_code != 303:
        corpus.unexpected.append(f"#{index} {payload!r}: {response.status_code}, errors in {errors or '-'}")


def post_corpus(server: Server, post_path: str, payloads: list[str]) -> Corpus:
    """Post each payload as one comment, in every field, through the real form over HTTP (held)."""
    corpus = Corpus(server, payloads)
    (last,) = server.query("SELECT coalesce(max(id), 0) FROM comments")[0]
    # No cookies: a browser that has posted is shown its own held comments, which would make every
    # answer heavier, and the comments would be ours to edit. Each request comes as a stranger.
    no_cookies = CookieJar(DefaultCookiePolicy(allowed_domains=[]))
    with httpx2.Client(base_url=server.url, cookies=no_cookies, timeout=30) as client:
        token = _form_token(client, post_path)
        for index, payload in enumerate(payloads):
            _post_payload(client, corpus, post_path, token, index, payload)
    corpus.stored = [row[0] for row in server.query("SELECT id FROM comments WHERE id > ? ORDER BY id", last)]
    return corpus
