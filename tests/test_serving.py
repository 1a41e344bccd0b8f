"""``pebbleblog serve`` sends a response's head and body in one write (pebbleblog/serving.py), and
everything HTTP relies on still works through the held writes: a real server on a real socket."""

from __future__ import annotations

import http.client
import os
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .browser.conftest import Server, serve
from .conftest import write_config

REQUESTS = 200


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    site = tmp_path_factory.mktemp("serving") / "site"
    write_config(site, "")
    posts = site / "content" / "posts"
    posts.mkdir(parents=True)
    (posts / "welcome.md").write_text(
        '+++\ntitle = "Welcome"\ndate = 2026-01-02T10:00:00\n+++\nHello, readers.\n', encoding="utf-8"
    )
    (site / "uploads").mkdir(parents=True, exist_ok=True)
    (site / "uploads" / "big.bin").write_bytes(os.urandom(1_000_000))  # read and sent in many parts
    with serve(site) as running:
        yield running


def _write_calls(pid: int) -> int:
    """Return how many write system calls (write, writev...) the process has made so far."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise AssertionError(f"no syscw in /proc/{pid}/io")


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def test_a_page_leaves_the_server_in_one_write_per_response(server: Server) -> None:
    pid = server.worker_pids[0]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        status, page = _get(conn, "/")  # rendered once: the rest come from the page cache
        assert status == 200 and b"</html>" in page
        before = _write_calls(pid)
        for _ in range(REQUESTS):
            assert _get(conn, "/") == (200, page)
        per_response = (_write_calls(pid) - before) / REQUESTS
    finally:
        conn.close()
    # uvicorn alone writes the head, then the body: 2 per response. The access log's batched lines
    # add a few writes in all.
    assert per_response < 1.3, f"{per_response:.2f} write calls per response"


def test_expect_100_continue_is_answered_before_the_body_is_sent(server: Server) -> None:
    body = b"name=Reader&body=Hello"
    head = (
        b"POST /posts/welcome/comments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head)
        interim = sock.recv(1024)  # times out (a failure) if the 100 is held back waiting for the body
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500, answer[:300]  # no form token: refused, with a message, not a 5xx


def test_pipelined_requests_are_answered_whole_and_in_order(server: Server) -> None:
    requests = (
        b"GET /robots.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        b"GET /posts/no-such-post/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        b"GET /sitemap.xml HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(requests)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    responses = [b"HTTP/1.1 " + part for part in answer.split(b"HTTP/1.1 ")[1:]]
    assert [r.split(b" ", 2)[1] for r in responses] == [b"200", b"404", b"200", b"200"]
    assert b"Disallow: /admin" in responses[0]
    assert responses[2].endswith(b"\r\n\r\n")  # HEAD: the headers alone
    assert responses[3].rstrip().endswith(b"</urlset>")  # the last one whole, then the connection closed


def test_a_large_file_sent_in_parts_arrives_whole(server: Server) -> None:
    expected = (server.site_dir / "uploads" / "big.bin").read_bytes()
    with urllib.request.urlopen(server.url + "/uploads/big.bin", timeout=10) as response:
        assert response.status == 200
        assert response.read() == expected


def test_conditional_requests_get_an_empty_304(server: Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/")
        first = conn.getresponse()
        first.read()
        conn.request("GET", "/", headers={"If-None-Match": first.headers["ETag"]})
        again = conn.getresponse()
        assert again.status == 304 and again.read() == b""
        assert _get(conn, "/robots.txt")[0] == 200  # the connection is still in step after the 304
    finally:
        conn.close()
