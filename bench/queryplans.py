#!/usr/bin/env python3
"""List the query plan of every SQL statement pebbleblog runs for its main public pages, and flag scans.

    python bench/queryplans.py SITE_DIR

The app is run in-process (Starlette's TestClient) on the site; each public page is requested once,
and one comment is posted, while SQLite's trace hook records the statements run (with their
parameters filled in). Each
distinct statement is then explained (``EXPLAIN QUERY PLAN``) and timed on a read-only connection.
Flags: ``FULL SCAN`` (a table read row by row without an index, on a table of 1,000 rows or more),
``INDEX SCAN`` (an index walked rather than searched: fine under a small LIMIT, not for a count),
``TEMP B-TREE`` (a sort or grouping done per query) and ``SLOW`` (over 10 ms here).
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urljoin

import aiosqlite

from pebbleblog import create_app, load_settings
from pebbleblog.storage import database

SMALL_TABLE_ROWS = 1000
RELAXED_COMMENTS = {
    "PEBBLEBLOG_COMMENTS_MIN_SECONDS": "0",
    "PEBBLEBLOG_COMMENTS_FLOOD_SECONDS": "0",
    "PEBBLEBLOG_COMMENTS_HOURLY_LIMIT": "0",
}
SLOW_MS = 10.0


@dataclass
class Statement:
    """One distinct statement a page ran: its plan, its time and what is worrying about it."""

    pages: list[str]
    sql: str
    plan: list[str]
    ms: float
    flags: list[str] = field(default_factory=list)


class _NextLink(HTMLParser):
    """Find a page's link to the next page of a list (rel="next")."""

    def __init__(self) -> None:
        super().__init__()
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("a", "link") and "next" in (values.get("rel") or "").split() and self.href is None:
            self.href = values.get("href")


def public_pages(manifest: dict[str, Any]) -> list[str]:
    """Return the paths of the main public pages of a generated site (bench-site.json)."""
    return [
        "/",
        f"/posts/{manifest['post_slug']}/",
        f"/tags/{manifest['tag_slug']}/",
        "/feeds/posts.atom",
        f"/search?q={quote_plus(manifest['search_query'])}",
        "/archive/",
    ]


def _post_comment(client: Any, slug: str) -> None:
    """Post a comment the way a reader's browser does (same origin, the form's signed token)."""
    page = client.get(f"/posts/{slug}/").text
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert token is not None, f"no comment form on /posts/{slug}/"
    form = {"token": token.group(1), "name": "Plan Reader", "body": f"Query plan check {time.time()}",
            "title": "", "parent": "", "url": "", "action": "post"}  # fmt: skip
    response = client.post(
        f"/posts/{slug}/comments", data=form, headers={"Origin": "http://127.0.0.1"}, follow_redirects=False
    )
    if response.status_code != 303:
        raise RuntimeError(f"POST /posts/{slug}/comments answered {response.status_code}")
    client.cookies.clear()


def _trace_statements(site_dir: Path, paths: Sequence[str], comment_slug: str | None) -> dict[str, list[str]]:
    """Request each page in-process; return {statement: [pages that ran it]} (following rel=next once).

    With ``comment_slug``, also post a comment there (the comment timing rules relaxed, as in run.py)."""
    from starlette.testclient import TestClient  # the test dependencies carry httpx

    seen: dict[str, list[str]] = {}
    current: list[str] = ["(startup)"]
    original = database.Database._connect

    async def traced(self: database.Database) -> aiosqlite.Connection:
        conn = await original(self)
        await conn.set_trace_callback(lambda sql: seen.setdefault(sql, []).append(current[0]))
        return conn

    database.Database._connect = traced  # type: ignore[method-assign]
    try:
        settings = load_settings(site_dir, environ=RELAXED_COMMENTS)
        with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
            queue = list(paths)
            for path in queue:
                current[0] = path
                response = client.get(path)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path} answered {response.status_code}")
                finder = _NextLink()
                finder.feed(response.text)
                if finder.href and path in paths:  # the second page of each list, once
                    queue.append(
                        urljoin(f"http://127.0.0.1{path}", finder.href).removeprefix("http://127.0.0.1")
                    )
            if comment_slug:
                current[0] = f"POST /posts/{comment_slug}/comments"
                _post_comment(client, comment_slug)
    finally:
        database.Database._connect = original  # type: ignore[method-assign]
    return seen


def _flags(conn: sqlite3.Connection, plan: list[str], ms: float) -> list[str]:
    flags = []
    for line in plan:
        scanned = re.match(r"SCAN (\w+)", line)
        if scanned and "VIRTUAL TABLE" not in line:
            table = scanned.group(1)
            if " USING " in line:
                flags.append(f"INDEX SCAN {table}")
            elif _rows(conn, table) >= SMALL_TABLE_ROWS:
                flags.append(f"FULL SCAN {table}")
        if "TEMP B-TREE" in line:
            flags.append("TEMP B-TREE")
    if ms > SLOW_MS:
        flags.append(f"SLOW {ms:.1f} ms")
    return list(dict.fromkeys(flags))


def _rows(conn: sqlite3.Connection, table: str) -> int:
    try:
        return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    except sqlite3.Error:
        return 0  # an alias, not a table: the plan names the alias


def _normalised(sql: str) -> str:
    return re.sub(r"'(?:[^']|'')*'|\b\d+\b", "?", sql)


@dataclass
class Plans:
    """The distinct SELECTs the pages ran, and how many statements of any kind each page ran."""

    statements: list[Statement]
    per_page: dict[str, int]


def explain(site_dir: Path, paths: Sequence[str], comment_slug: str | None = None) -> Plans:
    """Return the plan, time and flags of every distinct SELECT the given pages (and a comment POST) run."""
    traced = _trace_statements(site_dir, paths, comment_slug)
    per_page: dict[str, int] = {}
    for pages in traced.values():
        for page in pages:
            per_page[page] = per_page.get(page, 0) + 1
    by_shape: dict[str, Statement] = {}
    db_path = load_settings(site_dir).database_path
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        for sql, pages in traced.items():
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            shape = _normalised(sql)
            if shape in by_shape:
                by_shape[shape].pages.extend(p for p in pages if p not in by_shape[shape].pages)
                continue
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                conn.execute(sql).fetchall()
                best = min(best, (time.perf_counter() - started) * 1000)
            by_shape[shape] = Statement(list(dict.fromkeys(pages)), sql, plan, round(best, 3), [])
            by_shape[shape].flags = _flags(conn, plan, best)
    return Plans(list(by_shape.values()), per_page)


def report(statements: Sequence[Statement], per_page: dict[str, int] | None = None) -> str:
    """Return a readable listing: flagged statements first, each with its plan."""
    lines = []
    if per_page:
        lines.append("SQL statements traced per request (any kind; FTS5's own included):")
        lines.extend(f"  {count:4d}  {page}" for page, count in per_page.items())
    for st in sorted(statements, key=lambda s: (not s.flags, -s.ms)):
        sql = st.sql if len(st.sql) <= 300 else st.sql[:297] + "..."
        lines.append(f"[{', '.join(st.flags) or 'ok'}] {st.ms:.2f} ms  pages: {' '.join(st.pages)}")
        lines.append(f"    {sql}")
        lines.extend(f"      {step}" for step in st.plan)
    full = [s for s in statements if any(f.startswith("FULL SCAN") for f in s.flags)]
    lines.append(f"{len(statements)} distinct statements; {len(full)} with a full table scan.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Explain the public pages of the generated site in SITE_DIR; exit 1 if a full table scan shows."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not (Path(args[0]) / "bench-site.json").is_file():
        print(
            "usage: python bench/queryplans.py SITE_DIR  (a site made by bench/generate.py)", file=sys.stderr
        )
        return 2
    site = Path(args[0])
    manifest = json.loads((site / "bench-site.json").read_text(encoding="utf-8"))
    plans = explain(site, public_pages(manifest), manifest["comment_post_slug"])
    statements = plans.statements
    print(report(statements, plans.per_page))
    return 1 if any(f.startswith("FULL SCAN") for s in statements for f in s.flags) else 0


if __name__ == "__main__":
    sys.exit(main())
