"""Hot read statements in one hand-off to the driver, their rows as plain tuples.

A statement run through the ORM session on SQLite costs about four hand-offs to aiosqlite's
thread (cursor, execute, fetch, close) plus SQLAlchemy's result machinery, about 0.4 ms of CPU
however small the query, and every row's datetimes go through `kit.db.UTCDateTime` again
(about 4 µs a row). `rows` runs a statement compiled once per dialect on the session's own
connection, inside its transaction (begun as SQLAlchemy begins it), with SQLAlchemy's own bind
processing, and on SQLite in one call of aiosqlite's thread (`execute_fetchall`). Each column
is decoded by the processor SQLAlchemy would apply to it; those of datetime columns are
memoised (their raw values, ISO strings, recur: the same instants come back request after
request), so a row costs a couple of dictionary look-ups. Other databases keep SQLAlchemy's
path (asyncpg decodes in C already, and its transaction starts lazily at the first statement
SQLAlchemy runs).

Only for SELECTs whose every value is decoded by its column's type (no ORM entities).
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sqlalchemy import Select
    from sqlalchemy.engine import Dialect
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
    from sqlalchemy.sql.expression import CompoundSelect

# Distinct raw datetimes remembered per dialect and column type (about 200 bytes each).
MEMO_SIZE = 65_536


class Statement:
    """A SELECT (or UNION) with its per-dialect compiled form and column decoders."""

    def __init__(self, statement: Select[Any] | CompoundSelect[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _Compiled(self.statement, dialect)
        return found


class _Compiled:
    """A statement compiled for one dialect, with the processors of its bound values and the
    decoders of its columns (by position)."""

    def __init__(self, statement: Select[Any] | CompoundSelect[Any], dialect: Dialect) -> None:
        self.compiled = statement.compile(dialect=dialect)
        self.encoders: dict[str, Callable[[Any], Any]] = {}
        for name, bind in self.compiled.binds.items():
            encoder = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if encoder is not None:
                self.encoders[name] = encoder
        self.decoders: list[tuple[int, Callable[[Any], Any]]] = []
        for index, column in enumerate(statement.selected_columns):
            decoder = _decoder(column.type, dialect)
            if decoder is not None:
                self.decoders.append((index, decoder))

    def arguments(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL with its expanding lists rendered for `params`, and the positional values
        as SQLAlchemy would send them."""
        state = self.compiled.construct_expanded_state(params)
        assert state.positiontup is not None  # a positional paramstyle (qmark)
        encoders = state.processors or self.encoders
        if state.processors:
            encoders = {**self.encoders, **state.processors}
        values = state.parameters
        return state.statement, [
            encoders[name](values[name]) if name in encoders else values[name]
            for name in state.positiontup
        ]


def _decoder(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """What SQLAlchemy applies to a raw value of a column of `type_` read from `dialect`."""
    processor = type_.dialect_impl(dialect).result_processor(dialect, None)
    if processor is None:
        return None
    if isinstance(type_, DateTime) or isinstance(getattr(type_, "impl", None), DateTime):
        return _memoised(processor)
    return processor  # type: ignore[no-any-return]


def _memoised(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    cached = lru_cache(maxsize=MEMO_SIZE)(processor)

    def decode(value: Any) -> Any:
        if value is None:
            return processor(value)
        try:
            return cached(value)
        except TypeError:  # an unhashable raw value: decoded as it is
            return processor(value)

    return decode


async def rows(
    session: AsyncSession, statement: Statement, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows of `statement` with `params`, each a tuple of decoded values, read in the
    session's transaction (begun here if none is open, as any statement of the session
    would)."""
    connection = await session.connection()
    if not _fast(connection.dialect):
        return [tuple(row) for row in await connection.execute(statement.statement, params)]
    return await _sqlite_rows(connection, statement, params)


def _fast(dialect: Dialect) -> bool:
    return dialect.name == "sqlite" and dialect.driver == "aiosqlite"


async def _sqlite_rows(
    connection: AsyncConnection, statement: Statement, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """`statement` on aiosqlite in one hand-off to its thread (`execute_fetchall`)."""
    dialect = connection.dialect
    compiled = statement.compiled(dialect)
    sql, arguments = compiled.arguments(params)
    raw = await connection.get_raw_connection()
    try:
        found = await raw.driver_connection.execute_fetchall(sql, arguments)  # type: ignore[union-attr]
    except sqlite3.Error as error:
        raise DBAPIError.instance(sql, arguments, error, sqlite3.Error, dialect=dialect) from error
    decoders = compiled.decoders
    if not decoders:
        return [tuple(row) for row in found]
    result = []
    for row in found:
        values = list(row)
        for index, decode in decoders:
            values[index] = decode(values[index])
        result.append(tuple(values))
    return result
