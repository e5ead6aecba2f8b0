"""Pure ASGI middleware: path tolerance and the request body limit."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException

from openbooking.kit import metrics
from openbooking.kit.envelope import error_envelope
from openbooking.kit.logs import current_request_id, request_id_from

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_logger = logging.getLogger("openbooking.access")


class StripTrailingSlash:
    """Every path answers with or without a trailing slash (no redirects: POSTs must not bounce)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope)
                scope["path"] = path.rstrip("/") or "/"
                raw = scope.get("raw_path")
                if raw:
                    scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


class BodySizeLimit:
    """413 in the envelope for bodies over `max_bytes`, declared or streamed, and 408 for a
    body that has not arrived `timeout` seconds after the app began to read it (a client that
    stalls mid-body holds nothing for long)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float = 10.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._reject(scope, receive, send)
                return
        received = 0
        deadline: float | None = None

        async def limited_receive() -> Message:
            nonlocal received, deadline
            loop = asyncio.get_running_loop()
            deadline = deadline or loop.time() + self.timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(408) from None  # rendered by the app's HTTP error handler
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413)
            return message

        await self.app(scope, limited_receive, send)

    @staticmethod
    async def _reject(scope: Scope, receive: Receive, send: Send) -> None:
        await error_envelope(413, "Request body too large.")(scope, receive, send)


def _served_path(scope: Scope, status: int) -> str:
    """The path of a page outside the API that the app served (the OpenAPI document, the docs'
    static files): such paths carry no secrets. Anything else is `(no route)`."""
    path: str = scope["path"]
    if "endpoint" in scope and status < 400 and not path.startswith("/api/"):
        return path
    return "(no route)"


class AccessLog:
    """One log line per request with the route's template, never the raw path of an API
    request: paths carry record hashes (uvicorn's own access log is turned off by
    `openbooking serve`). The same template labels the request metrics (kit/metrics.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or _served_path(scope, status)
            seconds = time.perf_counter() - started
            access_logger.info(
                "%s %s %s %.1fms",
                scope["method"],
                template,
                status,
                seconds * 1000,
                extra={
                    "method": scope["method"],
                    "route": template,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
            metrics.observe_request(scope["method"], template, status, seconds)


class RequestId:
    """Each request gets an id: the client's `X-Request-ID` when it is short and plain, else a
    new one. It is sent back as `X-Request-ID` and is on every log line logged while the request
    runs (kit/logs.py), the access log's included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = request_id_from(incoming)
        header = (b"x-request-id", request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != header[0]]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        token = current_request_id.set(request_id)
        await self.app(scope, receive, send_with_id)
        # Reset on success only: an unexpected error is logged (and answered 500, with the id:
        # kit/errors.py) by handlers outside this middleware. The variable belongs to the
        # request's own task, so it ends with it anyway.
        current_request_id.reset(token)
