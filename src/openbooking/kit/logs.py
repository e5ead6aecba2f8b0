"""Log lines: the request id of the request being served, and the JSON format.

`Edge` (kit/middleware.py) puts each request's id in `current_request_id`; the
`RequestIdFilter` on every handler of `openbooking serve` copies it onto each record logged
while that request runs (ours, uvicorn's, any library's). `JsonFormatter` then writes one JSON
object per line with a fixed set of keys: the time, level, logger, the message, the request id,
the access log's fields and an exception's traceback. It never writes a record's other
attributes or its raw arguments, so what reaches the log is only what a message chose to say.
"""

from __future__ import annotations

import logging
import random
import re
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

current_request_id: ContextVar[str | None] = ContextVar("openbooking_request_id", default=None)

# An incoming X-Request-ID is kept when it is short and plain (no spaces, quotes or control
# characters, so it cannot forge a log line); anything else is replaced by a new id.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")

# What the access log adds to its record (`extra=`): the only extra keys a JSON line carries.
ACCESS_FIELDS = ("method", "route", "status", "duration_ms")


def request_id_from(header: bytes | None) -> str:
    """The client's X-Request-ID when it is sane, else a new random one (32 hex digits). A
    request id names a request in the logs and is no secret: it comes from `random` (each
    process its own stream, reseeded after a fork), which needs no system call."""
    if header is not None:
        try:
            value = header.decode("ascii")
        except UnicodeDecodeError:
            value = ""
        if _SANE_REQUEST_ID.fullmatch(value):
            return value
    return f"{random.getrandbits(128):032x}"


class RequestIdFilter(logging.Filter):
    """Sets `record.request_id` (None outside a request); lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `time`, `level`, `logger`, `message`, and when present
    `request_id`, the access log's `method`, `route`, `status`, `duration_ms`, and `exception`
    (the traceback, as the text format prints it)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id.get()
        if request_id:
            line["request_id"] = request_id
        for field in ACCESS_FIELDS:
            value = getattr(record, field, None)
            if isinstance(value, str | int | float):
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    """uvicorn's console format (`INFO:     message`), with ` request_id=...` appended to the
    first line of the records logged during a request."""

    def __init__(self, fmt: str | None = None, use_colors: bool | None = None) -> None:
        from uvicorn.logging import DefaultFormatter  # noqa: PLC0415

        super().__init__()
        self._inner = DefaultFormatter(fmt or "%(levelprefix)s %(message)s", use_colors=use_colors)

    def format(self, record: logging.LogRecord) -> str:
        text = self._inner.format(record)
        request_id = getattr(record, "request_id", None)
        if not request_id:
            return text
        first, newline, rest = text.partition("\n")  # before a traceback, if any
        return f"{first} request_id={request_id}{newline}{rest}"
