"""Typed errors that carry their wire status; one handler renders them all."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from fastapi import routing
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import compile_path

from openbooking.kit.db import DatabaseBusy
from openbooking.kit.envelope import error_envelope
from openbooking.kit.logs import current_request_id

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import Response

logger = logging.getLogger("openbooking.errors")


class ApiError(Exception):
    status_code: ClassVar[int] = 400
    default_message: ClassVar[str] = "Bad request."

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        legacy: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.errors = errors
        self.headers = headers
        self.legacy = legacy  # the pre-v2 top-level `errors` object, for old readers
        super().__init__(self.message)


class Unauthorized(ApiError):
    status_code = 401
    default_message = "Authentication needed."


class Forbidden(ApiError):
    status_code = 403
    default_message = "Access denied."


class NotFound(ApiError):
    status_code = 404
    default_message = "Not found."


class InvalidParameter(ApiError):
    """A malformed request parameter: 422 naming the field."""

    status_code = 422

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(
            f"Invalid value for '{field}': {problem}",
            errors=[{"code": 422, "field": field, "message": problem}],
        )


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("appointments", 0, "datetime")` -> `appointments[0].datetime`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("path", "query", "body", "header"):
            out += f".{part}" if out else str(part)
    return out or "request"


def render(exc: ApiError) -> Response:
    """The error's answer, as the handler renders it."""
    return error_envelope(
        exc.status_code, exc.message, errors=exc.errors, headers=exc.headers, legacy=exc.legacy
    )


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return render(exc)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"code": 422, "field": field_path(err.get("loc", ())), "message": str(err.get("msg", ""))}
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"field": "request", "message": "invalid"}
    message = f"Invalid value for '{first['field']}': {first['message']}"
    return error_envelope(422, message, errors=errors)


_HTTP_MESSAGES = {
    401: "Authentication needed.",
    403: "Access denied.",
    404: "Not found.",
    405: "Method not allowed.",
    408: "The request took too long to arrive.",
    413: "Request body too large.",
    415: "Unsupported media type.",
}


def allowed_methods(request: Request) -> str:
    """Every method some route answers at the request's path (Starlette's 405 names only the
    first route that matched the path, e.g. GET where PUT and DELETE answer too)."""
    routes = getattr(request.app.state, "route_patterns", None)
    if routes is None:
        routes = request.app.state.route_patterns = [
            (compile_path(template)[0], route.methods or set())
            for route in routing.iter_route_contexts(request.app.routes)
            if (template := getattr(route, "path_format", None))
        ]
    path = request.scope["path"]
    methods = {method for pattern, found in routes if pattern.match(path) for method in found}
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, "Request failed.")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return error_envelope(exc.status_code, message, headers=headers)


async def _database_busy(request: Request, exc: Exception) -> Response:
    """A writer did not get the database within the busy timeout, or a request no pooled
    connection within the pool's (overload): 503 and a retry. Any other database error is
    unexpected."""
    if isinstance(exc, OperationalError) and "database is locked" not in str(exc.orig):
        raise exc
    route = request.scope.get("route")
    logger.warning("database busy on %s %s", request.method, getattr(route, "path", "?"))
    return error_envelope(
        503, "The server is busy. Please try again.", headers={"Retry-After": "1"}
    )


async def _client_gone(request: Request, _exc: Exception) -> Response:
    """The client hung up before its body arrived: nobody reads an answer, and it is no
    server error (one line, no traceback, so that it cannot flood the log)."""
    route = request.scope.get("route")
    logger.info("client disconnected during %s %s", request.method, getattr(route, "path", "?"))
    return error_envelope(400, "The client disconnected.")


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # The route template, not the raw path: paths can carry record hashes.
    route = request.scope.get("route")
    logger.error(
        "unhandled error on %s %s", request.method, getattr(route, "path", "?"), exc_info=exc
    )
    request_id = current_request_id.get()
    headers = {"X-Request-ID": request_id} if request_id else None
    return error_envelope(500, "Internal server error.", headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_busy)
    app.add_exception_handler(DatabaseBusy, _database_busy)
    app.add_exception_handler(PoolTimeout, _database_busy)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected_error)
