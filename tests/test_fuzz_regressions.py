"""One plain test per bug that tests/test_fuzz.py found (each was a 500)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from pebbleblog import create_app, load_settings
from pebbleblog.models import Role

from .asgi_raw import send_raw
from .conftest import Seeder, draft
from .test_admin import OWNER, csrf_of, make_user, sign_in

HOST = [(b"host", b"testserver")]


@pytest.fixture
def client(site_dir: Path, seed: Seeder) -> Iterator[TestClient]:
    seed(posts=[draft("Talk")])
    make_user(site_dir, OWNER, Role.OWNER)
    app = create_app(load_settings(site_dir, environ={}))
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as test_client:
        yield test_client


def message(text: str) -> str:
    found = BeautifulSoup(text, "html.parser").select_one(".error-message")
    assert found is not None, text[:500]
    return found.text


def test_raw_non_ascii_bytes_in_the_query_string(client: TestClient) -> None:
    """Starlette decodes the query string as UTF-8 to build request.url: every page failed."""
    missing = send_raw(client, "GET", b"/nope", query=b"q=\xff\xfe", headers=HOST)
    assert missing.status == 404 and message(missing.text) == "There is no page at “nope”."
    search = send_raw(client, "GET", b"/search", query=b"q=caf\xc3\xa9", headers=HOST)
    assert search.status == 200
    assert BeautifulSoup(search.text, "html.parser").select_one("input[name=q]")["value"] == "café"


def test_a_csrf_token_with_non_ascii_characters(client: TestClient) -> None:
    """hmac.compare_digest raises TypeError for a str with non-ASCII characters."""
    sign_in(client)
    response = client.post("/admin/comments", data={"csrf": "é" * 20, "action": "approve"})
    assert response.status_code == 403
    assert message(response.text).startswith("This form has expired or did not come from this site.")


def test_a_sitemap_number_past_the_largest_post_id(client: TestClient) -> None:
    """The first id of sitemap 10**17 does not fit an SQLite integer: OverflowError."""
    response = client.get(f"/sitemaps/posts-{10**17}.xml")
    assert response.status_code == 404
    assert "There is no sitemap number" in message(response.text)


@pytest.mark.parametrize(
    ("range_", "status", "words"),
    [("", 400, "Malformed range header."), ("bytes=999999-", 416, "they are beyond its end.")],
)
def test_a_bad_range_header_on_a_static_file_gets_the_error_page(
    client: TestClient, range_: str, status: int, words: str
) -> None:
    """Starlette's FileResponse answered these with bare text (and the 416 with no body at all)."""
    response = client.get("/static/pebbleblog.css", headers={"range": range_})
    assert response.status_code == status
    assert "the Range header" in message(response.text) and words in message(response.text)
    if status == 416:
        assert response.headers["content-range"].startswith("bytes */")
    assert client.get("/static/pebbleblog.css", headers={"range": "bytes=0-9"}).status_code == 206


@pytest.mark.parametrize("length", [300, 5000])
def test_deleting_an_upload_with_a_name_the_file_system_refuses(client: TestClient, length: int) -> None:
    """A name longer than the file system allows raised OSError (File name too long)."""
    sign_in(client)
    response = client.post("/admin/uploads/delete", data={"csrf": csrf_of(client), "name": "y" * length})
    assert response.status_code == 404
    assert message(response.text) == "There is no such uploaded file."
