"""Limits on what one request may carry: body size, body time, and form fields.

:class:`RequestLimitsMiddleware` refuses a body over the size limit with 413 before reading it (when the
client says its length up front) or as soon as the running count passes the limit (chunked bodies),
and answers 408 when the body has not all arrived within the time budget, so a slow or stalled client
cannot hold a request open forever. Routes marked with :func:`mark_upload` get the larger upload limit.

Refusals are raised as :class:`~starlette.exceptions.HTTPException`, so the app's own error pages
answer them; a refusal decided before the app runs is handed to the app's HTTPException handler.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote_from_bytes, unquote_plus

import anyio
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pebbleblog.errors import BadRequest
from pebbleblog.settings import ServerSection

UPLOAD_MARK = "__pebbleblog_upload__"
UPLOAD_OVERHEAD = 64 * 1024
_QUERY_SAFE = "".join(map(chr, range(0x21, 0x7F)))  # printable ASCII, "%" too: escapes stay
_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def mark_upload(handler: _Handler) -> _Handler:
    """Let a route's requests be as large as the upload limit, not the ordinary body limit."""
    setattr(handler, UPLOAD_MARK, True)
    return handler


class RequestLimitsMiddleware:
    """Refuse request bodies that are too large (413) or too slow to arrive (408).

    It also percent-encodes the bytes of the query string that are not printable ASCII (as browsers
    do): Starlette decodes the query string as UTF-8 when it builds ``request.url``, so a raw
    invalid byte there would otherwise fail every page that makes a link.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = max(upload_bytes, max_bytes)
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["query_string"] = _printable_query(scope.get("query_string", b""))
        length = _content_length(scope)
        if length is not None and length > self.max_bytes and length > (limit := self.limit_for(scope)):
            await _refuse(scope, receive, send, _too_large(limit))  # not a byte of the body read
            return
        body = _BodyGuard(self, scope, receive, send)
        await self.app(scope, body.receive, body.send)

    def limit_for(self, scope: Scope) -> int:
        """Return the body limit of the route this request goes to (looked up only when needed)."""
        app = scope.get("app")
        routes: list[BaseRoute] = getattr(app, "routes", [])
        for route in routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                endpoint = getattr(route, "endpoint", None)
                return self.upload_bytes if getattr(endpoint, UPLOAD_MARK, False) else self.max_bytes
        return self.max_bytes


class _BodyGuard:
    """One request's receive and send, counting the body and watching the clock until it is all in."""

    def __init__(self, limits: RequestLimitsMiddleware, scope: Scope, receive: Receive, send: Send) -> None:
        self._limits, self._scope, self._receive, self._send = limits, scope, receive, send
        self._deadline = time.monotonic() + limits.timeout
        self._received = 0
        self._limit: int | None = None
        self._done = False  # the whole body is in, or the app has started answering

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._done = True
        await self._send(message)

    async def receive(self) -> Message:
        if self._done:
            return await self._receive()
        with anyio.move_on_after(max(0.0, self._deadline - time.monotonic())):
            message = await self._receive()
            self._count(message)
            return message
        seconds = f"{self._limits.timeout:g} second{'' if self._limits.timeout == 1 else 's'}"
        raise HTTPException(
            408,
            f"The request took longer than {seconds} to arrive, so it was dropped. Please check your "
            "connection and send it again.",
        )

    def _count(self, message: Message) -> None:
        if message["type"] == "http.disconnect":
            raise HTTPException(400, "The connection closed before the whole request had arrived.")
        self._received += len(message.get("body", b""))
        if not message.get("more_body", False):
            self._done = True
        if self._received > self._limits.max_bytes:
            if self._limit is None:
                self._limit = self._limits.limit_for(self._scope)
            if self._received > self._limit:
                self._done = True
                raise _too_large(self._limit)


def body_limits(server: ServerSection) -> dict[str, Any]:
    """Return the middleware's arguments from the [server] settings."""
    return {
        "max_bytes": server.max_body_kb * 1024,
        # The file plus its multipart framing and the form's other fields.
        "upload_bytes": server.max_upload_mb * 1024 * 1024 + UPLOAD_OVERHEAD,
        "timeout": float(server.body_timeout_seconds),
    }


def _printable_query(query: bytes) -> bytes:
    if all(0x20 < byte < 0x7F for byte in query):
        return query
    return quote_from_bytes(query, safe=_QUERY_SAFE).encode("ascii")


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length", "")
    return int(value) if value.isascii() and value.isdigit() else None


def _too_large(limit: int) -> HTTPException:
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} KB"
    return HTTPException(
        413, f"This request is larger than the {size} this site accepts. Please send something smaller."
    )


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: HTTPException) -> None:
    """Answer with the app's own page for ``exc`` (plain text if the app has no handler for it)."""
    handlers: dict[Any, Any] = getattr(scope.get("app"), "exception_handlers", {})
    handler = next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)
    request = Request(scope, receive, send)
    response: Response = (
        await handler(request, exc) if handler else PlainTextResponse(exc.detail, exc.status_code)
    )
    await response(scope, receive, send)


async def read_form(
    request: Request, *, max_fields: int, max_files: int = 0, max_part_size: int = 64 * 1024
) -> FormData:
    """Parse the request's form, refusing one with too many fields or files, or too large a field.

    Every form of the app is read here, so no view parses a form without limits (the caller closes
    the form when it allows files).
    """
    try:
        if request.headers.get("content-type") == URLENCODED:
            return parse_urlencoded(await request.body(), max_fields=max_fields, max_part_size=max_part_size)
        return await request.form(max_files=max_files, max_fields=max_fields, max_part_size=max_part_size)
    except HTTPException as exc:
        if exc.status_code != 400:
            raise
        raise _unreadable(exc.detail) from None
    except MultiPartException as exc:
        raise _unreadable(exc.message) from None


URLENCODED = "application/x-www-form-urlencoded"


def parse_urlencoded(body: bytes, *, max_fields: int, max_part_size: int) -> FormData:
    """Return the fields of a urlencoded body, as Starlette's parser reads them, with its limits.

    The body is already in memory (the body limit bounds it), so it is split in one pass rather
    than streamed through python-multipart's callbacks: a third of a comment POST's form cost.
    tests/test_limits.py holds the two parsers equal over generated bodies.
    """
    items: list[tuple[str, str | UploadFile]] = []
    for field in body.split(b"&"):
        if not field:
            continue  # "&&" and a leading or trailing "&" make no field
        if len(field) - (b"=" in field) > max_part_size:
            raise MultiPartException(f"Field exceeded maximum size of {int(max_part_size / 1024)}KB.")
        if len(items) == max_fields:
            raise MultiPartException(f"Too many fields. Maximum number of fields is {max_fields}.")
        name, _, value = field.partition(b"=")
        items.append((unquote_plus(name.decode("latin-1")), unquote_plus(value.decode("latin-1"))))
    return FormData(items)


def _unreadable(detail: str) -> BadRequest:
    return BadRequest(f"The form could not be read: {detail} Please reload the page and send it again.")
