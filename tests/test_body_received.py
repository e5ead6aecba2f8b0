"""`openbooking serve`'s protocol marks a request's body all received (`BODY_RECEIVED`) once
its last byte has arrived, and not before: `kit.middleware.Edge` then reads it without arming
the body's deadline, and a body still on its way keeps it (tests/test_slow_clients.py)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from openbooking.kit.middleware import BODY_RECEIVED
from openbooking.server import BoundedHttpToolsProtocol
from tests.test_head_with_body import Socket

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

SEEN: list[tuple[Any, ...]] = []


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Notes whether the body is marked received before each read, and what each read gave."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        marked = scope.get(BODY_RECEIVED, False)
        message = await receive()
        more = message.get("more_body", False)
        SEEN.append((marked, message["body"]))
    SEEN.append(("at the end", scope.get(BODY_RECEIVED, False)))
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def feed(*parts: bytes) -> list[tuple[Any, ...]]:
    SEEN.clear()
    config = Config(app=app, http=BoundedHttpToolsProtocol, lifespan="off", log_level="error")
    config.load()
    protocol = BoundedHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
    protocol.connection_made(Socket())
    for part in parts:
        protocol.data_received(part)
        for _ in range(5):
            await asyncio.sleep(0)
    protocol.connection_lost(None)
    return list(SEEN)


HEAD = b"POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n"


async def test_a_body_that_came_with_its_head_is_marked_received() -> None:
    assert await feed(HEAD + b"0123456789") == [(True, b"0123456789"), ("at the end", True)]


async def test_a_body_on_its_way_is_marked_received_only_once_it_has_all_come() -> None:
    assert await feed(HEAD + b"01234", b"56789") == [
        (False, b"01234"),  # read with the deadline armed
        (False, b"56789"),  # the same: the read began before the rest arrived
        ("at the end", True),
    ]
