"""The HTTP protocol `openbooking serve` runs: uvicorn's httptools protocol with bounds on the
request head, which uvicorn does not bound by itself.

A request line and headers larger than `MAX_HEAD_BYTES`, or with more than `MAX_HEADER_LINES`
lines, are answered 431 and the connection is closed, before they are held in memory; a head
that has not arrived within `OPENBOOKING_BODY_TIMEOUT_SECONDS` is answered 408 (a client
trickling bytes holds nothing for long). Bodies are bounded in the app
(`kit/middleware.Edge`), which arms no deadline for a body this protocol marks all received
(`BODY_RECEIVED` in the scope): a small body comes with its head, in the same packet.

Each answer's head (status line and headers) goes out in the same write as its body
(`HeadWithBody`): uvicorn writes them separately, and on loopback or a LAN each write is a
system call and a TCP segment that costs about as much as a cheap request's own Python work.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from openbooking.config import Settings
from openbooking.kit.middleware import BODY_RECEIVED

MAX_HEAD_BYTES = 32 * 1024
MAX_HEADER_LINES = 100
_END_OF_HEAD = b"\r\n\r\n"


def _answer(status: int, reason: str, message: str) -> bytes:
    body = orjson.dumps({"success": False, "data": None, "meta": {"message": message}})
    return (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode() + body


@cache
def head_timeout() -> float:
    """Read once per process (the workers of `serve` read their settings from the environment)."""
    return Settings().body_timeout_seconds


TOO_LARGE = _answer(431, "Request Header Fields Too Large", "Request headers too large.")
TOO_SLOW = _answer(408, "Request Timeout", "The request took too long to arrive.")


class HeadWithBody(asyncio.Transport):
    """What uvicorn's request cycles write through: a write is held until the next one, which
    it joins, or until the event loop's next turn, whichever comes first. A response's head is
    written when its body is (one write, one segment, instead of two); nothing waits longer
    than the current turn of the loop (a streamed body's head and chunks go out as they did,
    in the same order)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
        else:
            self._held = None
            self._transport.write(held + data)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Counts the bytes and lines of each request head as they arrive; the answers are written
    through `HeadWithBody`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reset_head()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._writer = HeadWithBody(transport, self.loop)

    def _reset_head(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        self._head_lines = 0
        self._tail = b""
        self._head_timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            window = self._tail + data
            end = window.find(_END_OF_HEAD)
            head = data if end < 0 else data[: max(0, end + len(_END_OF_HEAD) - len(self._tail))]
            self._head_bytes += len(head)
            self._head_lines += head.count(b"\n")
            self._tail = window[-(len(_END_OF_HEAD) - 1) :]
            if self._head_bytes > MAX_HEAD_BYTES or self._head_lines > MAX_HEADER_LINES + 2:
                self._refuse(TOO_LARGE)
                return
        super().data_received(data)
        # A head begun but not complete once this data is parsed has `head_timeout()` left to
        # arrive; a head that came whole (the usual case) needs no timer at all.
        if self._in_head and self._head_bytes and self._head_timer is None:
            self._head_timer = self.loop.call_later(head_timeout(), self._refuse, TOO_SLOW)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()
        if self.cycle is not None:
            self.cycle.transport = self._writer

    def on_message_complete(self) -> None:
        if self.cycle is not None:  # the app reads the rest of the body without a deadline
            self.cycle.scope[BODY_RECEIVED] = True  # type: ignore[literal-required]
        super().on_message_complete()
        self._reset_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _refuse(self, answer: bytes) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if not self.transport.is_closing():
            self._writer.flush()
            self.transport.write(answer)
            self.transport.close()
