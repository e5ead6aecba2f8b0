"""Request bodies: strict JSON (or a form), which `kit.wire.body` reads into models."""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from starlette.requests import Request  # noqa: TC002 - FastAPI reads it as a dependency

from openbooking.kit.errors import ApiError
from openbooking.kit.headers import header


class MalformedBody(ApiError):
    status_code = 400
    default_message = "The request body is not valid JSON."


class UnsupportedMediaType(ApiError):
    status_code: ClassVar[int] = 415
    default_message = "Send the body as application/json."


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


# One decoder for every body: `json.loads` with these arguments builds a new one each time.
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def parse_json(raw: bytes) -> Any:
    """Stricter than `json.loads`: no duplicate keys, NaN, Infinity or lone surrogates."""
    try:
        text = raw.decode("utf-8")
        value = _DECODER.decode(text)
        if b"\\u" in raw:  # a lone surrogate can only come from an escape: it fails here
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):
        raise MalformedBody from None
    return value


async def read_json(request: Request) -> Any:
    """The body as JSON (any value), or form fields as a dict; empty body = {}."""
    raw = await request.body()
    content_type = (header(request.scope, b"content-type") or "").split(";")[0].strip().lower()
    if not raw.strip():
        return {}
    if content_type == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(raw.decode("utf-8"), strict_parsing=True))
        except (UnicodeError, ValueError):
            raise MalformedBody("The form body is malformed.") from None
    if content_type not in ("application/json", "") and not content_type.endswith("+json"):
        raise UnsupportedMediaType
    return parse_json(raw)
