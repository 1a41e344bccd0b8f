"""HTTP caching of public pages and feeds: an ETag from the body, and 304 for a matching request.

Pages are sent with ``Cache-Control: no-cache`` (a browser or proxy may keep them but must ask
again), so a reader always sees the latest comment, and an unchanged page costs one small 304.
Responses that are personal (they set a cookie, or say private/no-store) are left alone.
"""

from __future__ import annotations

import hashlib

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


class ConditionalGetMiddleware:
    """Add an ETag to cacheable GET responses and answer 304 when the browser already has it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
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
                await _finish(scope, start, b"".join(body), send)

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
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = MutableHeaders(scope=start)
    headers["ETag"] = etag
    headers.setdefault("Cache-Control", "no-cache")
    sent = Headers(scope=scope).get("if-none-match", "")
    if etag in [tag.strip().removeprefix("W/") for tag in sent.split(",")] or sent.strip() == "*":
        del headers["content-length"]
        await send({"type": "http.response.start", "status": 304, "headers": start["headers"]})
        await send({"type": "http.response.body", "body": b""})
        return
    await send(start)
    await send({"type": "http.response.body", "body": body})
