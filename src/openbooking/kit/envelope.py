"""The wire format: the `{success, data, meta}` envelope and the two vendor dialects."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
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


def _without_defaults(schema: dict[str, Any]) -> None:
    """An answer's optional field is one the server may leave out, never a default to assume."""
    for field in schema.get("properties", {}).values():
        field.pop("default", None)


# `x: int | Absent = None`: the answer may leave `x` out; when it is there, it is an integer.
Absent = SkipJsonSchema[None]


class Answer(BaseModel):
    """Base of the answer models: documentation of what the render functions send. A field
    with a default is one the answer may leave out; every other field is always there."""

    model_config = ConfigDict(json_schema_extra=_without_defaults)


T = TypeVar("T")


class Envelope(Answer, Generic[T]):
    """`{"success": true, "data": ..., "meta": []}`."""

    success: Literal[True]
    data: T
    meta: list[Any] = Field(max_length=0, description="Always `[]` on these answers")


class Message(Answer):
    message: str = Field(examples=["Created"])


class Notice(Answer):
    """`{"success": true, "data": null, "meta": {"message": ...}}` (201 `Created`, 202
    `Accepted`)."""

    success: Literal[True]
    data: None
    meta: Message


class ErrorDetail(Answer):
    code: int = Field(description="The HTTP status, or a business code (431-438)")
    message: str
    field: str | Absent = Field(
        None, description="The malformed parameter, as a path (`appointments[0].datetime`)"
    )
    id: int | Absent = Field(None, description="The appointment a booking error concerns")


class ErrorMeta(Answer):
    message: str
    errors: list[ErrorDetail] | Absent = Field(
        None, description="Left out when there is nothing to add"
    )


class LegacyError(Answer):
    code: int = Field(description="The business code (431-438, or 422)")
    message: str
    id: int | Absent = Field(None, description="The appointment it concerns")


class ErrorEnvelope(Answer):
    """How every error looks on the wire, in both dialects."""

    success: Literal[False]
    data: None
    meta: ErrorMeta
    errors: LegacyError | Absent = Field(
        None,
        description="Business errors only: the first of `meta.errors`, for pre-v2 readers",
    )


ERROR_DESCRIPTIONS = {
    400: "The body is not valid JSON (no duplicate keys, NaN or lone surrogates)",
    401: "Missing or unknown partner token",
    403: "Refused by the location's rules",
    404: "Unknown id",
    409: "Conflict",
    413: "The body is larger than `OPENBOOKING_MAX_BODY_BYTES`",
    415: "The body is neither JSON nor a form",
    422: "Malformed parameter; `meta.errors[].field` names it",
    429: "Too many requests; `Retry-After` says when to try again",
    503: "The server is busy; `Retry-After` says when to try again",
}


def errors(*statuses: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the errors a route answers: a status (with its usual description) or
    `(status, description)`."""
    found: dict[int | str, dict[str, Any]] = {}
    for item in statuses:
        status, description = item if isinstance(item, tuple) else (item, ERROR_DESCRIPTIONS[item])
        found[status] = {"model": ErrorEnvelope, "description": description}
    return found


ERROR_RESPONSES = errors(401)
BODY_ERRORS = (400, 413, 415)
