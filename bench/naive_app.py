"""The benchmark's reference point: a naive Starlette + Jinja2 + aiosqlite blog post page.

It serves ``/posts/{slug}/`` from a pebbleblog database the way a first version of any such app would:
on every request it queries the post, its tags, its neighbours and its approved comments, and renders a
template comparable to pebbleblog's post page (head with SEO tags, header, the post, the thread with
avatars, the comment form with a signed token). Nothing is cached.

    NAIVE_DB=site/pebbleblog.db uvicorn --app-dir bench naive_app:app --port 8001
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

DB_ENV = "NAIVE_DB"
SECRET = b"naive-benchmark-secret"
SITE_TITLE = "Pebbleblog Benchmark"

TEMPLATE_DIR = Path(__file__).resolve().parent


def _date(stored: str, with_time: bool = False) -> str:
    moment = datetime.strptime(stored, "%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%B %-d, %Y at %-I:%M %p" if with_time else "%B %-d, %Y")


def _avatar(comment: sqlite3.Row) -> str:
    key = (comment["author_email"] or comment["author_name"]).strip().lower().encode()
    return hmac.new(SECRET, key, hashlib.sha256).hexdigest()[:32]


templates = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape())
templates.filters.update(date=_date, avatar=_avatar)


def _thread(comments: list[sqlite3.Row]) -> list[tuple[sqlite3.Row, int]]:
    """Order comments depth-first, oldest first at every level."""
    known = {c["id"] for c in comments}
    children: dict[int | None, list[sqlite3.Row]] = defaultdict(list)
    for comment in comments:
        children[comment["parent_id"] if comment["parent_id"] in known else None].append(comment)
    ordered: list[tuple[sqlite3.Row, int]] = []
    stack = [(c, 0) for c in reversed(children[None])]
    while stack:
        comment, depth = stack.pop()
        ordered.append((comment, depth))
        stack.extend((child, depth + 1) for child in reversed(children[comment["id"]]))
    return ordered


async def _one(db: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> sqlite3.Row | None:
    async with db.execute(sql, params) as cursor:
        row: sqlite3.Row | None = await cursor.fetchone()
        return row


async def _all(db: aiosqlite.Connection, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
    async with db.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


async def post(request: Request) -> HTMLResponse:
    """Query the post and its comments and render the page: every request, no cache."""
    db: aiosqlite.Connection = request.app.state.db
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    visible = "status IN ('published', 'scheduled') AND published_at <= ?"
    row = await _one(
        db, f"SELECT * FROM posts WHERE slug = ? AND {visible}", (request.path_params["slug"], now)
    )
    if row is None:
        return HTMLResponse("<h1>Not found</h1>", status_code=404)
    at, post_id = row["published_at"], row["id"]
    tags = await _all(
        db,
        "SELECT t.slug, t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id"
        " WHERE pt.post_id = ? ORDER BY t.name",
        (post_id,),
    )
    # The obvious neighbour queries (posts published at the very same second are not told apart).
    listed = "status IN ('published', 'scheduled')"
    older = await _one(
        db,
        f"SELECT slug, title FROM posts WHERE {listed} AND published_at < ?"
        " ORDER BY published_at DESC LIMIT 1",
        (at,),
    )
    newer = await _one(
        db,
        f"SELECT slug, title FROM posts WHERE {listed} AND published_at > ? AND published_at <= ?"
        " ORDER BY published_at LIMIT 1",
        (at, now),
    )
    comments = await _all(
        db,
        "SELECT * FROM comments WHERE post_id = ? AND status = 'approved' ORDER BY created_at, id",
        (post_id,),
    )
    base = f"{request.url.scheme}://{request.url.netloc}"
    html = templates.get_template("naive_post.html").render(
        post=row,
        tags=tags,
        older=older,
        newer=newer,
        comments=_thread(comments),
        site_title=SITE_TITLE,
        description=Markup(row["excerpt_html"]).striptags()[:160],
        canonical=f"{base}/posts/{row['slug']}/",
        base=base,
        token=hmac.new(SECRET, f"{post_id}:{time.time()}".encode(), hashlib.sha256).hexdigest(),
        year=datetime.now(UTC).year,
    )
    return HTMLResponse(html)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Open one aiosqlite connection for the app's lifetime."""
    async with aiosqlite.connect(os.environ[DB_ENV]) as db:
        db.row_factory = sqlite3.Row
        app.state.db = db
        yield


app = Starlette(routes=[Route("/posts/{slug}/", post)], lifespan=lifespan)
