"""HTTP caching of public pages and feeds: ETag and Last-Modified, and 304 for a matching request.

Pages are sent with ``Cache-Control: no-cache`` (a browser or proxy may keep them but must ask
again), so a reader always sees the latest comment, and an unchanged page costs one small 304.
Responses that are personal (they set a cookie, or say private/no-store) are left alone.

The ETag hashes the page; Last-Modified is when anything public pages show last changed (the
database's change counters keep that time), which is never earlier than the page's own change.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CACHEABLE_TYPES = (
    "text/html",
    "application/atom+xml",
    "application/rss+xml",
    "application/xml",
    "text/xml",
    "text/plain",
)


PER_READER_KEY = "pebbleblog.per_reader"
Mint = Callable[[], str]


def per_reader_value(scope: Scope, value: str, mint: Mint) -> None:
    """Tell the cache that ``value`` in this response must be minted afresh for each reader."""
    scope.setdefault(PER_READER_KEY, []).append((value, mint))


def stable_body(scope: Scope, body: bytes) -> bytes:
    """Return ``body`` with its per-reader values replaced by placeholders (for caching and ETags)."""
    for index, (value, _) in enumerate(scope.get(PER_READER_KEY, ())):
        body = body.replace(value.encode(), placeholder(index))
    return body


def placeholder(index: int) -> bytes:
    """Return what stands for per-reader value number ``index`` in a stored page."""
    return b"\x00pebbleblog-per-reader-%d\x00" % index


class ConditionalGetMiddleware:
    """Add an ETag to cacheable GET (and HEAD) responses and answer 304 when the browser has it.

    A HEAD gets the same ETag and Last-Modified as a GET: Starlette's responses send their whole body
    to HEAD too (the server drops it), so the tag is made from the same bytes. A response that sends
    a HEAD less than its Content-Length gets no tag rather than a wrong one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []
        passthrough = False

        async def capture(message: Message) -> None:
            nonlocal start, passthrough
            if message["type"] == "http.response.start":
                if _cacheable(message):
                    start = message
                    return
                passthrough = True
            if passthrough or start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if not message.get("more_body", False):
                whole = b"".join(body)
                if scope["method"] == "HEAD" and str(len(whole)) != Headers(raw=start["headers"]).get(
                    "content-length"
                ):
                    await send(start)
                    await send({"type": "http.response.body", "body": b""})
                    return
                await _finish(scope, start, whole, send)

        await self.app(scope, receive, capture)


def _cacheable(start: Message) -> bool:
    headers = Headers(raw=start["headers"])
    control = headers.get("cache-control", "")
    return (
        start["status"] == 200
        and "etag" not in headers
        and "set-cookie" not in headers
        and "no-store" not in control
        and "private" not in control
        and headers.get("content-type", "").split(";")[0].strip() in CACHEABLE_TYPES
    )


async def _finish(scope: Scope, start: Message, body: bytes, send: Send) -> None:
    # Per-reader values (signed form tokens) change every second: the tag covers the rest.
    etag = '"' + hashlib.sha256(stable_body(scope, body)).hexdigest()[:32] + '"'
    headers = MutableHeaders(scope=start)
    headers["ETag"] = etag
    modified = scope["app"].state.site_state.last_modified(datetime.fromtimestamp(time.time(), UTC))
    headers.setdefault("Last-Modified", format_datetime(modified, usegmt=True))
    headers.setdefault("Cache-Control", "no-cache")
    if not_modified(Headers(scope=scope), etag, modified):
        del headers["content-length"]
        await send({"type": "http.response.start", "status": 304, "headers": start["headers"]})
        await send({"type": "http.response.body", "body": b""})
        return
    await send(start)
    await send({"type": "http.response.body", "body": body})


def not_modified(request: Headers, etag: str, modified: datetime) -> bool:
    """Apply RFC 9110's rules: If-None-Match decides when sent, else If-Modified-Since."""
    sent = request.get("if-none-match")
    if sent is not None:
        return sent.strip() == "*" or etag in [tag.strip().removeprefix("W/") for tag in sent.split(",")]
    since = request.get("if-modified-since")
    if since is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # an unreadable date is ignored, as the RFC says
    return when.tzinfo is not None and modified <= when
