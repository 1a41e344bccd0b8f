"""One log line per request, on the ``pebbleblog.access`` logger: method, path, status, time, client.

What is never logged: query string values (only their names: a search, a token), request and
response bodies (passwords, comments), headers (cookies). A path segment that is a secret, the
``{token}`` of a mail action link, is logged as ``<token>``. ``pebbleblog serve`` writes these lines
to standard error as JSON, one object per line (see :func:`uvicorn_log_config`).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Iterator
from json.encoder import encode_basestring as _json_string  # C-accelerated, as JSONEncoder uses it
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER_NAME = "pebbleblog.access"
FIELDS = ("method", "path", "query", "status", "duration_ms", "client")
SECRET_PATH_PARAMS = ("token",)
MAX_PATH_CHARS = 500
MAX_QUERY_NAMES, MAX_NAME_CHARS = 20, 50
log = logging.getLogger(LOGGER_NAME)
_ENCODER = json.JSONEncoder(ensure_ascii=False)  # once: json.dumps(ensure_ascii=False) makes one a call


class AccessLogMiddleware:
    """Log each HTTP request once its response is complete (or has failed: status 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before it answers

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            _log_request(scope, status, (time.perf_counter() - started) * 1000)


_LINE = "%s %s%s %s %.1fms %s"


def _log_request(scope: Scope, status: int, duration_ms: float) -> None:
    client = scope.get("client")
    host = client[0] if client else ""
    direct = _direct_handler()
    if direct is not None:
        direct.write_access(_request_fields(scope, status), duration_ms, host)
        return
    method, path, query = _printable(scope["method"]), _path(scope), _query_names(scope["query_string"])
    fields: dict[str, Any] = {
        "method": method,
        "path": path,
        "query": query,
        "status": status,
        "duration_ms": round(duration_ms, 1),
        "client": host,
    }
    query_text = f"?{'&'.join(query)}" if query else ""
    args = (method, path, query_text, status, duration_ms, host or "-")
    # makeRecord + handle is log.info without the search for the calling line (a stack walk per
    # request that no access line needs).
    record = log.makeRecord(log.name, logging.INFO, __file__, 0, _LINE, args, None, extra={"access": fields})
    log.handle(record)


# The JSON of an access line's method, path, query names and status, by the request's own: requests
# repeat (a kept page is asked for again and again), so most lines look these up instead of
# escaping, parsing and encoding them again. Emptied when full; paths with secrets are not kept.
_FIELDS: dict[tuple[str, str, bytes, int], str] = {}
MAX_KEPT_FIELDS = 1024


def _request_fields(scope: Scope, status: int) -> str:
    key = (scope["method"], scope["path"], scope["query_string"], status)
    fields = _FIELDS.get(key)
    if fields is None:
        path = _path(scope)
        fields = access_fields(_printable(key[0]), path, _query_names(key[2]), status)
        if path == _printable(key[1]):  # nothing hidden: the same for every request like it
            if len(_FIELDS) >= MAX_KEPT_FIELDS:
                _FIELDS.clear()
            _FIELDS[key] = fields
    return fields


def access_fields(method: str, path: str, query: list[str], status: int) -> str:
    """Return the JSON members of an access line from "method" to "status" (as ``line`` writes them),
    for :meth:`JsonLinesFormatter.access_line_with`."""
    names = ", ".join(map(_json_string, query))
    return (
        f'"method": {_json_string(method)}, "path": {_json_string(path)}, "query": [{names}],'
        f' "status": {int(status)}'
    )


def _direct_handler() -> BufferedLinesHandler | None:
    """Return the handler to give the line to without a LogRecord, when nothing else could want one.

    That is the setup ``pebbleblog serve`` makes: the logger's one handler is a BufferedLinesHandler
    with the JSON formatter, and no filters. Any other setup (tests, an app that configures logging
    itself) gets ordinary records."""
    handlers = log.handlers
    if len(handlers) != 1 or log.filters or log.propagate:
        return None
    handler = handlers[0]
    if type(handler) is not BufferedLinesHandler or handler.filters or handler.level > logging.INFO:
        return None
    return handler if type(handler.formatter) is JsonLinesFormatter else None


def _path(scope: Scope) -> str:
    """Return the request's path, secret segments hidden, unprintable characters escaped, cut short."""
    path = str(scope["path"])
    params = scope.get("path_params") or {}
    for name in SECRET_PATH_PARAMS:
        value = params.get(name)
        if isinstance(value, str) and value:
            path = path.replace("/" + value, f"/<{name}>")
    path = _printable(path)
    return path if len(path) <= MAX_PATH_CHARS else path[:MAX_PATH_CHARS] + "..."


def _query_names(query_string: bytes) -> list[str]:
    """Return the names in the query string (never the values), sorted, at most MAX_QUERY_NAMES."""
    if not query_string:
        return []
    names = {_printable(name)[:MAX_NAME_CHARS] for name, _ in parse_qsl(query_string.decode("latin-1"), True)}
    return sorted(names)[:MAX_QUERY_NAMES]


def _printable(text: str) -> str:
    """Escape control and other unprintable characters, so a request cannot forge log lines."""
    if text.isprintable():  # nearly always: no need to look at each character
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


class JsonLinesFormatter(logging.Formatter):
    """Format an access record as one JSON object: time (UTC), then the request's fields."""

    _second: int = -1
    _stamp: str = ""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "access", None)
        if not isinstance(fields, dict):
            fields = {"message": record.getMessage()}
        return self.line(record.created, fields)

    def line(self, created: float, fields: dict[str, Any]) -> str:
        """Return the JSON line for ``fields`` logged at ``created`` (seconds since the epoch)."""
        return _ENCODER.encode({"time": self._stamp_at(created), **fields})

    def access_line_with(self, created: float, fields: str, duration_ms: float, client: str) -> str:
        """Return what :meth:`line` makes of an access record, from its fields' JSON (``access_fields``)
        without a dict to encode: the same JSON, key for key and byte for byte (a test holds them
        together), in a quarter of the time. It runs once per request, cached pages included."""
        return (
            f'{{"time": "{self._stamp_at(created)}", {fields}, '
            f'"duration_ms": {round(duration_ms, 1)!r}, "client": {_json_string(client)}}}'
        )

    def _stamp_at(self, created: float) -> str:
        second = int(created)
        if second != self._second:  # strftime once a second, not once a line
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((created - second) * 1000):03d}Z"


class BufferedLinesHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write log lines in batches: at most ``FLUSH_SECONDS`` late, or once ``FLUSH_LINES`` are waiting.

    Called on the event loop (the access log's middleware is), the lines of one busy moment go out
    in one write instead of one write and flush per request. Called where no event loop runs, or
    for a record of WARNING or above, it writes at once. A crash loses at most the lines of the last
    ``FLUSH_SECONDS``; a normal exit flushes them (logging's shutdown closes every handler)."""

    FLUSH_SECONDS = 0.25
    FLUSH_LINES = 256

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        # Lines, or the parts of access lines (made into lines at the flush, in one go).
        self._pending: list[str | tuple[float, str, float, str]] = []
        self._timer: asyncio.TimerHandle | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._add(line, urgent=record.levelno >= logging.WARNING)

    def write_access(self, fields: str, duration_ms: float, client: str) -> None:
        """Queue an access line without building a LogRecord, from its fields' JSON (``access_fields``).

        The line itself is made when the batch is written: all of a batch's at once, in a loop that
        stays in the processor's caches, cost about half of what each made in its request did."""
        assert isinstance(self.formatter, JsonLinesFormatter), "write_access needs the JSON formatter"
        self._add((time.time(), fields, duration_ms, client), False)

    def _add(self, line: str | tuple[float, str, float, str], urgent: bool) -> None:
        self._pending.append(line)
        if urgent or len(self._pending) >= self.FLUSH_LINES:
            self.flush()
            return
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._timer = loop.call_later(self.FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Write every waiting line, then flush the stream."""
        self.acquire()
        try:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._pending and self.stream is not None:
                pending, self._pending = self._pending, []
                self.stream.write("\n".join(self._lines(pending)) + "\n")
            super().flush()
        finally:
            self.release()

    def _lines(self, pending: list[str | tuple[float, str, float, str]]) -> Iterator[str]:
        formatter = self.formatter  # a JsonLinesFormatter wherever write_access queued a tuple
        for item in pending:
            yield item if isinstance(item, str) else formatter.access_line_with(*item)  # type: ignore[union-attr]

    def close(self) -> None:
        """Write what is waiting, then close."""
        self.flush()
        super().close()


def uvicorn_log_config() -> dict[str, Any]:
    """Return uvicorn's logging setup with our access lines (JSON) to stderr instead of its own."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["pebbleblog_access"] = {"()": f"{__name__}.JsonLinesFormatter"}
    config["handlers"]["pebbleblog_access"] = {
        "formatter": "pebbleblog_access",
        "()": f"{__name__}.BufferedLinesHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"][LOGGER_NAME] = {"handlers": ["pebbleblog_access"], "level": "INFO", "propagate": False}
    return config
