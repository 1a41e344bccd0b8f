"""Hostile bytes on a raw socket against a real ``pebbleblog serve`` (uvicorn): what in-process
clients cannot send. Raw invalid UTF-8 and NUL bytes in the request line and headers, broken
framing, a body declared too large, and a client that stops sending its body half way.

uvicorn (httptools or h11) turns away what it cannot parse with a 400 or by closing the
connection; whatever reaches pebbleblog must get an answer below 500, and nothing may reach the
log as an unhandled error.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from collections.abc import Iterator

import pytest

from .browser.conftest import Server, serve
from .conftest import write_config

LIMITS = "[server]\nmax_body_kb = 16\nbody_timeout_seconds = 1\ntrusted_proxies = []\n"
STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    site = tmp_path_factory.mktemp("hostile") / "site"
    write_config(site, LIMITS)
    with serve(site) as running:
        yield running


def exchange(server: Server, request: bytes, wait: float = 5.0) -> tuple[bytes, float]:
    """Send ``request`` and read until the server closes or ``wait`` passes; return (bytes, seconds)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        with contextlib.suppress(OSError):  # the server may answer and close before reading it all
            sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return received, time.monotonic() - started


def statuses(answer: bytes) -> list[int]:
    return [int(code) for code in STATUS_LINE.findall(answer)]


def request(line: bytes, *headers: bytes, body: bytes = b"") -> bytes:
    lines = [line, b"Host: 127.0.0.1", *headers, b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


HOSTILE = {
    "raw invalid UTF-8 in the path": request(b"GET /\xff\xfe\xc3\x28/ HTTP/1.1"),
    "raw UTF-8 in the path": request("GET /posts/café/ HTTP/1.1".encode()),
    "percent-escaped invalid UTF-8": request(b"GET /posts/%ff%fe/ HTTP/1.1"),
    "a NUL byte in the path": request(b"GET /a\x00b HTTP/1.1"),
    "an escaped NUL in the path": request(b"GET /posts/%00/comments/1/edit HTTP/1.1"),
    "raw invalid UTF-8 in the query": request(b"GET /search?q=\xff\xfe HTTP/1.1"),
    "an escaped NUL in the query": request(b"GET /search?q=%00&page=%ff HTTP/1.1"),
    "invalid UTF-8 in a header": request(b"GET / HTTP/1.1", b"User-Agent: \xff\xfe", b"Accept: \xc3\x28"),
    "invalid UTF-8 in the cookies": request(
        b"GET /posts/x/ HTTP/1.1", b"Cookie: pb_mine=\xff; pb_session=\xfe"
    ),
    "invalid UTF-8 in the host": request(b"GET / HTTP/1.1", b"X-Forwarded-Host: \xff"),
    "a NUL in a header": request(b"GET / HTTP/1.1", b"Referer: a\x00b"),
    "a 16 KB path": request(b"GET /" + b"a" * 16_000 + b" HTTP/1.1"),
    "a 100 KB header": request(b"GET / HTTP/1.1", b"X-Big: " + b"b" * 100_000),
    "an unknown method": request(b"BREW / HTTP/1.1"),
    "a bad Content-Length": request(b"POST /admin/login HTTP/1.1", b"Content-Length: abc"),
    "two Content-Lengths": request(
        b"POST /admin/login HTTP/1.1", b"Content-Length: 3", b"Content-Length: 4", body=b"abcd"
    ),
    "broken chunked encoding": request(
        b"POST /admin/login HTTP/1.1", b"Transfer-Encoding: chunked", body=b"zz\r\nabc\r\n0\r\n\r\n"
    ),
    "invalid UTF-8 form body": request(
        b"POST /admin/login HTTP/1.1",
        b"Content-Type: application/x-www-form-urlencoded",
        b"Content-Length: 20",
        body=b"username=\xff\xfe&x=%ff%0&",
    ),
    "a multipart body without its boundary": request(
        b"POST /posts/x/comments HTTP/1.1",
        b"Content-Type: multipart/form-data; boundary=zz",
        b"Content-Length: 12",
        body=b"--yy\r\n\xff\x00\r\n\r\n",
    ),
    "an HTTP/0.9 request": b"GET /\r\n\r\n",
    "garbage": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_bytes_never_get_a_5xx(server: Server, name: str) -> None:
    answer, _ = exchange(server, HOSTILE[name])
    assert all(code < 500 for code in statuses(answer)), answer[:300]
    log = server.log_path.read_text(encoding="utf-8", errors="replace")
    assert "Exception in ASGI application" not in log and "unhandled error" not in log, log[-3000:]


def test_the_server_still_serves_after_the_hostile_requests(server: Server) -> None:
    answer, _ = exchange(server, request(b"GET / HTTP/1.1"))
    assert statuses(answer) == [200]


def test_a_body_declared_too_large_is_refused_before_it_is_sent(server: Server) -> None:
    head = request(
        b"POST /admin/login HTTP/1.1",
        b"Content-Type: application/x-www-form-urlencoded",
        b"Content-Length: 100000000",
    )
    answer, seconds = exchange(server, head)  # and not one byte of the 100 MB
    assert statuses(answer) == [413] and b"larger than the 16 KB" in answer
    assert seconds < 3


def test_a_stalled_body_is_answered_408_and_the_connection_closed(server: Server) -> None:
    head = request(
        b"POST /admin/login HTTP/1.1",
        b"Content-Type: application/x-www-form-urlencoded",
        b"Content-Length: 1000",
        body=b"username=slow",
    )
    answer, seconds = exchange(server, head, wait=15)
    assert statuses(answer) == [408] and b"took longer than 1 second" in answer
    assert seconds < 10  # 1 s budget, then uvicorn closes the half-read connection


def test_a_forged_forwarded_for_is_not_believed_and_the_server_is_not_named(server: Server) -> None:
    # This site trusts no proxy (trusted_proxies = []): X-Forwarded-For from anyone, 127.0.0.1
    # included (uvicorn's own proxy handling trusts it by default), must not become the client.
    answer, _ = exchange(
        server, request(b"GET /posts/forged-client-probe/ HTTP/1.1", b"X-Forwarded-For: 203.0.113.9")
    )
    assert statuses(answer) == [404]
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert b"\r\nserver:" not in head and b"\r\ndate:" in head
    deadline = time.monotonic() + 5  # access lines are written in batches, at most 0.25 s late
    while time.monotonic() < deadline:
        lines = [
            json.loads(line)
            for line in server.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
            if '"/posts/forged-client-probe/"' in line
        ]
        if lines:
            break
        time.sleep(0.1)
    assert [line["client"] for line in lines] == ["127.0.0.1"]
