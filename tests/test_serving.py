"""``pebbleblog serve`` sends a response's head and body in one write (pebbleblog/serving.py), and
everything HTTP relies on still works through the held writes: a real server on a real socket."""

from __future__ import annotations

import http.client
import os
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pebbleblog.accesslog import BufferedLinesHandler

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
    try:
        text = Path(f"/proc/{pid}/io").read_text()
    except OSError as error:  # not Linux, or /proc/PID/io not readable here
        pytest.skip(f"cannot count the server's write calls: {error}")
    for line in text.splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    pytest.skip(f"no syscw in /proc/{pid}/io")


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
        before, started = _write_calls(pid), time.monotonic()
        for _ in range(REQUESTS):
            assert _get(conn, "/") == (200, page)
        writes, seconds = _write_calls(pid) - before, time.monotonic() - started
    finally:
        conn.close()
    # The access log writes its batched lines every FLUSH_SECONDS (a write and a flush at most);
    # beyond those, uvicorn alone writes each response's head and then its body: 2 per response.
    log_writes = 2 * (seconds / BufferedLinesHandler.FLUSH_SECONDS + 2)
    per_response = (writes - log_writes) / REQUESTS
    assert per_response < 1.2, f"{writes} write calls for {REQUESTS} responses in {seconds:.2f} s"


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


def test_a_client_that_half_closes_still_gets_the_whole_response(server: Server) -> None:
    expected = urllib.request.urlopen(server.url + "/robots.txt", timeout=10).read()
    for _ in range(20):  # as `printf 'GET ...' | nc -N` does: the request, then end of input
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(f"GET /robots.txt HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(expected), answer[:200]


def test_a_large_file_sent_in_parts_arrives_whole(server: Server) -> None:
    expected = (server.site_dir / "uploads" / "big.bin").read_bytes()
    with urllib.request.urlopen(server.url + "/uploads/big.bin", timeout=10) as response:
        assert response.status == 200
        assert response.read() == expected


def test_a_large_file_reaches_a_slow_reader_whole(server: Server) -> None:
    # A small receive buffer read slowly: the server's socket fills, its transport pauses writing.
    expected = (server.site_dir / "uploads" / "big.bin").read_bytes()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"GET /uploads/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer, reads = b"", 0
        while chunk := sock.recv(4096):
            answer += chunk
            reads += 1
            if reads % 16 == 0:
                time.sleep(0.002)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == expected


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
