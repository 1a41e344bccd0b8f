"""Property-based fuzzing of every route: hostile requests get a 4xx with a message, never a 5xx.

Hypothesis builds requests from raw bytes (see tests/asgi_raw.py): paths with out-of-range
parameters, percent-escapes of invalid UTF-8 and NUL bytes; malformed query strings; header values
that are not UTF-8; random and tampered cookies; every method; form bodies urlencoded, multipart,
mislabelled, broken or not UTF-8, with repeated and very long fields. They go to a real site
(SQLite file, posts, comments, users) both anonymously and with a signed-in owner's session (with
its CSRF token and same-origin headers, so the admin's actions run).

The requests of each test are shared evenly among the routes (and random paths). Half are
plausible (the route's method, a well-formed form with the valid CSRF or form token), so that the
views' own checks run and not only the ones in front of them; half are hostile throughout.

PEBBLEBLOG_FUZZ_EXAMPLES sets the requests per test (two tests; default 5000 each, so a run sends
over 10,000). The requests are the same on every run, so CI is reproducible; PEBBLEBLOG_FUZZ_RANDOM=1
draws new ones (a failure prints the request: add it to test_fuzz_regressions.py). Each response
must be below 500, and each 4xx page must say what went wrong in a sentence.
"""

from __future__ import annotations

import html
import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_from_bytes, urlencode

import anyio
import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from pebbleblog import accounts, create_app, load_settings, maillinks
from pebbleblog.blog import create_page, create_post
from pebbleblog.models import CommentStatus, Role
from pebbleblog.security import (
    COOKIE_COMMENTER,
    COOKIE_FLASH,
    COOKIE_MINE,
    COOKIE_REMEMBER,
    FORM_SALT,
    Signer,
)
from pebbleblog.storage import Database
from pebbleblog.views.common import SESSION_COOKIE

from .asgi_raw import RawResponse, send_raw
from .conftest import NOW, SECRET, add_comment, draft, write_config

EXAMPLES = int(os.environ.get("PEBBLEBLOG_FUZZ_EXAMPLES", "5000"))
RANDOM = os.environ.get("PEBBLEBLOG_FUZZ_RANDOM") == "1"
OWNER, PASSWORD = "owner", "correct horse battery"
HOST = "testserver"
# The elements that carry a message for the reader (error page, form message, field error).
MESSAGES = re.compile(
    r'class="(?:error-message|form-message|field-error|search-message)"[^>]*>(.*?)</(?:p|span|div)>', re.S
)
_TAG = re.compile(r"<[^>]*>")
SENTENCE = re.compile(r"[A-Za-z][A-Za-z' ,:()-]{8,}")
COOKIES = (SESSION_COOKIE, COOKIE_COMMENTER, COOKIE_MINE, COOKIE_REMEMBER, COOKIE_FLASH)
# fmt: off
FIELDS = [  # the names the forms use, and a few the settings form takes
    "csrf", "token", "action", "ids", "all", "status", "q", "page", "next", "confirm", "slug", "name",
    "email", "website", "title", "body", "parent", "remember", "url", "username", "password", "role",
    "current_password", "new_password", "new_password_again", "file", "subtitle", "excerpt", "tags",
    "date", "time", "comments_open", "author", "site.title", "site.description", "contact.name",
    "contact.address", "comments.min_seconds", "comments.max_length", "comments.blocked_networks",
    "comments.moderation_words", "footer.powered_by", "comments.avatars", "nav-0-label", "nav-0-url",
    "nav-0-order", "nav-0-remove", "nav-1-label", "nav-1-url", "reply", "done",
]
# fmt: on
# fmt: off
VALUES = [  # values the views give meaning to, and ones that often break parsers
    "", "1", "0", "-1", "2", "999999999999999999", "9" * 40, "on", "approve", "spam", "trash", "pending",
    "delete", "published", "draft", "scheduled", "post", "preview", "save", "owner", "moderator", "talk",
    "about", "1.5", "1e9", "NaN", "²", "١", "2024-13-45", "25:61", "http://evil.example/",
    "javascript:alert(1)", "<script>alert(1)</script>", "a\x00b",
    "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"), "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "page:nope",
    "upload:../../etc/passwd", "203.0.113.0/33", "../../",
]
# fmt: on
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "FOO"]
SECRET_OF_ANOTHER_SITE = b"another-site-secret-that-is-long-enough-000"


# --- The site under test -----------------------------------------------------------------------


@dataclass
class Site:
    client: TestClient
    signer: Signer
    session_cookie: str
    csrf: str
    routes: list[Route | Mount]


async def _populate(site_dir: Path) -> None:
    db = Database(load_settings(site_dir, environ={}).database_path)
    await db.open()
    try:
        talk = await create_post(db, draft("Talk", tags="care, back pain"), NOW)
        await create_post(db, draft("Closed", comments_open=False), NOW)
        await create_page(db, "About", "About us.", NOW)
        first = await add_comment(db, post_id=talk, name="Ann", body="Hello *there*.")
        await add_comment(db, post_id=talk, name="Bob", body="Reply.", parent_id=first)
        await add_comment(db, post_id=talk, name="Spam", body="casino", status=CommentStatus.SPAM)
        await add_comment(db, post_id=talk, name="Held", body="Held.", status=CommentStatus.PENDING)
        await accounts.create_user(db, OWNER, PASSWORD, Role.OWNER, NOW)
        await accounts.create_user(db, "helper", PASSWORD, Role.MODERATOR, NOW)
    finally:
        await db.close()


def _sign_in(client: TestClient) -> tuple[str, str]:
    login = BeautifulSoup(client.get("/admin/login").text, "html.parser")
    token = login.select_one("input[name=token]")["value"]  # type: ignore[index]
    signed_in = client.post(
        "/admin/login",
        data={"token": token, "username": OWNER, "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    cookie = signed_in.cookies[SESSION_COOKIE]
    dashboard = BeautifulSoup(client.get("/admin/").text, "html.parser")
    client.cookies.clear()
    return cookie, str(dashboard.select_one("input[name=csrf]")["value"])  # type: ignore[index]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    site_dir = tmp_path_factory.mktemp("fuzz") / "site"
    write_config(site_dir, "[comments]\nmin_seconds = 0\nflood_seconds = 0\nhourly_limit = 0\n")
    anyio.run(_populate, site_dir)
    (site_dir / "uploads").mkdir()
    (site_dir / "uploads" / "intake.pdf").write_bytes(b"%PDF-1.4 test")
    app = create_app(load_settings(site_dir, environ={}))
    with TestClient(app, raise_server_exceptions=False) as client:
        cookie, csrf = _sign_in(client)
        routes = [r for r in app.routes if isinstance(r, Route | Mount)]
        yield Site(client, Signer(SECRET.encode()), cookie, csrf, routes)


# --- Strategies ----------------------------------------------------------------------------------

raw_bytes = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"\x00", b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"..", b"%", b"/", b"\r\n"]),
    st.integers(200, 20_000).map(lambda n: b"x" * n),
)
# Binary decoded is much faster to generate than st.text and still reaches odd characters.
texts = st.one_of(
    st.sampled_from(VALUES),
    st.binary(max_size=30).map(lambda b: b.decode("utf-8", "replace")),
    st.text(max_size=6),
    st.integers(1000, 120_000).map(lambda n: "y" * n),
)


_ID_VALUES = st.one_of(
    st.one_of(st.integers(0, 5), st.integers(0, 10**18 - 1), st.just(10**17)).map(lambda n: str(n).encode()),
    st.just(b"0" * 18),
)
PARAM_VALUES = {
    "id": _ID_VALUES,
    "path": st.one_of(
        st.sampled_from(
            [b"pebbleblog.css", b"intake.pdf", b"../pebbleblog.toml", b"%2e%2e/x", b"a\x00b", b"."]
        ),
        raw_bytes,
    ),
    "str": st.one_of(
        st.sampled_from([b"talk", b"closed", b"about", b"atom", b"rss", b"care", b"nope", b"x" * 300]),
        raw_bytes,
        st.text(max_size=20).map(str.encode),
    ),
}
_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


def _template(route: Route | Mount) -> str:
    return route.path if isinstance(route, Route) else route.path + "/{path:path}"


def path_for(draw: st.DrawFn, route: Route | Mount | None) -> bytes:
    """Return the route's path with each parameter filled (percent-encoded); None: a random path."""
    if route is None:
        return b"/" + quote_from_bytes(draw(raw_bytes), safe="/%").encode()
    parts = []
    for _name, convertor in _PARAM.findall(_template(route)):
        value = draw(PARAM_VALUES.get(convertor, PARAM_VALUES["str"]))
        encoded = quote_from_bytes(value, safe="/" if convertor == "path" else "")
        if draw(st.booleans()):
            encoded = encoded.replace("%2E", ".")  # some clients send dots raw
        parts.append(encoded)
    values = iter(parts)
    return _PARAM.sub(lambda _: next(values), _template(route)).encode("ascii")


def _percent(data: bytes) -> str:
    return quote_from_bytes(data, safe="")


query_strings = st.one_of(
    st.just(b""),
    st.lists(st.tuples(st.sampled_from(FIELDS), texts), max_size=3).map(
        lambda pairs: urlencode(pairs).encode()
    ),
    st.binary(max_size=60),
    st.lists(raw_bytes, max_size=3).map(lambda parts: b"&".join(_percent(p).encode() for p in parts)),
    st.sampled_from(
        [b"page=%ff", b"q=%00", b"page=99999999999999999999", b"q=%", b"next=%2F%2Fevil", b"=&&="]
    ),
)

header_value = st.one_of(
    st.sampled_from([b"", b"\xff\xfe\xfd", b"\xc3\x28", b"null", b"0", b"-1", b"x" * 8000]),
    st.binary(max_size=40).map(lambda b: bytes(c for c in b if c >= 0x21 and c != 0x7F)),
    st.text(max_size=20).map(lambda t: t.encode("utf-8")).map(lambda b: bytes(c for c in b if c >= 0x20)),
)
HEADER_NAMES = [
    b"accept",
    b"accept-encoding",
    b"accept-language",
    b"if-none-match",
    b"if-modified-since",
    b"range",
    b"referer",
    b"user-agent",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
    b"authorization",
    b"sec-fetch-site",
    b"origin",
    b"forwarded",
    b"x-requested-with",
]
headers_lists = st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_value), max_size=3)
hosts = st.one_of(
    st.just(HOST.encode()),
    st.sampled_from([b"", b"evil.example", b"testserver:abc", b"[::1", b"a b", b"testserver:99999", b"\xff"]),
    header_value,
)

_JSON = st.one_of(
    st.sampled_from([None, True, [], {}, [1, "x"], [10**20], {"p": 1}, {"c": 1, "a": "approve"}, "login"]),
    st.integers(),
    st.binary(max_size=10).map(lambda b: b.decode("utf-8", "replace")),
)
_SALTS = st.sampled_from([*COOKIES, FORM_SALT, maillinks.ACTION_SALT, "pebbleblog.login"])
_SIGNER, _FOREIGN_SIGNER = Signer(SECRET.encode()), Signer(SECRET_OF_ANOTHER_SITE)
# What a hostile or confused browser may send: garbage, tampered, signed by another site.
cookie_values = st.one_of(
    st.binary(max_size=60).map(lambda b: b.decode("utf-8", "replace")),
    st.tuples(_SALTS, _JSON).map(lambda sv: _FOREIGN_SIGNER.dumps(*sv)),
    st.tuples(_SALTS, _JSON).map(lambda sv: _SIGNER.dumps(*sv)[:-3] + "AAA"),
    st.sampled_from(["", '"', "a;b", "\\x00", "%ff", "x" * 5000]),
)
cookie_lists = st.lists(st.tuples(st.sampled_from([*COOKIES, "other"]), cookie_values), max_size=3)
field_lists = st.lists(st.tuples(st.sampled_from(FIELDS) | st.text(max_size=8), texts), max_size=6)
VALID_FIELDS = [
    ("token", _SIGNER.dumps(FORM_SALT, {"p": 1})),
    ("token", _SIGNER.dumps("pebbleblog.login", "login")),
    ("confirm", _SIGNER.dumps(maillinks.CONFIRM_SALT, {"c": 1, "a": "approve"})),
]
files_lists = st.lists(
    st.tuples(
        st.sampled_from(["a.pdf", "../x.pdf", "", "\x00.png", "x" * 300]),
        st.sampled_from([b"%PDF-1.4 fuzz", b"\x89PNG\r\n\x1a\n", b"", b"MZ\x90\x00", b"x" * 70_000]),
    ),
    max_size=1,
)
BODY_KINDS = st.sampled_from(["none", "urlencoded", "multipart", "raw", "swapped", "broken-multipart"])
BOUNDARIES = st.sampled_from([b"pbfuzz", b"x" * 80, b"a b", b"\xff"])
URLENCODED = b"application/x-www-form-urlencoded"
BROKEN_MULTIPART_TYPES = st.sampled_from(
    [
        b"multipart/form-data",
        b"multipart/form-data; boundary=",
        b"multipart/form-data; boundary=other",
        b'multipart/form-data; boundary="unterminated',
        b"multipart/form-data; boundary=pbfuzz; charset=klingon",
    ]
)
OTHER_TYPES = st.sampled_from(
    [URLENCODED, URLENCODED + b"; charset=latin-1", b"application/json", b"text/plain", b"", b"\xff/\xfe"]
)
RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [b"body=%ff%fe", b"body=\xff\xfe", b"a=%00&a=%00", b"%", b"&&&==", b"x=" + b"%41" * 30_000]
    ),
)


def _multipart(fields: list[tuple[str, str]], files: list[tuple[str, bytes]], boundary: bytes) -> bytes:
    parts = []
    for name, value in fields:
        disposition = f'form-data; name="{name}"'.encode("utf-8", "replace")
        parts.append(b"Content-Disposition: " + disposition + b"\r\n\r\n" + value.encode("utf-8", "replace"))
    for filename, content in files:
        parts.append(
            b'Content-Disposition: form-data; name="file"; filename="'
            + filename.encode("utf-8", "replace")
            + b'"\r\nContent-Type: application/pdf\r\n\r\n'
            + content
        )
    return b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts) + b"--" + boundary + b"--\r\n"


def body_for(draw: st.DrawFn, fields: list[tuple[str, str]]) -> tuple[bytes | None, bytes]:
    """Return (content type, body): well-formed, mislabelled, broken or not UTF-8."""
    kind = draw(BODY_KINDS)
    urlencoded = urlencode([(k, v.encode("utf-8", "replace")) for k, v in fields]).encode()
    boundary = draw(BOUNDARIES)
    multipart = _multipart(fields, draw(files_lists), boundary)
    multipart_type = b"multipart/form-data; boundary=" + boundary
    if kind == "none":
        return None, b""
    if kind == "urlencoded":
        return URLENCODED, urlencoded
    if kind == "multipart":
        return multipart_type, multipart
    if kind == "swapped":  # multipart where urlencoded is expected, and the reverse
        return (URLENCODED, multipart) if draw(st.booleans()) else (multipart_type, urlencoded)
    if kind == "broken-multipart":
        cut = draw(st.integers(0, len(multipart)))
        broken = [multipart, multipart[:cut], multipart.replace(b"\r\n", b"\n")]
        return draw(BROKEN_MULTIPART_TYPES), broken[draw(st.integers(0, 2))]
    extra = [urlencoded + b"&" + urlencoded, json.dumps(dict(fields)).encode()]  # every field twice; JSON
    choice = draw(st.integers(0, 3))
    return draw(OTHER_TYPES), draw(RAW_BODIES) if choice < 2 else extra[choice - 2]


@dataclass
class FuzzRequest:
    template: str
    method: str
    raw_path: bytes
    query: bytes
    headers: list[tuple[bytes, bytes]]
    chunks: list[bytes]


def request_strategy(
    site: Site, signed_in: bool, route: Route | Mount | None
) -> st.SearchStrategy[FuzzRequest]:
    """Return the strategy of requests to ``route`` (None: random paths), anonymous or as the owner.

    Half of them are plausible (the route's method, a well-formed form with the valid CSRF or form
    token, same-origin headers) so that the views' own code runs, not only the checks in front of
    it; the other half are hostile throughout.
    """
    template = "(random)" if route is None else _template(route)
    own_methods = st.sampled_from(sorted(getattr(route, "methods", None) or {"GET"}))
    any_method = st.sampled_from(METHODS)
    tokens = st.lists(st.sampled_from(VALID_FIELDS), max_size=2)
    csrf = [] if not signed_in or template == "/admin/logout" else [("csrf", site.csrf)]  # keep the session

    @st.composite
    def requests(draw: st.DrawFn) -> FuzzRequest:
        plausible = draw(st.booleans())
        raw_path = path_for(draw, route)
        method = draw(own_methods if plausible or draw(st.integers(0, 4)) else any_method)
        extra = [
            (k, v) for k, v in draw(headers_lists) if not plausible or k not in (b"origin", b"sec-fetch-site")
        ]
        headers = [(b"host", HOST.encode() if plausible else draw(hosts)), *extra]
        if signed_in and (plausible or draw(st.booleans())):
            headers += [(b"origin", b"http://" + HOST.encode()), (b"sec-fetch-site", b"same-origin")]
        cookies = [(SESSION_COOKIE, site.session_cookie)] if signed_in else []
        cookies += [(k, v) for k, v in draw(cookie_lists) if not (signed_in and k == SESSION_COOKIE)]
        if cookies:
            headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies).encode("utf-8", "replace")))
        fields = draw(field_lists)
        if plausible:  # the valid tokens first, and no random field of the same name after them
            valid = [*csrf, *draw(tokens)]
            fields = valid + [(k, v) for k, v in fields if k not in {name for name, _ in valid}]
        elif draw(st.booleans()):
            fields = [*csrf, *fields]
        if plausible and method != "GET":
            body = urlencode([(k, v.encode("utf-8", "replace")) for k, v in fields]).encode()
            content_type: bytes | None = URLENCODED
            if draw(st.booleans()):
                content_type, body = (
                    b"multipart/form-data; boundary=pbfuzz",
                    _multipart(fields, draw(files_lists), b"pbfuzz"),
                )
        elif method != "GET" or draw(st.booleans()):
            content_type, body = body_for(draw, fields)
        else:
            content_type, body = None, b""
        if content_type is not None:
            headers.append((b"content-type", content_type))
        if body and draw(st.booleans()):
            headers.append((b"content-length", str(len(body)).encode()))
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=2)))
        chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        return FuzzRequest(template, method, raw_path, draw(query_strings), headers, chunks)

    return requests()


# --- Checks --------------------------------------------------------------------------------------


def problem_with(request: FuzzRequest, response: RawResponse) -> str | None:
    """Return what is wrong with the answer to ``request``, or None when it is acceptable."""
    if response.error is not None or response.status >= 500 or response.status == 0:
        return f"status {response.status}, error {response.error!r}"
    if "Traceback (most recent call last)" in response.text:
        return "a traceback in the body"
    if not 400 <= response.status < 500 or request.method == "HEAD":
        return None
    if not response.header("content-type").startswith("text/html"):
        return f"a {response.status} answered with {response.header('content-type')!r}, not a page"
    messages = [_TAG.sub(" ", html.unescape(m)) for m in MESSAGES.findall(response.text)]
    if not any(SENTENCE.search(m) for m in messages):
        return f"a {response.status} page without a message for the reader"
    return None


@dataclass
class FuzzRun:
    reached: Counter[str] = field(default_factory=Counter)  # requests per route template
    statuses: Counter[str] = field(default_factory=Counter)  # "POST 3xx": requests per method and class
    seconds_in_app: float = 0.0


def fuzz(site: Site, signed_in: bool) -> FuzzRun:
    """Send about EXAMPLES generated requests, shared among the routes (and random paths); fail on
    the first unacceptable answer."""
    result = FuzzRun()
    targets: list[Route | Mount | None] = [*site.routes, None]
    for route in targets:
        fuzz_route(site, signed_in, route, -(-EXAMPLES // len(targets)), result)
    return result


def fuzz_route(
    site: Site, signed_in: bool, route: Route | Mount | None, examples: int, result: FuzzRun
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=request_strategy(site, signed_in, route))
    def run(request: FuzzRequest) -> None:
        started = time.perf_counter()
        response = send_raw(
            site.client, request.method, request.raw_path, request.query, request.headers, request.chunks
        )
        result.seconds_in_app += time.perf_counter() - started
        result.reached[request.template] += 1
        result.statuses[f"{request.method} {response.status // 100}xx"] += 1
        problem = problem_with(request, response)
        assert problem is None, f"{problem}\n{request}\n{response.text[:2000]}"

    run()


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "owner"])
def test_no_request_gets_a_5xx_and_every_refusal_says_why(
    site: Site, signed_in: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    result = fuzz(site, signed_in)
    assert {_template(route) for route in site.routes} <= set(result.reached)
    assert result.reached.total() >= EXAMPLES
    if EXAMPLES >= 1000:  # the plausible half got through to the views: pages shown, forms acted on
        assert result.statuses["GET 2xx"] > EXAMPLES // 20 and result.statuses["POST 3xx"] > 0
    with capsys.disabled():
        print(
            f"\nfuzz ({'owner' if signed_in else 'anonymous'}): {result.reached.total()} requests in "
            f"{time.monotonic() - started:.1f} s ({result.seconds_in_app:.1f} s in the app); "
            f"{dict(sorted(result.statuses.items()))}"
        )


def test_the_owner_session_survives_the_fuzzing(site: Site) -> None:
    """The fuzzing above signed in as the owner; the session must still be good (else it tested little)."""
    response = send_raw(
        site.client,
        "GET",
        b"/admin/",
        headers=[(b"host", b"testserver"), (b"cookie", f"{SESSION_COOKIE}={site.session_cookie}".encode())],
    )
    assert response.status == 200, response.status
