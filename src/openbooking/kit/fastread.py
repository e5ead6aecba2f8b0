"""Hot read statements in one hand-off to the driver, their rows as plain tuples.

A statement run through the ORM session on SQLite costs about four hand-offs to aiosqlite's
thread (cursor, execute, fetch, close) plus SQLAlchemy's result machinery, about 0.4 ms of CPU
however small the query, and every row's datetimes go through `kit.db.UTCDateTime` again
(about 4 µs a row). `rows` runs a statement compiled once per dialect on the session's own
connection, inside its transaction (begun as SQLAlchemy begins it), with SQLAlchemy's own bind
processing, and on SQLite in one call of aiosqlite's thread (`execute_fetchall`). Each column
has the decoder of the processor SQLAlchemy would apply to it, applied by the caller to what
it uses; datetimes are remembered by raw value (ISO strings on SQLite, which recur: the same
instants come back request after request), so a row costs a couple of dictionary look-ups.
On PostgreSQL (asyncpg) the statement goes straight to the session's asyncpg connection
(`kit.db.DriverConnection`: asyncpg's prepared-statement cache, errors raised as SQLAlchemy
raises them), inside the transaction when one is open. When none is, at READ COMMITTED (the
default, `kit.db.reads_committed`), it runs alone, which sees what the first statement of a new
transaction would: a read-only request sends no BEGIN and no COMMIT, and its statements go on a
connection its unit of work leases from the pool without a session transaction
(`kit.db.autocommit_adapter`). At any other isolation level the read takes SQLAlchemy's path,
which begins the transaction.

A read that would begin the request's transaction (the session has none open) needs no
transaction on a SQLite file in WAL mode: one statement reads one consistent snapshot by itself.
Such reads go to a plain `sqlite3` connection of this process, opened once per engine pool and
thread, read-only (`query_only`), and run synchronously on the event loop: a WAL reader never
waits for a writer, and the statement costs tens of microseconds where the three hand-offs to
aiosqlite's thread (BEGIN, the statement, ROLLBACK) cost about a millisecond of CPU. The session
then has begun nothing, so the request's end has nothing to roll back. The connection never
waits (busy timeout 0): in the rare moments a WAL reader is refused (recovery, a checkpoint
resetting the log), the read takes the session's path instead. Reads inside an open
transaction (a writer's, or after any other statement of the request) stay on the session's
connection and see its snapshot and its own writes.

Only for SELECTs whose every value is decoded by its column's type (no ORM entities).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from sqlalchemy import DateTime, event
from sqlalchemy.exc import DBAPIError

from openbooking.kit import db

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sqlalchemy import Pool, Select
    from sqlalchemy.engine import Dialect
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.sql.expression import CompoundSelect

# Raw datetimes remembered per statement, dialect and column, about 170 bytes each (2.8 MB when
# full; a month of one location's 15-minute grid is about 3,000 instants); the memo starts over
# when full.
MEMO_SIZE = 16_384


class Decoder:
    """Turns a column's raw values into what SQLAlchemy gives for them (its own result
    processor). Datetimes are remembered by raw value: a hot loop may try `memo.get(raw)`
    first (a datetime is never false) and call the decoder only when that gives nothing."""

    __slots__ = ("memo", "process", "remember")

    def __init__(self, process: Callable[[Any], Any] | None, *, remember: bool) -> None:
        self.memo: dict[Any, Any] = {}
        self.process = process
        self.remember = remember and process is not None

    def __call__(self, raw: Any) -> Any:
        if self.process is None or raw is None:
            return raw if self.process is None else self.process(raw)
        value = self.memo.get(raw) if self.remember else None
        if value is None:
            value = self.process(raw)
            if self.remember:
                if len(self.memo) >= MEMO_SIZE:
                    self.memo.clear()
                self.memo[raw] = value
        return value


AS_READ = Decoder(None, remember=False)  # values the driver decoded already


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
            encoder = db.bind_processor(bind.type, dialect)
            if encoder is not None:
                self.encoders[name] = _remembering(encoder) if _is_datetime(bind.type) else encoder
        self.decoders = [_decoder(column.type, dialect) for column in statement.selected_columns]
        self.expanding = tuple(name for name, bind in self.compiled.binds.items() if bind.expanding)
        self._plans: dict[tuple[int, ...], _Plan] = {}

    def arguments(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL with its expanding lists rendered for `params`, and the positional values
        as SQLAlchemy would send them. SQLAlchemy renders the lists anew on every call (about
        0.2 ms for a handful of ids); here that is done once per shape (the lengths of the
        lists), and later calls only pick and encode the values."""
        shape = tuple(len(params[name]) for name in self.expanding)
        plan = self._plans.get(shape)
        if plan is None:
            sql, positional = self._expanded(params)
            plan = _Plan(sql, self._picks(params))
            if plan.values(params) != positional:  # not as expected: never take the shortcut
                return sql, positional
            if len(self._plans) < PLANS:
                self._plans[shape] = plan
        return plan.sql, plan.values(params)

    def _expanded(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """What SQLAlchemy itself renders and sends for `params`."""
        state = self.compiled.construct_expanded_state(params)
        assert state.positiontup is not None  # a positional paramstyle (qmark)
        encoders = {**self.encoders, **state.processors} if state.processors else self.encoders
        values = state.parameters
        return state.statement, [
            encoders[name](values[name]) if name in encoders else values[name]
            for name in state.positiontup
        ]

    def _picks(self, params: Mapping[str, Any]) -> list[tuple[str, int | None, Any]]:
        """Per position: the parameter, the index in its list (None for a plain value), and
        the encoder; a value bound in the statement itself comes as (``""``, None, value)."""
        state = self.compiled.construct_expanded_state(params)
        assert state.positiontup is not None
        picks: list[tuple[str, int | None, Any]] = []
        for name in state.positiontup:
            if name in params and name not in self.expanding:
                picks.append((name, None, self.encoders.get(name)))
                continue
            base, _, index = name.rpartition("_")
            if base in self.expanding and index.isdigit():
                expanded = state.processors.get(name) if state.processors else None
                picks.append((base, int(index) - 1, expanded or self.encoders.get(base)))
            else:  # bound in the statement: its value, encoded once
                value = state.parameters[name]
                own = self.encoders.get(name)
                picks.append(("", None, own(value) if own else value))
        return picks


PLANS = 64  # rendered shapes kept per compiled statement


class _Plan:
    """A statement rendered for one shape of its lists, and where each value comes from."""

    __slots__ = ("picks", "sql")

    def __init__(self, sql: str, picks: list[tuple[str, int | None, Any]]) -> None:
        self.sql = sql
        self.picks = picks

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        values: list[Any] = []
        for name, index, encoder in self.picks:
            if not name:
                values.append(encoder)
                continue
            value = params[name] if index is None else params[name][index]
            values.append(encoder(value) if encoder is not None else value)
        return values


def _decoder(type_: Any, dialect: Dialect) -> Decoder:
    """What SQLAlchemy applies to a raw value of a column of `type_` read from `dialect`."""
    process = type_.dialect_impl(dialect).result_processor(dialect, None)
    return Decoder(process, remember=_is_datetime(type_))


def _is_datetime(type_: Any) -> bool:
    return isinstance(type_, DateTime) or isinstance(getattr(type_, "impl", None), DateTime)


def _remembering(encode: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`encode` (a datetime's bind processor), remembering what it gave per value: a request's
    bounds are the same few instants request after request, and each encoding is a time zone
    conversion and a formatting (about 1 µs). Equal datetimes are the same instant, which the
    processor writes the same way (in UTC); a value it refuses is never remembered."""
    memo: dict[Any, Any] = {}

    def remembered(value: Any) -> Any:
        found = memo.get(value)
        if found is None:
            found = encode(value)
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[value] = found
        return found

    return remembered


class _Readers:
    """The plain `sqlite3` connections of one engine pool, one per thread using it (an event
    loop's thread: a connection is used only between two awaits, so never by two at once)."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.local = threading.local()
        self.opened: list[sqlite3.Connection] = []  # every thread's, closed with the pool

    def close(self) -> None:
        """Close every thread's connection (the engine is disposed: its files may go)."""
        opened, self.opened = self.opened, []
        self.local = threading.local()
        for connection in opened:
            connection.close()

    def get(self) -> sqlite3.Connection | None:
        """This thread's connection; None when the file is not in WAL mode (a reader could
        then wait for a writer's lock) or cannot be opened."""
        found: sqlite3.Connection | None = getattr(self.local, "connection", None)
        if found is None:
            # Not remembered when missing: the engine's first connection turns WAL on.
            found = self.local.connection = self._open()
        return found

    def _open(self) -> sqlite3.Connection | None:
        try:
            # mode=rw: never create the file (the engine creates it, privately)
            uri = f"{Path(self.database).resolve().as_uri()}?mode=rw"
            connection = sqlite3.connect(
                uri, timeout=0, isolation_level=None, check_same_thread=False, uri=True
            )
        except (sqlite3.Error, ValueError):
            return None
        try:
            mode = connection.execute("PRAGMA journal_mode").fetchone()
            connection.execute("PRAGMA query_only=ON")
        except sqlite3.Error:
            mode = None
        if mode is None or str(mode[0]).lower() != "wal":
            connection.close()
            return None
        self.opened.append(connection)
        return connection


# Per pool, not per engine: `engine.dispose()` replaces the pool, and with it these connections.
_readers: WeakKeyDictionary[Pool, _Readers | None] = WeakKeyDictionary()


def _reader(session: AsyncSession, dialect: Dialect) -> sqlite3.Connection | None:
    """A plain connection for a read that would begin the session's transaction, or None."""
    if dialect.name != "sqlite" or dialect.driver != "aiosqlite" or session.in_transaction():
        return None
    engine = db.engine_of(session)
    if engine is None:
        return None
    pool = engine.pool
    try:
        readers = _readers[pool]
    except KeyError:
        database = engine.url.database or ""
        private = database in {"", ":memory:"} or database.startswith("file:")
        readers = _readers[pool] = None if private or engine.url.query else _Readers(database)
        if readers is not None:
            event.listen(engine, "engine_disposed", lambda _engine: readers.close(), once=True)
    return readers.get() if readers is not None else None


async def rows(
    session: AsyncSession, statement: Statement, params: Mapping[str, Any]
) -> tuple[list[Any], list[Decoder]]:
    """The raw rows of `statement` with `params`, read in the session's transaction (begun
    here if none is open, as any statement of the session would; on a SQLite file in WAL
    mode and on PostgreSQL at READ COMMITTED, a read that would begin it is made without one
    instead, see above), and per column the decoder that turns a raw value into what
    SQLAlchemy gives (a row is a sequence of raw values; decode only what you use)."""
    engine = db.engine_of(session)
    dialect = engine.dialect if engine is not None else None
    if dialect is not None and (reader := _reader(session, dialect)) is not None:
        compiled = statement.compiled(dialect)
        sql, arguments = compiled.arguments(params)
        try:
            return reader.execute(sql, arguments).fetchall(), compiled.decoders
        except sqlite3.OperationalError:  # refused for now (busy): the session's path waits
            pass
    if dialect is not None and dialect.name == "postgresql" and dialect.driver == "asyncpg":
        adapted = await db.autocommit_adapter(session)
        if adapted.driver_connection.is_in_transaction() or db.reads_committed(session):
            compiled = statement.compiled(dialect)
            sql, arguments = compiled.arguments(params)
            found = await db.DriverConnection(adapted).fetch(sql, arguments)
            return found, compiled.decoders
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite" or dialect.driver != "aiosqlite":
        result = await connection.execute(statement.statement, params)
        found = list(result)
        return found, [AS_READ] * len(statement.statement.selected_columns)
    compiled = statement.compiled(dialect)
    sql, arguments = compiled.arguments(params)
    raw = await connection.get_raw_connection()
    try:
        found = await raw.driver_connection.execute_fetchall(sql, arguments)  # type: ignore[union-attr]
    except sqlite3.Error as error:
        raise DBAPIError.instance(sql, arguments, error, sqlite3.Error, dialect=dialect) from error
    return list(found), compiled.decoders
