"""The wire format: the `{success, data, meta}` envelope and the two vendor dialects."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel
from starlette.responses import Response

if TYPE_CHECKING:
    from collections.abc import Mapping

ALTEGIO_MEDIA_TYPE = "application/vnd.api.v2+json"
YCLIENTS_MEDIA_TYPE = "application/vnd.yclients.v2+json"


class Dialect(StrEnum):
    """Altegio and YCLIENTS run one API; their references type some fields differently."""

    ALTEGIO = "altegio"
    YCLIENTS = "yclients"


def dialect_from_accept(accept: str | None, default: Dialect) -> Dialect:
    """The first vendor media type named in Accept wins; anything else gets `default`."""
    if accept:
        lowered = accept.lower()
        altegio = lowered.find(ALTEGIO_MEDIA_TYPE)
        yclients = lowered.find(YCLIENTS_MEDIA_TYPE)
        if yclients >= 0 and (altegio < 0 or yclients < altegio):
            return Dialect.YCLIENTS
        if altegio >= 0:
            return Dialect.ALTEGIO
    return default


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def envelope(
    data: Any,
    *,
    meta: dict[str, Any] | list[Any] | None = None,
    status_code: int = 200,
) -> JSONResponse:
    return JSONResponse(
        {"success": True, "data": data, "meta": [] if meta is None else meta},
        status_code=status_code,
    )


def error_envelope(
    status_code: int,
    message: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    legacy: dict[str, Any] | None = None,
) -> JSONResponse:
    meta: dict[str, Any] = {"message": message}
    if errors:
        meta["errors"] = errors
    body: dict[str, Any] = {"success": False, "data": None, "meta": meta}
    if legacy:
        body["errors"] = legacy
    return JSONResponse(body, status_code=status_code, headers=headers)


class ErrorDetail(BaseModel):
    code: int
    message: str
    field: str | None = None


class ErrorMeta(BaseModel):
    message: str
    errors: list[ErrorDetail] | None = None


class ErrorEnvelope(BaseModel):
    """How every error looks on the wire (documentation for the OpenAPI schema)."""

    success: bool = False
    data: None = None
    meta: ErrorMeta


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (401, "Missing or unknown partner token"),
        (404, "Unknown id"),
        (422, "Malformed parameter; `meta.errors[].field` names it"),
    )
}
