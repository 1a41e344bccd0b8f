"""An in-process cache of rendered public pages, for readers who are not signed in.

What is cached: a 200 response of a public route (``routes.PAGE_CACHE_ROUTES``) to a GET without
any of the site's cookies, that sets no cookie and is not marked private or no-store. A HEAD for a
kept page gets its headers. Signed-in
owners and readers who carry a pebbleblog cookie (their own pending comment, remember-me, a flash
message) always get a fresh render.

When it is dropped: every request first asks the :class:`~pebbleblog.storage.changes.ChangeWatch`
for the change counters (a look at the WAL index unless something was committed). The triggers of
migration 0006 bump them on any write a public page shows, so a write made through any worker, the
CLI or an import empties every worker's cache before its next request. Pages also go when the next
scheduled post falls due, and after ``MAX_AGE_SECONDS`` at most (time alone changes a little: a
post's comments closing after N days, the copyright year).

Per-reader values: a post page carries a signed comment-form token stamped with the time. The view
registers each one with :func:`per_reader_value`; the cache keeps a placeholder and mints a fresh
token for each reader (once a second: the stamp has one-second precision, so that is identical).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pebbleblog.caching import PER_READER_KEY, Mint, not_modified, placeholder, stable_body
from pebbleblog.lru import LRU
from pebbleblog.sitestate import STATELESS_PATHS, SiteState

MAX_ENTRIES = 2_000
MAX_BYTES = 16 * 1024 * 1024
MAX_AGE_SECONDS = 60.0
_SKIPPED_HEADERS = {b"content-length", b"date", b"server"}
_CONDITIONAL = (b"if-none-match", b"if-modified-since")
# A HEAD is answered from the page a GET kept (a monitor's check costs a lookup, not a render).
_SERVED_METHODS = frozenset({"GET", "HEAD"})

_Key = tuple[str, bytes, str, str, bytes]  # scheme, host, root path, path, query string


@dataclass
class _Entry:
    generation: tuple[int, ...]
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    mints: list[Mint]
    etag: str
    modified: datetime
    stored_at: float
    assembled: tuple[int, bytes, list[tuple[bytes, bytes]]] | None = None

    def for_reader(self, now: float) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        """Return the body with fresh per-reader values, and its headers.

        Tokens minted in the same second are identical (their stamp has one-second precision), so
        the page is put together once a second and then sent as it is."""
        second = int(now)
        if self.assembled is None or self.assembled[0] != second:
            body = self.body
            for index, mint in enumerate(self.mints):
                body = body.replace(placeholder(index), mint().encode())
            headers = [*self.headers, (b"content-length", str(len(body)).encode())]
            self.assembled = (second, body, headers)
        return self.assembled[1], self.assembled[2]


class PageCacheMiddleware:
    """Serve public pages from memory while the database says nothing they show has changed."""

    def __init__(self, app: ASGIApp, routes: Collection[str], enabled: bool = True) -> None:
        self.app = app
        self.routes = frozenset(routes)
        self.enabled = enabled
        self._entries: LRU[_Entry] = LRU(MAX_ENTRIES, MAX_BYTES, size=lambda entry: len(entry.body))
        self._counters: dict[str, int] | None = None  # the watch's last dict: re-read when it is new
        self._generation: tuple[int, ...] = ()
        self._next_due = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] != "http" or scope["method"] not in _SERVED_METHODS:
            await self.app(scope, receive, send)
            return
        # One pass over the headers: the site's cookies make a request personal; the host is part
        # of the key (without a base_url, absolute links come from the request, and one reader's
        # Host header must not reach another); conditional headers are looked at only when sent.
        host, conditional = b"", False
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"cookie" and b"pb_" in value:
                await self.app(scope, receive, send)
                return
            elif name in _CONDITIONAL:
                conditional = True
        path = scope["path"]
        if path in STATELESS_PATHS:
            await self.app(scope, receive, send)
            return
        now = time.time()
        generation = self._check(scope["app"].state.site_state, now)
        key = (scope["scheme"], host, scope.get("root_path", ""), path, scope["query_string"])
        entry = self._entries.get(key)
        if entry is not None and 0.0 <= now - entry.stored_at < MAX_AGE_SECONDS:
            await _replay(entry, scope, send, conditional, now)
        elif scope["method"] == "GET":
            await self._fill(scope, receive, send, key, generation)
        else:  # a HEAD that finds nothing kept: answered by the app, and kept by the next GET
            await self.app(scope, receive, send)

    def _check(self, site_state: SiteState, now: float) -> tuple[int, ...]:
        """Empty the cache if the database changed or a scheduled post fell due; return the generation."""
        counters = site_state.counters_now()
        if counters is not self._counters:  # the watch read the counters again: compare them
            self._counters = counters
            generation = (counters.get("content", 0), counters.get("settings", 0))
            if generation != self._generation:
                self._next_due = 0.0
                self._generation = generation
        if now >= self._next_due:
            self._clear()
            due = site_state.next_scheduled(datetime.fromtimestamp(now, UTC))
            self._next_due = due.timestamp() if due is not None else float("inf")
        return self._generation

    def _clear(self) -> None:
        self._entries.clear()

    async def _fill(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: _Key,
        generation: tuple[int, ...],
    ) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            await send(message)
            if message["type"] == "http.response.start":
                start = message if self._storable(scope, message) else None
            elif start is not None:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._store(scope, key, generation, start, b"".join(chunks))

        await self.app(scope, receive, capture)

    def _storable(self, scope: Scope, start: Message) -> bool:
        route = scope.get("route")
        headers = Headers(raw=start["headers"])
        control = headers.get("cache-control", "")
        return (
            start["status"] == 200
            and getattr(route, "name", None) in self.routes
            and "etag" in headers
            and "set-cookie" not in headers
            and "private" not in control
            and "no-store" not in control
        )

    def _store(
        self,
        scope: Scope,
        key: _Key,
        generation: tuple[int, ...],
        start: Message,
        body: bytes,
    ) -> None:
        if generation != self._generation or len(body) > MAX_BYTES // 8:
            return  # the database changed while this page was rendered, or the page is huge
        per_reader = scope.get(PER_READER_KEY, ())
        entry = _Entry(
            generation=generation,
            status=start["status"],
            headers=[(k, v) for k, v in start["headers"] if k.lower() not in _SKIPPED_HEADERS],
            body=stable_body(scope, body),
            mints=[mint for _, mint in per_reader],
            etag=Headers(raw=start["headers"])["etag"],
            modified=parsedate_to_datetime(Headers(raw=start["headers"])["last-modified"]),
            stored_at=time.time(),
        )
        self._entries.put(key, entry)


async def _replay(entry: _Entry, scope: Scope, send: Send, conditional: bool, now: float) -> None:
    if conditional and not_modified(Headers(scope=scope), entry.etag, entry.modified):
        await send({"type": "http.response.start", "status": 304, "headers": entry.headers})
        await send({"type": "http.response.body", "body": b""})
        return
    body, headers = entry.for_reader(now)  # a HEAD gets the GET's headers, Content-Length included
    await send({"type": "http.response.start", "status": entry.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
