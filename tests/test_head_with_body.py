"""What `openbooking serve`'s HTTP protocol writes to the socket: each answer's head and body in
one write (one TCP segment for a small answer), a streamed body's parts in order and without
waiting for the next part, a HEAD answer's head on its own."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from openbooking.server import BoundedHttpToolsProtocol

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send


class Socket(asyncio.Transport):
    """The connection's far end: every write the protocol makes, as made."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


RELEASE = asyncio.Event()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """`/stream` sends its head and first part, then its last part once `RELEASE` is set;
    anything else answers `hello` at once."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await RELEASE.wait()
        await send({"type": "http.response.body", "body": b"last"})
        return
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"5")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"hello"})


async def exchange(*requests: bytes, release_after: int | None = None) -> Socket:
    """Feed the requests to a new connection of the protocol; what it wrote once idle."""
    config = Config(app=app, http=BoundedHttpToolsProtocol, lifespan="off", log_level="error")
    config.load()
    protocol = BoundedHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
    socket = Socket()
    protocol.connection_made(socket)
    for request in requests:
        protocol.data_received(request)
    for turn in range(20):
        await asyncio.sleep(0)
        if turn == release_after:
            RELEASE.set()
    protocol.connection_lost(None)
    return socket


def get(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode()


class TestWrites:
    def test_an_answer_is_one_write(self) -> None:
        socket = asyncio.run(exchange(get("/")))
        assert len(socket.writes) == 1
        head, body = socket.writes[0].split(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"content-length: 5" in head.split(b"\r\n")
        assert body == b"hello"

    def test_pipelined_answers_come_in_order(self) -> None:
        socket = asyncio.run(exchange(get("/") + get("/")))
        assert len(socket.writes) == 2
        assert all(write.endswith(b"\r\n\r\nhello") for write in socket.writes)

    def test_a_head_answer_is_sent_without_a_body(self) -> None:
        socket = asyncio.run(exchange(get("/", "HEAD")))
        assert len(socket.writes) == 1
        assert socket.writes[0].endswith(b"content-length: 5\r\n\r\n")

    def test_a_streamed_body_does_not_wait_for_its_next_part(self) -> None:
        RELEASE.clear()
        socket = asyncio.run(exchange(get("/stream"), release_after=10))
        received = b"".join(socket.writes)
        assert received.startswith(b"HTTP/1.1 200 OK\r\n")
        assert received.endswith(b"\r\n\r\n5\r\nfirst\r\n4\r\nlast\r\n0\r\n\r\n")
        # the head and the first part went out before the last part was produced
        assert len(socket.writes) == 2
        assert socket.writes[0].endswith(b"5\r\nfirst\r\n")
