"""Send raw requests to the ASGI app in-process, as uvicorn would hand them over.

TestClient and httpx build well-formed requests; a hostile client does not. These helpers build the
ASGI scope from raw bytes (path, query string, header values that are not UTF-8) exactly as uvicorn
decodes them, deliver the body in chunks, and collect the response. They run on the event loop of a
TestClient used as a context manager, so the app's lifespan (its database) is the one in use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

import anyio
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message

Headers = Sequence[tuple[bytes, bytes]]


@dataclass
class RawResponse:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    error: BaseException | None = None  # an exception that escaped the app
    chunks_read: int = 0  # how many body chunks the app took

    def header(self, name: str) -> str:
        key = name.lower().encode()
        return next((v.decode("latin-1") for k, v in self.headers if k.lower() == key), "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def scope_for(method: str, raw_path: bytes, query: bytes = b"", headers: Headers = ()) -> dict[str, object]:
    """Return the scope uvicorn builds for this request line and these headers."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        # uvicorn: unquote(raw_path.decode("ascii")); invalid UTF-8 escapes become U+FFFD.
        "path": unquote(raw_path.decode("ascii")),
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
        "extensions": {},
    }


async def call(
    app: ASGIApp,
    scope: dict[str, object],
    chunks: Sequence[bytes] = (b"",),
    *,
    chunk_delay: float = 0.0,
    disconnect_early: bool = False,
) -> RawResponse:
    """Run one request through ``app``: the body arrives in ``chunks`` (``chunk_delay`` apart).

    ``disconnect_early`` makes the client hang up instead of sending the last chunk."""
    response = RawResponse()
    finished = anyio.Event()
    pending = list(chunks)

    async def receive() -> Message:
        if pending:
            if chunk_delay:
                await anyio.sleep(chunk_delay)
            if disconnect_early and len(pending) == 1:
                pending.clear()
                return {"type": "http.disconnect"}
            body = pending.pop(0)
            response.chunks_read += 1
            return {"type": "http.request", "body": body, "more_body": bool(pending)}
        await finished.wait()  # like uvicorn: wait for the response, then report the disconnect
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            response.status = message["status"]
            response.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            response.body += message.get("body", b"")
            if not message.get("more_body", False):
                finished.set()

    try:
        await app(scope, receive, send)
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        response.error = exc
    finally:
        finished.set()
    return response


def send_raw(
    client: TestClient,
    method: str,
    raw_path: bytes,
    query: bytes = b"",
    headers: Headers = (),
    chunks: Sequence[bytes] = (b"",),
    **options: object,
) -> RawResponse:
    """Send one raw request through the app of a running TestClient (its lifespan has started)."""
    scope = scope_for(method, raw_path, query, headers)
    result: RawResponse = client.portal.call(lambda: call(client.app, scope, chunks, **options))  # type: ignore[union-attr, arg-type]
    return result
