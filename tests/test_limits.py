"""Request limits in-process: body size (413, before reading), form fields, uploads, slow bodies (408).

The site here has small limits ([server] max_body_kb = 16, max_upload_mb = 1, body_timeout_seconds
= 1) so the tests stay quick; tests/test_hostile_http.py checks the same against a real uvicorn.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers
from starlette.formparsers import FormParser, MultiPartException
from starlette.testclient import TestClient

from pebbleblog import create_app, load_settings
from pebbleblog.limits import parse_urlencoded
from pebbleblog.models import Role

from .asgi_raw import RawResponse, send_raw
from .conftest import Seeder, draft, write_config
from .test_admin import OWNER, csrf_of, make_user, sign_in

SMALL_LIMITS = """
[server]
max_body_kb = 16
max_upload_mb = 1
body_timeout_seconds = 1

[comments]
min_seconds = 0
flood_seconds = 0
"""
FORM = [(b"host", b"testserver"), (b"content-type", b"application/x-www-form-urlencoded")]
COMMENTS = b"/posts/talk/comments"
PDF = b"%PDF-1.4\n"


@pytest.fixture
def site(site_dir: Path, seed: Seeder) -> Path:
    write_config(site_dir, SMALL_LIMITS)
    seed(posts=[draft("Talk")])
    make_user(site_dir, OWNER, Role.OWNER)
    return site_dir


@pytest.fixture
def client(site: Path) -> Iterator[TestClient]:
    app = create_app(load_settings(site, environ={}))
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as test_client:
        yield test_client


def message(text: str) -> str:
    html = BeautifulSoup(text, "html.parser")
    found = html.select_one(".error-message")
    assert found is not None, text[:500]
    return found.text


def refused(response: RawResponse, status: int, words: str) -> None:
    assert response.status == status, (response.status, response.text[:500])
    assert response.header("content-type").startswith("text/html")
    assert words in message(response.text)


def test_a_body_declared_too_large_is_refused_without_reading_it(client: TestClient) -> None:
    size = 16 * 1024 + 1
    headers = [*FORM, (b"content-length", str(size).encode())]
    response = send_raw(client, "POST", COMMENTS, headers=headers, chunks=[b"x" * size])
    refused(response, 413, "This request is larger than the 16 KB this site accepts.")
    assert response.chunks_read == 0
    assert BeautifulSoup(response.text, "html.parser").h1.text == "Request too large"


def test_a_streamed_body_is_cut_off_once_it_passes_the_limit(client: TestClient) -> None:
    chunks = [b"body=" + b"x" * 4096] * 10  # 40 KB, no Content-Length (chunked)
    response = send_raw(client, "POST", COMMENTS, headers=FORM, chunks=chunks)
    refused(response, 413, "larger than the 16 KB")
    assert response.chunks_read == 4  # the fourth chunk crossed 16 KB; the rest was never read


def test_a_body_within_the_limit_is_read(client: TestClient) -> None:
    chunks = [b"name=Ann&body=", b"y" * 8000]
    response = send_raw(client, "POST", COMMENTS, headers=FORM, chunks=chunks)
    assert response.status == 400  # the form token is missing: the comment rules ran
    assert response.chunks_read == 2
    assert "could not be verified" in response.text


def test_a_slow_body_is_answered_408(client: TestClient) -> None:
    chunks = [b"name=Ann", b"&body=hello", b"&title=x"]
    response = send_raw(client, "POST", COMMENTS, headers=FORM, chunks=chunks, chunk_delay=0.6)
    refused(response, 408, "The request took longer than 1 second to arrive")


def test_a_client_hanging_up_mid_body_is_no_error(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = send_raw(
            client, "POST", COMMENTS, headers=FORM, chunks=[b"name=Ann", b"&body=x"], disconnect_early=True
        )
    assert response.status == 400 and response.error is None
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize(
    ("path", "fields", "limit"),
    [("/posts/talk/comments", 21, 20), ("/admin/login", 11, 10)],
)
def test_forms_with_too_many_fields_are_refused(
    client: TestClient, path: str, fields: int, limit: int
) -> None:
    response = client.post(path, data={f"f{i}": "x" for i in range(fields)})
    assert response.status_code == 400
    assert f"Too many fields. Maximum number of fields is {limit}." in message(response.text)


def test_a_comment_form_with_too_large_a_field_is_refused(site: Path) -> None:
    write_config(site, SMALL_LIMITS.replace("max_body_kb = 16", "max_body_kb = 128"))
    with TestClient(create_app(load_settings(site, environ={})), raise_server_exceptions=False) as client:
        response = client.post("/posts/talk/comments", data={"name": "Ann", "body": "x" * (64 * 1024 + 1)})
        assert response.status_code == 400
        assert "Field exceeded maximum size of 64KB." in message(response.text)


def _starlette_form(chunks: list[bytes], max_fields: int, max_part_size: int) -> object:
    async def stream():  # type: ignore[no-untyped-def]
        for chunk in chunks:
            yield chunk

    parser = FormParser(Headers(), stream(), max_fields=max_fields, max_part_size=max_part_size)
    try:
        return list(anyio.run(parser.parse).multi_items())
    except MultiPartException as exc:
        return exc.message


def _ours(body: bytes, max_fields: int, max_part_size: int) -> object:
    try:
        return list(parse_urlencoded(body, max_fields=max_fields, max_part_size=max_part_size).multi_items())
    except MultiPartException as exc:
        return exc.message


@settings(max_examples=400, deadline=None)
@given(
    body=st.lists(
        st.sampled_from([b"&", b"=", b"a", b"b", b"+", b"%20", b"%C3%A9", b"%", b"%zz", b";", "é".encode()])
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=4),
    max_fields=st.integers(min_value=1, max_value=6),
    max_part_size=st.integers(min_value=1, max_value=12),
)
def test_the_urlencoded_parser_reads_what_starlettes_does(
    body: list[bytes], cuts: list[int], max_fields: int, max_part_size: int
) -> None:
    """Our one-pass parser gives the fields, or the refusal, of Starlette's streaming one."""
    whole = b"".join(body)
    points = sorted({min(cut, len(whole)) for cut in cuts})
    chunks = [whole[i:j] for i, j in zip([0, *points], [*points, len(whole)], strict=True)]
    assert _ours(whole, max_fields, max_part_size) == _starlette_form(chunks, max_fields, max_part_size)


def test_admin_forms_refuse_too_many_fields_and_files(client: TestClient) -> None:
    sign_in(client)
    csrf = csrf_of(client)
    many = client.post("/admin/comments", data={"csrf": csrf, **{f"f{i}": "1" for i in range(2001)}})
    assert many.status_code == 400 and "Too many fields" in message(many.text)
    files = client.post("/admin/comments", data={"csrf": csrf}, files={"file": ("a.pdf", PDF)})
    assert files.status_code == 400 and "Too many files" in message(files.text)


def test_uploads_have_their_own_limit(client: TestClient, site: Path) -> None:
    sign_in(client)
    csrf = csrf_of(client, "/admin/uploads")

    def upload(size: int):  # type: ignore[no-untyped-def]
        content = PDF + b"0" * (size - len(PDF))
        return client.post("/admin/uploads", data={"csrf": csrf}, files={"file": ("a.pdf", content)})

    assert upload(100 * 1024).status_code == 303  # over the 16 KB body limit, under the upload limit
    assert (site / "uploads" / "a.pdf").stat().st_size == 100 * 1024
    just_over = upload(1024 * 1024 + 1)  # fits the request limit (file + framing), not the file limit
    assert just_over.status_code == 400
    assert (
        "the limit is 1024 KB" in BeautifulSoup(just_over.text, "html.parser").select_one(".field-error").text
    )
    too_large = upload(2 * 1024 * 1024)
    assert too_large.status_code == 413 and "larger than the 1 MB" in message(too_large.text)
    page = BeautifulSoup(client.get("/admin/uploads").text, "html.parser")
    assert "at most 1 MB" in page.select_one("label[for=f-file]").text
    assert sorted(p.name for p in (site / "uploads").iterdir()) == ["a.pdf"]


def test_the_upload_limit_is_only_for_the_upload_route(client: TestClient) -> None:
    sign_in(client)
    body = b"csrf=" + csrf_of(client).encode() + b"&name=" + b"x" * (100 * 1024)
    headers = [(b"cookie", _cookie_header(client)), *FORM, (b"content-length", str(len(body)).encode())]
    response = send_raw(client, "POST", b"/admin/uploads/delete", headers=headers, chunks=[body])
    refused(response, 413, "larger than the 16 KB")


def _cookie_header(client: TestClient) -> bytes:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items()).encode()
