"""Lenient wire types: every spelling real clients send, read into plain values in one place.

Schemas (`<domain>/schemas.py`) are pydantic models built from these types. Query strings and
bodies are read by `query(Model)` and `body(Model)` dependencies, which answer a malformed
request with 422 naming the field path (`appointments[0].datetime`), and which `kit.openapi`
documents from the same models.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar
from urllib.parse import parse_qsl

from fastapi import Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import core_schema
from starlette.requests import Request

from openbooking.kit.body import read_json
from openbooking.kit.errors import ApiError, field_path

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

# Ids fit JavaScript's safe integers, which is what widgets hold them in.
# Ids are the database's integer columns (32-bit on PostgreSQL): a larger one names nothing.
MAX_ID = 2**31 - 1
MAX_LIST = 50
# Dates outside these years are refused before any arithmetic could overflow.
FIRST_YEAR, LAST_YEAR = 1970, 2200
_ID = re.compile(r"^([0-9]{1,16})(?:\.0+)?$", re.ASCII)
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)
_TRUE, _FALSE = {"1", "true", "on", "yes"}, {"0", "false", "off", "no", ""}


def to_id(value: object) -> int:
    """`100`, `"100"`, `100.0` and `"100.0"` are the same id; nothing else is."""
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and (match := _ID.match(value)):
        number = int(match[1])
    if number is None or not 0 <= number <= MAX_ID:
        raise ValueError("expected a non-negative integer id")
    return number


def to_flag(value: object) -> bool:
    """`true`/`false`, `1`/`0` and their strings (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("expected true or false (or 1 or 0)")


def to_id_list(value: object) -> list[int]:
    """A list of ids from a list, a comma-separated string or one id; duplicates collapse."""
    items: list[Any] = value if isinstance(value, list) else [value]
    pieces: list[Any] = []
    for item in items:
        if isinstance(item, str):
            pieces.extend(piece.strip() for piece in item.split(",") if piece.strip())
        else:
            pieces.append(item)
    if len(pieces) > MAX_LIST:
        raise ValueError(f"at most {MAX_LIST} ids are accepted")
    return list(dict.fromkeys(to_id(piece) for piece in pieces))


def to_moment(value: object) -> datetime:
    """ISO 8601 with or without a UTC offset (`+03:00`, `+0300`, `Z`), a space allowed for
    the `T`, or a Unix timestamp. Without an offset the result is naive: local wall-clock time,
    placed in a location's zone by `kit.clock.instant`."""
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date-time")
    text = value.strip()
    try:
        if text.isascii() and text.isdigit() and len(text) <= 12:
            moment = datetime.fromtimestamp(int(text), UTC)
        elif len(text) > 40:
            raise ValueError(text)
        else:
            moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except (ValueError, OverflowError, OSError):
        raise ValueError("expected an ISO 8601 date-time such as 2026-09-21T10:00:00") from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(f"the year must be {FIRST_YEAR} to {LAST_YEAR}")
    return moment


def to_day(value: object) -> date:
    if not isinstance(value, str) or not _DAY.match(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError("expected a date as YYYY-MM-DD") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"the year must be {FIRST_YEAR} to {LAST_YEAR}")
    return day


# Unicode's Default_Ignorable_Code_Point ranges outside the Cf category (which is refused
# anyway): fillers that render as nothing, such as U+3164 HANGUL FILLER.
_IGNORABLE = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)
MAX_COMBINING_RUN = 4  # marks on one base: enough for every script, not for "Zalgo" stacks


def _ignorable(char: str) -> bool:
    point = ord(char)
    return any(low <= point <= high for low, high in _IGNORABLE)


def visible(text: str) -> bool:
    """Whether `text` shows something: a character that is neither a space, a mark, nor an
    ignorable filler."""
    return any(
        not char.isspace() and unicodedata.category(char)[0] != "M" and not _ignorable(char)
        for char in text
    )


def _combining_run(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if unicodedata.category(char) in ("Mn", "Me") else 0
        longest = max(longest, run)
    return longest


def _without(text: str, characters: str) -> str:
    for char in characters:
        text = text.replace(char, "")
    return text


def clean_text(
    value: object, *, max_length: int, multiline: bool = False, name: bool = False
) -> str | None:
    """NFC, trimmed, no control or formatting characters (line breaks and tabs allowed when
    `multiline`; CRLF and CR become LF), no more than `MAX_COMBINING_RUN` marks on one
    character. Empty is None; a `name` must show something (`visible`)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("expected a string")
    text = str(value)
    ascii_only = text.isascii()  # then already NFC, and free of marks and formatting
    text = (text if ascii_only else unicodedata.normalize("NFC", text)).strip()
    allowed = ""
    if multiline:
        text, allowed = text.replace("\r\n", "\n").replace("\r", "\n"), "\n\t"
    if len(text) > max_length:
        raise ValueError(f"at most {max_length} characters")
    if ascii_only:
        controls = not _without(text, allowed).isprintable()  # ASCII's Cc are its unprintable
    else:
        controls = any(unicodedata.category(c) in ("Cc", "Cf") and c not in allowed for c in text)
    if controls:
        raise ValueError("control and formatting characters are not allowed")
    if not ascii_only and _combining_run(text) > MAX_COMBINING_RUN:
        raise ValueError("too many combining marks on one character")
    if name and text and not visible(text):
        raise ValueError("a name needs at least one visible character")
    return text or None


def _id_schema() -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "maximum": MAX_ID}


Id = Annotated[int, BeforeValidator(to_id), WithJsonSchema(_id_schema())]
IdList = Annotated[
    list[int],
    BeforeValidator(to_id_list),
    WithJsonSchema({"type": "array", "items": _id_schema(), "maxItems": MAX_LIST}),
]
Flag = Annotated[
    bool,
    BeforeValidator(to_flag),
    WithJsonSchema({"type": "boolean", "description": "true/false, 1/0, or their strings"}),
]
Moment = Annotated[
    datetime,
    BeforeValidator(to_moment),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "ISO 8601; without an offset, the location's local time",
            "examples": ["2026-09-21T10:00:00+02:00", "2026-09-21T10:00"],
        }
    ),
]
Day = Annotated[
    date,
    BeforeValidator(to_day),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-09-21"]}),
]


@dataclass(frozen=True, slots=True)
class Clean:
    """`Annotated[str | None, Clean(255)]`: an optional text field cleaned by `clean_text`."""

    max_length: int
    multiline: bool = False
    name: bool = False  # a person's name: must show a visible character

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(
            lambda value: clean_text(
                value, max_length=self.max_length, multiline=self.multiline, name=self.name
            ),
            handler(source),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.max_length}


PersonName = Annotated[str | None, Clean(255, name=True)]


IdPath = Annotated[
    int,
    Path(description="An id; `100` and `100.0` are the same.", json_schema_extra=_id_schema()),
    BeforeValidator(to_id),
]


class Schema(BaseModel):
    """Base of the wire models: unknown fields are ignored, as the vendors' servers do."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class QuerySchema(Schema):
    """A query string. Fields typed `IdList` are read in every array spelling:
    `name[]=1&name[]=2`, `name[0]=1`, `name=1,2` and `name=1&name=2`."""

    list_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.list_fields = frozenset(
            name
            for name, field in cls.model_fields.items()
            if any(getattr(rule, "func", None) is to_id_list for rule in field.metadata)
        )


class InvalidRequest(ApiError):
    """422 naming every malformed field by its path, the first one in the message."""

    status_code = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = errors[0]
        super().__init__(f"Invalid value for '{first['field']}': {first['message']}", errors=errors)


def _message(error: Any) -> str:
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def invalid(exc: ValidationError) -> InvalidRequest:
    return InvalidRequest(
        [
            {"code": 422, "field": field_path(error["loc"]), "message": _message(error)}
            for error in exc.errors(include_url=False)
        ]
    )


M = TypeVar("M", bound=Schema)
Q = TypeVar("Q", bound=QuerySchema)


def _query_dict(request: Request, model: type[QuerySchema]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    # The pairs of `request.query_params.multi_items()`, parsed as Starlette parses them,
    # without building the multidict (a query model is the only reader of the query string).
    query = request.scope["query_string"].decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True):
        name = key.split("[", 1)[0] if key.endswith("]") else key
        if name in model.list_fields:
            data.setdefault(name, []).append(value)
        else:
            data[name] = value
    return data


def query(model: type[Q]) -> Callable[[Request], Coroutine[Any, Any, Q]]:
    """A dependency giving the request's query string as `model` (a coroutine, as every
    dependency here: FastAPI runs a plain function in a worker thread, which costs more than
    the work)."""

    async def dependency(request: Request) -> Q:
        try:
            return model.model_validate(_query_dict(request, model))
        except ValidationError as exc:
            raise invalid(exc) from None

    dependency.wire_query = model  # type: ignore[attr-defined]  # read by kit.openapi
    return dependency


def parse_body(model: type[M], raw: Any) -> M:
    """`raw` (what `kit.body.read_json` gave) as `model`; 422 as `body` answers it."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise invalid(exc) from None


def body(model: type[M]) -> Callable[[Request], Any]:
    """A dependency giving the request body (strict JSON, or form fields) as `model`."""

    async def dependency(request: Request) -> M:
        return parse_body(model, await read_json(request))

    dependency.wire_body = model  # type: ignore[attr-defined]  # read by kit.openapi
    return dependency


DayPath = Annotated[
    date,
    Path(description="YYYY-MM-DD", json_schema_extra={"type": "string", "format": "date"}),
    BeforeValidator(to_day),
]
