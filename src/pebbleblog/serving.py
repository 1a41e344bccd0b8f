"""uvicorn's HTTP protocol as ``pebbleblog serve`` runs it: a response's head and body in one write.

uvicorn writes a response's status line and headers to the socket as soon as the app sends
``http.response.start``, and its body as a second write. On a cached page that second system call
(and the loopback's TCP work done inside it) was a large part of the request: a py-spy profile of
``pebbleblog serve`` under wrk put about 32% of the main thread in the head's write and 14% in
the body's. :class:`OneWriteProtocol` hands uvicorn a transport that holds what is written until the
event loop's next turn, then passes it on in one ``writelines`` (one ``writev``). A response sent
in one go (every page pebbleblog renders or keeps) leaves in one system call; one sent in parts (a
static file read in chunks) goes out a turn of the loop later than it would have, in order, and
past 64 KiB held at once. Nothing waits longer than that turn, so "100 Continue" and keep-alive
timeouts behave as before; a client's half-close (end of its input) sends what is held first.

Only ``pebbleblog serve`` uses it; an app mounted in another server runs on that server's protocol.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class OneWriteProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # flow control and addresses from the real transport
        self.transport = CoalescingTransport(transport, asyncio.get_running_loop())

    def eof_received(self) -> None:
        # The client has sent all it will (a half-close: `nc -N`, some health checks): the event
        # loop closes the real transport on return, so what is held goes out now, before that.
        if isinstance(self.transport, CoalescingTransport):
            self.transport.flush()
        super().eof_received()


# Held bytes past this go out at once: a response sent in many parts without yielding to the loop
# is then paced by the real transport's flow control (pause_writing) instead of held in memory.
MAX_HELD_BYTES = 64 * 1024


class CoalescingTransport(asyncio.Transport):
    """A transport whose writes within one turn of the event loop reach the socket as one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: list[bytes | bytearray | memoryview] = []
        self._held_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)
        self._held_bytes += len(data)
        if self._held_bytes > MAX_HELD_BYTES:
            self.flush()

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Pass what is held to the real transport now (nothing if it is closing)."""
        held, self._held, self._held_bytes = self._held, [], 0
        if held and not self._transport.is_closing():
            self._transport.writelines(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held, self._held_bytes = [], 0
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held_bytes

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()
