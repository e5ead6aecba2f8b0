"""A request header read from the ASGI scope."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import Scope


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of the header `name` (lower case), as `request.headers.get(name)` gives
    it, without building `request.headers`: on a hot path that costs more than the look-up."""
    for key, value in scope["headers"]:
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None
