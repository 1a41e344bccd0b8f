"""The access log: one line per request with method, path, status, time and client, and nothing secret."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import anyio
import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from pebbleblog import accesslog, accounts, create_app, load_settings
from pebbleblog.accesslog import LOGGER_NAME, BufferedLinesHandler, JsonLinesFormatter, access_fields
from pebbleblog.models import Role
from pebbleblog.storage import Database

from .conftest import NOW, Seeder, draft, write_config

COMMENT_BODY = "My private thoughts about hamstrings, number 8731"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def browser(site_dir: Path, seed: Seeder) -> Iterator[TestClient]:
    write_config(site_dir, "[comments]\nmin_seconds = 0\nflood_seconds = 0\n")
    seed(posts=[draft("Talk")])

    async def create_owner() -> None:
        async with Database.connected(site_dir / "pebbleblog.db") as db:
            await accounts.create_user(db, "diana", PASSWORD, Role.OWNER, NOW)

    anyio.run(create_owner)
    app = create_app(load_settings(site_dir, environ={}))
    with TestClient(app, follow_redirects=False) as client:
        yield client


def token_of(response: object, form: str) -> str:
    soup = BeautifulSoup(response.text, "html.parser")
    return str(soup.select_one(f"{form} input[name=token]")["value"])


def access(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER_NAME]


def test_a_comment_post_is_logged_without_its_body_the_password_or_cookies(
    browser: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    token = token_of(browser.get("/posts/talk/"), "#comment-form")
    form = {"token": token, "name": "Ann", "body": COMMENT_BODY, "action": "post", "remember": "on"}
    assert browser.post("/posts/talk/comments", data=form).status_code == 303
    login = token_of(browser.get("/admin/login"), "form")
    signed_in = browser.post("/admin/login", data={"token": login, "username": "diana", "password": PASSWORD})
    assert signed_in.status_code == 303
    assert browser.get("/admin/comments").status_code == 200

    records = access(caplog)
    [comment] = [
        r for r in records if r.access["method"] == "POST" and r.access["path"] == "/posts/talk/comments"
    ]
    fields = comment.access
    assert fields["status"] == 303 and fields["client"] == "testclient" and fields["query"] == []
    assert isinstance(fields["duration_ms"], float) and fields["duration_ms"] > 0
    assert comment.getMessage().startswith("POST /posts/talk/comments 303 ")
    assert [r.access["status"] for r in records] == [200, 303, 200, 303, 200]

    cookies = [value for value in browser.cookies.values() if len(value) > 8]
    assert len(cookies) >= 3  # session, commenter, remember-me...
    logged = "\n".join(r.getMessage() + json.dumps(r.access) for r in records)
    for secret in [COMMENT_BODY, "8731", PASSWORD, token, login, *cookies]:
        assert secret not in logged


def test_query_values_and_link_tokens_are_not_logged(
    browser: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    browser.get("/search?q=embarrassing+ailment&page=2")
    mail_link = "/admin/mail/eyJjIjoxLCJhIjoiYXBwcm92ZSJ9.Zk3xYw.s1gnature"
    assert browser.get(mail_link).status_code == 400
    search, mail = (r.access for r in access(caplog))
    assert (search["path"], search["query"]) == ("/search", ["page", "q"])
    assert (mail["path"], mail["status"]) == ("/admin/mail/<token>", 400)
    logged = "\n".join(r.getMessage() for r in access(caplog))
    assert "embarrassing" not in logged and "s1gnature" not in logged


def test_a_hostile_path_cannot_forge_a_log_line(
    browser: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    browser.get("/posts/x%0A127.0.0.1%20GET%20/admin%20200/")
    [record] = access(caplog)
    assert "\n" not in record.getMessage() and "\\n127.0.0.1 GET /admin 200/" in record.access["path"]


def test_the_json_formatter_writes_one_object_per_line(
    browser: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    browser.get("/healthz")
    line = JsonLinesFormatter().format(access(caplog)[0])
    assert "\n" not in line
    parsed = json.loads(line)
    assert list(parsed) == ["time", "method", "path", "query", "status", "duration_ms", "client"]
    assert parsed["time"].endswith("Z") and (parsed["method"], parsed["path"], parsed["status"]) == (
        "GET",
        "/healthz",
        200,
    )


def test_the_client_is_the_forwarded_one_also_for_cached_pages(
    site_dir: Path, seed: Seeder, caplog: pytest.LogCaptureFixture
) -> None:
    seed(posts=[draft("Talk")])
    settings = load_settings(site_dir, environ={})
    settings = replace(settings, server=replace(settings.server, trusted_proxies=("testclient",)))
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    with TestClient(create_app(settings)) as client:
        for _ in range(3):  # the first render fills the page cache; the others are served from it
            assert client.get("/posts/talk/", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 200
    assert [r.access["client"] for r in access(caplog)] == ["203.0.113.7"] * 3


def _record(path: str, level: int = logging.INFO) -> logging.LogRecord:
    fields = {"method": "GET", "path": path, "query": [], "status": 200, "duration_ms": 0.1, "client": "-"}
    return _with(fields, level)


def _with(fields: dict[str, object], level: int) -> logging.LogRecord:
    record = logging.LogRecord(LOGGER_NAME, level, __file__, 0, str(fields["path"]), (), None)
    record.access = fields
    return record


def _buffered(stream: io.StringIO) -> BufferedLinesHandler:
    handler = BufferedLinesHandler(stream)
    handler.setFormatter(JsonLinesFormatter())
    return handler


def test_the_buffered_handler_writes_a_busy_moment_in_one_go_and_soon() -> None:
    stream = io.StringIO()
    handler = _buffered(stream)

    async def busy_moment() -> tuple[str, str]:
        for number in range(3):
            handler.handle(_record(f"/posts/{number}/"))
        waiting = stream.getvalue()
        await asyncio.sleep(BufferedLinesHandler.FLUSH_SECONDS + 0.2)
        return waiting, stream.getvalue()

    waiting, written = asyncio.run(busy_moment())
    assert waiting == ""  # nothing written per request...
    paths = [json.loads(line)["path"] for line in written.splitlines()]
    assert paths == ["/posts/0/", "/posts/1/", "/posts/2/"]  # ...but every line, in order, soon after


def test_the_buffered_handler_writes_at_once_off_the_loop_for_warnings_and_when_full() -> None:
    stream = io.StringIO()
    handler = _buffered(stream)
    handler.handle(_record("/no-loop/"))
    assert json.loads(stream.getvalue())["path"] == "/no-loop/"

    async def on_loop() -> list[int]:
        seen = []
        handler.handle(_record("/warned/", logging.WARNING))
        seen.append(len(stream.getvalue().splitlines()))
        for number in range(BufferedLinesHandler.FLUSH_LINES):
            handler.handle(_record(f"/{number}/"))
        seen.append(len(stream.getvalue().splitlines()))
        return seen

    assert asyncio.run(on_loop()) == [2, 2 + BufferedLinesHandler.FLUSH_LINES]


def test_lines_still_waiting_are_written_when_logging_shuts_down() -> None:
    stream = io.StringIO()
    handler = _buffered(stream)

    async def one_request() -> None:
        handler.handle(_record("/last/"))

    asyncio.run(one_request())
    assert stream.getvalue() == ""
    handler.close()  # what logging.shutdown() does at exit
    assert json.loads(stream.getvalue())["path"] == "/last/"


def test_the_serve_setup_writes_the_same_json_lines_without_log_records(browser: TestClient) -> None:
    logger = logging.getLogger(LOGGER_NAME)
    saved = (logger.handlers[:], logger.propagate, logger.level)
    stream = io.StringIO()
    logger.handlers, logger.propagate = [_buffered(stream)], False  # what `pebbleblog serve` sets up
    logger.setLevel(logging.INFO)
    try:
        assert accesslog._direct_handler() is logger.handlers[0]
        browser.get("/healthz?probe=1")
        browser.get("/nope")
        # Again, and with other values: what a line is made of is kept per request, never its secrets.
        browser.get("/healthz?probe=2")
        for signature in ("s1gnature", "s2gnature"):
            assert browser.get(f"/admin/mail/eyJjIjoxfQ.Zk3xYw.{signature}").status_code == 400
        logger.handlers[0].flush()
    finally:
        logger.handlers, logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])
    assert "gnature" not in stream.getvalue()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["path"], line["query"], line["status"]) for line in lines] == [
        ("/healthz", ["probe"], 200),
        ("/nope", [], 404),
        ("/healthz", ["probe"], 200),
        ("/admin/mail/<token>", [], 400),
        ("/admin/mail/<token>", [], 400),
    ]
    assert [line["time"] for line in lines] == sorted(line["time"] for line in lines)
    assert list(lines[0]) == ["time", "method", "path", "query", "status", "duration_ms", "client"]
    assert lines[0]["time"].endswith("Z") and lines[0]["method"] == "GET"


@pytest.mark.parametrize(
    ("path", "query", "status", "duration_ms", "client"),
    [
        ("/posts/talk/", [], 200, 0.04, "127.0.0.1"),
        ('/posts/"quoted"\\back/', ["page", "q"], 404, 72.25, ""),
        ("/posts/caf\u00e9-\u00fcber/\\n\\x1b[31m", ["t\u00e4g"], 500, 1234.56, "::1"),
        ("/posts/\u2028line-separator/", ["a\u2029"], 303, 0.0, "203.0.113.7"),
    ],
)
def test_the_fast_access_line_is_the_json_line_byte_for_byte(
    path: str, query: list[str], status: int, duration_ms: float, client: str
) -> None:
    formatter = JsonLinesFormatter()
    created = 1_796_000_000.1234
    fields = {
        "method": "GET",
        "path": path,
        "query": query,
        "status": status,
        "duration_ms": round(duration_ms, 1),
        "client": client,
    }
    fast = formatter.access_line_with(created, access_fields("GET", path, query, status), duration_ms, client)
    assert fast == formatter.line(created, fields)
    assert json.loads(fast) == {"time": "2026-11-30T00:53:20.123Z", **fields}
