"""Pure ASGI middleware: the request edge (request id, path tolerance, the body limits, the
access log and the request metrics), in one layer."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException

from openbooking.kit import metrics
from openbooking.kit.envelope import error_envelope
from openbooking.kit.logs import current_request_id, request_id_from

# Set to True in the request's scope by the server (`openbooking.server`) once the request's
# whole body has arrived; other servers leave it out, and the body's deadline applies.
BODY_RECEIVED = "openbooking.body_received"

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_logger = logging.getLogger("openbooking.access")


_HTTP_1 = frozenset({"1.0", "1.1"})


def _served_path(scope: Scope, status: int) -> str:
    """The path of a page outside the API that the app served (the OpenAPI document, the docs'
    static files): such paths carry no secrets. Anything else is `(no route)`."""
    path: str = scope["path"]
    if "endpoint" in scope and status < 400 and not path.startswith("/api/"):
        return path
    return "(no route)"


class Edge:
    """What every HTTP request passes through before the app, as one layer (each layer of
    middleware costs every request a call and a closure):

    - **Request id.** The client's `X-Request-ID` when it is short and plain, else a new one.
      It is sent back as `X-Request-ID` and is on every log line logged while the request runs
      (kit/logs.py), the access log's included.
    - **Trailing slash.** Every path answers with or without a trailing slash (no redirects:
      POSTs must not bounce).
    - **Access log and metrics.** One log line per request with the route's template, never
      the raw path of an API request: paths carry record hashes (uvicorn's own access log is
      turned off by `openbooking serve`). The same template labels the request metrics
      (kit/metrics.py). An API route's template is named without `api_prefix`, as the API's
      own documents name it (`/book_record/{location_id}`).
    - **Body limits.** 413 in the envelope for bodies over `max_bytes`, declared or streamed,
      and 408 for a body that has not arrived `timeout` seconds after the app began to read it
      (a client that stalls mid-body holds nothing for long). An HTTP/1 request that declares
      no body (no Content-Length, no Transfer-Encoding) has none, and is not watched.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, timeout: float = 10.0, api_prefix: str = ""
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming, has_body, too_large = self._read_headers(scope)
        request_id = request_id_from(incoming)
        header = (b"x-request-id", request_id.encode("ascii"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0].lower() != header[0]]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        server_scope = scope  # the server's own, where it marks a body all received
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            scope = dict(scope)
            scope["path"] = path.rstrip("/") or "/"
            raw = scope.get("raw_path")
            if raw:
                scope["raw_path"] = raw.rstrip(b"/") or b"/"

        token = current_request_id.set(request_id)
        try:
            if too_large:
                await error_envelope(413, "Request body too large.")(scope, receive, send_with_id)
            elif has_body:
                await self.app(scope, self._limited(receive, server_scope), send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            self._log(scope, status, time.perf_counter() - started)
        # Reset on success only: an unexpected error is logged (and answered 500, with the id:
        # kit/errors.py) by handlers outside this middleware. The variable belongs to the
        # request's own task, so it ends with it anyway.
        current_request_id.reset(token)

    def _read_headers(self, scope: Scope) -> tuple[bytes | None, bool, bool]:
        """The first `X-Request-ID`; whether a body may follow; whether it is declared too
        large (or its Content-Length is not a number)."""
        incoming: bytes | None = None
        too_large = False
        has_body = scope.get("http_version") not in _HTTP_1
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                if incoming is None:
                    incoming = value
            elif name == b"content-length":
                has_body = True
                if not value.isdigit() or int(value) > self.max_bytes:
                    too_large = True
            elif name == b"transfer-encoding":
                has_body = True
        return incoming, has_body, too_large

    def _limited(self, receive: Receive, server_scope: Scope) -> Receive:
        """`receive` with the body's bounds: its size, and its deadline (`timeout` from the
        first read), unless the server marked the body all received (`BODY_RECEIVED`): then
        the read cannot wait, and a timer would cost more than the rest of it."""
        received = 0
        deadline: float | None = None

        async def limited_receive() -> Message:
            nonlocal received, deadline
            if server_scope.get(BODY_RECEIVED):
                message = await receive()
            else:
                loop = asyncio.get_running_loop()
                deadline = deadline or loop.time() + self.timeout
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
                except TimeoutError:
                    raise HTTPException(408) from None  # rendered by the app's error handler
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413)
            return message

        return limited_receive

    def _log(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or _served_path(scope, status)
        if self.api_prefix and template.startswith(self.api_prefix):
            template = template[len(self.api_prefix) :]  # as the API's documents name it
        if access_logger.isEnabledFor(logging.INFO):
            milliseconds = seconds * 1000
            access_logger.info(
                "%s %s %s %.1fms",
                scope["method"],
                template,
                status,
                milliseconds,
                extra={
                    "method": scope["method"],
                    "route": template,
                    "status": status,
                    "duration_ms": round(milliseconds, 1),
                },
            )
        metrics.observe_request(scope["method"], template, status, seconds)
