"""Request parameters in every spelling real clients send."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from fastapi import Path, Query

from openbooking.kit.errors import InvalidParameter

if TYPE_CHECKING:
    from starlette.datastructures import QueryParams

# Ids fit JavaScript's safe integers, which is what widgets hold them in.
MAX_ID = 2**53 - 1
_ID = re.compile(r"^\s*([0-9]{1,16})(?:\.0+)?\s*$", re.ASCII)

IdPath = Annotated[int, Path(ge=0, le=MAX_ID)]
IdQuery = Annotated[int, Query(ge=0, le=MAX_ID)]


def parse_id(value: str, field: str) -> int:
    """`100` and `100.0` are the same id; anything else is a 422 naming the field."""
    match = _ID.match(value)
    if match is None or int(match[1]) > MAX_ID:
        raise InvalidParameter(field, f"expected a non-negative integer id, got {value[:32]!r}")
    return int(match[1])


def parse_id_list(query: QueryParams, name: str, *, limit: int = 50) -> list[int]:
    """`name[]=1&name[]=2`, `name[0]=1&name[1]=2`, `name=1,2` and `name=1&name=2`, in order."""
    key = re.compile(rf"^{re.escape(name)}(?:\[[0-9]{{0,4}}\])?$")
    ids: list[int] = []
    for param, value in query.multi_items():
        if not key.match(param):
            continue
        ids.extend(parse_id(piece, name) for piece in value.split(",") if piece.strip())
    if len(ids) > limit:
        raise InvalidParameter(name, f"at most {limit} ids are accepted")
    return list(dict.fromkeys(ids))
