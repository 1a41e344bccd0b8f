"""Every cookie the site sets, tampered with, expired, or brought from another pebbleblog site.

Such a cookie must be ignored safely: the page is served as to an anonymous reader, nothing fails,
nothing of the admin opens. Each case has a control: the genuine cookie does have its effect, so the
test would notice if the cookie were ignored for some other reason.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from unittest import mock

import anyio
import pytest
from bs4 import BeautifulSoup
from itsdangerous import URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from pebbleblog import accounts, create_app, load_settings
from pebbleblog.blog import create_post
from pebbleblog.cli import main
from pebbleblog.models import Role
from pebbleblog.security import (
    COOKIE_COMMENTER,
    COOKIE_FLASH,
    COOKIE_MAX_AGE,
    COOKIE_MINE,
    COOKIE_REMEMBER,
    Signer,
    set_cookie,
)
from pebbleblog.storage import Database
from pebbleblog.views.common import SESSION_COOKIE

from .conftest import NOW, SECRET, draft, write_config

URL = "/posts/talk/"
OWNER, PASSWORD = "owner", "correct horse battery"
OTHER_SECRET = "the-other-site-secret-is-also-long-enough-42"
RELAXED = "\n[comments]\nmin_seconds = 0\nflood_seconds = 0\nhourly_limit = 0\n"


def page(response) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.text, "html.parser")


def _make_site(site_dir: Path, secret: str = "") -> Path:
    """Make a site with the post "Talk" and an owner; another ``secret`` makes it another site."""
    write_config(site_dir, RELAXED)
    if secret:
        config = site_dir / "pebbleblog.toml"
        config.write_text(f'[site]\nsecret_key = "{secret}"\n{RELAXED}', encoding="utf-8")

    async def owner() -> None:
        db = Database(load_settings(site_dir, environ={}).database_path)
        await db.open()
        try:
            await create_post(db, draft("Talk"), NOW)
            await accounts.create_user(db, OWNER, PASSWORD, Role.OWNER, NOW)
        finally:
            await db.close()

    anyio.run(owner)
    return site_dir


@dataclass
class Visit:
    """A site and a fresh browser for it."""

    site: Path

    def browser(self) -> TestClient:
        return TestClient(create_app(load_settings(self.site, environ={})), follow_redirects=False)


def sign_in(client: TestClient) -> str:
    token = page(client.get("/admin/login")).select_one("input[name=token]")["value"]
    response = client.post("/admin/login", data={"token": token, "username": OWNER, "password": PASSWORD})
    assert response.status_code == 303
    return str(response.cookies[SESSION_COOKIE])


def comment(client: TestClient, body: str, **fields: str):  # type: ignore[no-untyped-def]
    html = page(client.get(URL))
    data = {
        "token": html.select_one("#comment-form input[name=token]")["value"],
        "name": "Ann",
        "email": "ann@example.com",
        "body": body,
        "action": "post",
        **fields,
    }
    return client.post(URL.rstrip("/") + "/comments", data=data)


def status_of(site: Path, body: str) -> str:
    with sqlite3.connect(load_settings(site, environ={}).database_path) as db:
        (status,) = db.execute("SELECT status FROM comments WHERE body_source = ?", (body,)).fetchone()
    return str(status)


@pytest.fixture
def site(site_dir: Path) -> Path:
    return _make_site(site_dir)


@dataclass
class Cookies:
    """Genuine cookies of a reader and of the signed-in owner, as one site set them."""

    session: str
    commenter: str
    mine: str
    remember: str
    flash: str


def cookies_of(site: Path) -> Cookies:
    """Collect every cookie the site sets, by using it as a reader and as the owner."""
    with Visit(site).browser() as reader:
        posted = comment(reader, "First words", remember="on")
        assert posted.status_code == 303
        values = {name: posted.cookies[name] for name in (COOKIE_COMMENTER, COOKIE_MINE, COOKIE_REMEMBER)}
        flash = posted.cookies[COOKIE_FLASH]
    with Visit(site).browser() as owner:
        session = sign_in(owner)
    return Cookies(session, values[COOKIE_COMMENTER], values[COOKIE_MINE], values[COOKIE_REMEMBER], flash)


def tampered(value: str) -> str:
    """Change one character of the payload and one of the signature."""
    flip = {"A": "B"}.get(value[2], "A")
    last = "A" if value[-1] != "A" else "B"
    return value[:2] + flip + value[3:-1] + last


def expired(value: str, name: str) -> str:
    """Sign the same value again, dated just beyond the cookie's lifetime."""
    signer = Signer(SECRET.encode())
    payload = signer.loads(name, value)
    assert payload is not None, "the genuine cookie must read back"
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - COOKIE_MAX_AGE[name] - 60):
        return signer.dumps(name, payload)


@pytest.fixture
def genuine(site: Path) -> Cookies:
    return cookies_of(site)


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Cookies:
    """The cookies of another pebbleblog site (its own secret and database), made once."""
    return cookies_of(_make_site(tmp_path_factory.mktemp("other") / "site", secret=OTHER_SECRET))


VARIANTS: dict[str, Callable[[str, str, str], str]] = {
    "tampered": lambda value, _other, _name: tampered(value),
    "other-site": lambda _value, other, _name: other,
    "expired": lambda value, _other, name: expired(value, name),
}


@contextmanager
def browser_with(site: Path, **cookies: str) -> Iterator[TestClient]:
    with Visit(site).browser() as client:
        for name, value in cookies.items():
            client.cookies.set(name, value)
        yield client


def _reads_as_anonymous(client: TestClient) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    footer = page(response).select_one(".powered-by").text
    assert "Login" in footer and "Logout" not in footer


# --- The owner's session --------------------------------------------------------------------------


def test_a_genuine_session_opens_the_admin(site: Path, genuine: Cookies) -> None:
    with browser_with(site, **{SESSION_COOKIE: genuine.session}) as client:
        assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("variant", ["tampered", "other-site", "expired"])
def test_a_bad_session_cookie_is_a_stranger(
    site: Path, genuine: Cookies, foreign: Cookies, variant: str
) -> None:
    if variant == "expired":  # sessions live in the database: age this one past its limits
        with sqlite3.connect(load_settings(site, environ={}).database_path) as db:
            db.execute("UPDATE sessions SET created_at = '2000-01-01T00:00:00Z', last_seen_at = created_at")
        value = genuine.session
    else:
        value = tampered(genuine.session) if variant == "tampered" else foreign.session
    with browser_with(site, **{SESSION_COOKIE: value}) as client:
        admin = client.get("/admin/")
        assert admin.status_code == 303 and admin.headers["location"].startswith("/admin/login")
        _reads_as_anonymous(client)
        acted = client.post("/admin/comments/1/moderate", data={"action": "trash"})
        assert acted.status_code in (303, 403) and status_of(site, "First words") == "pending"


# --- Reader cookies -------------------------------------------------------------------------------


def _variant(name: str, genuine: Cookies, foreign: Cookies, variant: str) -> str:
    attribute = {
        COOKIE_COMMENTER: "commenter",
        COOKIE_MINE: "mine",
        COOKIE_REMEMBER: "remember",
        COOKIE_FLASH: "flash",
    }[name]
    return VARIANTS[variant](getattr(genuine, attribute), getattr(foreign, attribute), name)


@pytest.mark.parametrize("variant", ["genuine", "tampered", "other-site", "expired"])
def test_remember_me_prefills_only_from_a_genuine_cookie(
    site: Path, genuine: Cookies, foreign: Cookies, variant: str
) -> None:
    value = genuine.remember if variant == "genuine" else _variant(COOKIE_REMEMBER, genuine, foreign, variant)
    with browser_with(site, **{COOKIE_REMEMBER: value}) as client:
        name = page(client.get(URL)).select_one("#c-name").get("value", "")
        assert name == ("Ann" if variant == "genuine" else "")
        _reads_as_anonymous(client)


@pytest.mark.parametrize("variant", ["genuine", "tampered", "other-site", "expired"])
def test_mine_lets_only_the_author_edit(site: Path, genuine: Cookies, foreign: Cookies, variant: str) -> None:
    value = genuine.mine if variant == "genuine" else _variant(COOKIE_MINE, genuine, foreign, variant)
    with browser_with(site, **{COOKIE_MINE: value}) as client:
        html = page(client.get(URL))
        own_pending = "First words" in html.text  # a held comment shows only to its author
        assert own_pending is (variant == "genuine")
        edit = client.get("/posts/talk/comments/1/edit")
        assert edit.status_code == (200 if variant == "genuine" else 403)
        if variant != "genuine":
            assert "Only the person who wrote a comment" in page(edit).select_one(".error-message").text
        _reads_as_anonymous(client)


@pytest.mark.parametrize("variant", ["genuine", "tampered", "other-site", "expired"])
def test_only_a_genuine_commenter_cookie_is_trusted(
    site: Path, genuine: Cookies, foreign: Cookies, variant: str
) -> None:
    assert main(["approve", str(site), "1"]) == 0  # the commenter is now trusted
    value = (
        genuine.commenter if variant == "genuine" else _variant(COOKIE_COMMENTER, genuine, foreign, variant)
    )
    with browser_with(site, **{COOKIE_COMMENTER: value}) as client:
        assert comment(client, f"Again, {variant}").status_code == 303
        assert status_of(site, f"Again, {variant}") == ("approved" if variant == "genuine" else "pending")
        _reads_as_anonymous(client)


@pytest.mark.parametrize("variant", ["genuine", "tampered", "other-site", "expired"])
def test_a_flash_message_shows_only_from_a_genuine_cookie(
    site: Path, genuine: Cookies, foreign: Cookies, variant: str
) -> None:
    value = genuine.flash if variant == "genuine" else _variant(COOKIE_FLASH, genuine, foreign, variant)
    with browser_with(site, **{COOKIE_FLASH: value}) as client:
        flash = page(client.get(URL)).select_one(".flash")
        assert (flash is not None) is (variant == "genuine")


def test_every_cookie_the_site_sets_is_covered(genuine: Cookies) -> None:
    assert set(COOKIE_MAX_AGE) == {COOKIE_COMMENTER, COOKIE_MINE, COOKIE_REMEMBER, COOKIE_FLASH}
    assert all(vars(genuine).values())


def test_all_bad_cookies_at_once_still_get_the_anonymous_page(
    site: Path, genuine: Cookies, foreign: Cookies
) -> None:
    for variant in VARIANTS:
        cookies = {
            name: _variant(name, genuine, foreign, variant)
            for name in (COOKIE_COMMENTER, COOKIE_MINE, COOKIE_REMEMBER, COOKIE_FLASH)
        }
        cookies[SESSION_COOKIE] = foreign.session if variant == "other-site" else tampered(genuine.session)
        with browser_with(site, **cookies) as client:
            _reads_as_anonymous(client)
            assert client.get("/admin/comments").status_code == 303


@pytest.mark.parametrize(
    "value",
    [
        "WzEsMl0.axYrSg.e8AejbYwJr5v9ZNNXjbiPImj31g",
        ".eJyLVjI0MjZRigUADm0CRg.axYrSg.sig",
        "",
        'with "quotes"; and=more',
        "é",
    ],
)
@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("root_path", ["", "/blog"])
def test_a_cookie_header_is_what_starlette_writes(value: str, scheme: str, root_path: str) -> None:
    """set_cookie writes plain tokens itself: the header must be the one Starlette's own would be."""
    request = Request({"type": "http", "scheme": scheme, "root_path": root_path, "headers": []})
    ours, starlettes = Response(), Response()
    set_cookie(ours, request, COOKIE_MINE, value, 600)
    starlettes.set_cookie(
        COOKIE_MINE,
        value,
        max_age=600,
        path=root_path or "/",
        httponly=True,
        samesite="lax",
        secure=scheme == "https",
    )
    assert ours.headers.getlist("set-cookie") == starlettes.headers.getlist("set-cookie")
    parsed = SimpleCookie(ours.headers["set-cookie"])[COOKIE_MINE]
    assert parsed.value == value and parsed["path"] == (root_path or "/") and parsed["httponly"]
    assert bool(parsed["secure"]) is (scheme == "https")


@pytest.mark.parametrize("value", [[1], list(range(1000, 1050)), {"name": "Ann", "email": ""}, "x" * 300])
def test_signed_values_read_back_across_itsdangerous(value: object) -> None:
    """Our tokens (their small zlib window) and itsdangerous's own read as each other's."""
    ours = Signer(SECRET.encode())
    theirs = URLSafeTimedSerializer(SECRET.encode(), salt=COOKIE_MINE)
    token = ours.dumps(COOKIE_MINE, value)
    assert theirs.loads(token) == value
    assert ours.loads(COOKIE_MINE, theirs.dumps(value)) == value
    if len(json.dumps(value)) > 100:  # a long, repetitive value goes compressed, and shorter
        assert token.startswith(".") and len(token) < len(json.dumps(value))
