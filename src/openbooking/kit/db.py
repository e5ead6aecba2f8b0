"""Engine, sessions and the column types every model shares."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections import deque
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import JSON, DateTime, Engine, bindparam, event, inspect, make_url
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidatePoolError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_, greenlet_spawn

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Mapping, Sequence

    from sqlalchemy.engine import Connection, Dialect
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

SQLITE_BUSY_TIMEOUT_MS = 5000
POOL_TIMEOUT_SECONDS = SQLITE_BUSY_TIMEOUT_MS / 1000  # a wait for a PostgreSQL connection
# A PostgreSQL connection given back to the pool this recently is reused without a ping.
PING_AFTER_IDLE_SECONDS = 1.0
IMMEDIATE_OPTION = "openbooking_immediate"
SQLITE_DIALECT = sqlite.dialect()
PG_DIALECT = asyncpg.dialect()  # type: ignore[no-untyped-call] # SQL and values for the session's own asyncpg connection


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    PostgreSQL stores `timestamptz`; SQLite has no time zones and hands back naive values, so this
    type refuses naive input and re-attaches UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _sqlite_utc_text(value: datetime) -> str:
    """What `UTCDateTime` and SQLite's `DATETIME` make of `value` together (UTC, as text:
    `2026-03-29 01:30:00.000000`), in one step instead of their two: a booking writes five."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # str() is isoformat(" ") and half the cost of naming the microseconds: it leaves them out
    # when they are 0, and ends with the offset, "+00:00".
    text = str(value)[:-6]
    return text if value.microsecond else text + ".000000"


def bind_processor(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """What SQLAlchemy applies to a value of `type_` it sends to `dialect` (None: nothing);
    for `UTCDateTime` on SQLite, `_sqlite_utc_text`, the same text in one step."""
    if dialect.name == "sqlite" and isinstance(type_, UTCDateTime):
        return _sqlite_utc_text
    process: Callable[[Any], Any] | None = type_.dialect_impl(dialect).bind_processor(dialect)
    if dialect.name == "sqlite" and isinstance(type_, JSON) and process is not None:
        return partial(_json_text, process)
    return process


def _json_text(process: Callable[[Any], Any], value: Any) -> Any:
    """A JSON column's text on SQLite: an empty object, as most are, without the serializer."""
    return "{}" if value == {} else process(value)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # Transactions are begun by `_sqlite_begin`, so that writers can take the lock up front.
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Connection) -> None:
    """SQLite upgrades a read transaction to a write one by failing ("database is locked") when
    another writer got there first; write transactions therefore start with BEGIN IMMEDIATE,
    which waits for the lock (busy_timeout) instead.

    Sent straight to aiosqlite in one hand-off to its thread (`exec_driver_sql` makes three:
    cursor, execute, close), about 0.2–0.5 ms of CPU less per request; a refusal is raised as
    SQLAlchemy's OperationalError, as `exec_driver_sql` would."""
    immediate = connection.get_execution_options().get(IMMEDIATE_OPTION, False)
    statement = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    aiosqlite_connection: Any = connection.connection.driver_connection
    try:
        await_(aiosqlite_connection.execute_fetchall(statement))
    except sqlite3.Error as exc:
        raise OperationalError(statement, None, exc) from exc


def _private_sqlite_file(url: str) -> None:
    """Create a new SQLite file readable by its owner only (mode 0600): it holds customers'
    phones and names. SQLite gives its -wal and -shm files the mode of the database file."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return
    with suppress(FileExistsError):  # another process created it first
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def plain_insert_sql(
    table: Any,
    columns: Sequence[str],
    *,
    returning: str | None = None,
    dialect: Dialect = SQLITE_DIALECT,
) -> str:
    """`INSERT INTO table (columns) VALUES (…)` for a driver's own connection (SQLite's
    writer, `kit.sqlite_writer`; PostgreSQL's asyncpg connection, `DriverConnection`),
    optionally `RETURNING` one column, compiled once by SQLAlchemy from `table` (a Table);
    `columns` in the table's order, the order SQLAlchemy places them in."""
    statement = table.insert().values({name: bindparam(name) for name in columns})
    if returning is not None:
        statement = statement.returning(table.c[returning])
    compiled = statement.compile(dialect=dialect)
    if tuple(compiled.positiontup or ()) != tuple(columns):  # the values are sent in this order
        raise ValueError(f"columns of {table.name} not in the table's order: {columns}")
    return str(compiled)


def encoder(
    table: Any, columns: Sequence[str], dialect: Dialect = SQLITE_DIALECT
) -> Callable[[Any], tuple[Any, ...]]:
    """The values of `columns` of a transient ORM object of `table`, as the ORM sends them to
    the database: None where the column has a Python default becomes that default (the ORM
    leaves such a column out of its INSERT, the default fills it in, and the object gets it),
    then each value goes through its column type's own bind processor for `dialect`
    (datetimes as SQLAlchemy's text on SQLite, JSON, booleans)."""
    steps: list[tuple[str, bool, Any, Any, Any]] = []
    for name in columns:
        column = table.c[name]
        default = column.default
        scalar = default is not None and default.is_scalar
        make = default.arg if default is not None and default.is_callable else None
        process = bind_processor(column.type, dialect)
        steps.append((name, scalar, default.arg if scalar else None, make, process))

    def encode(item: Any) -> tuple[Any, ...]:
        # The object's own dict, where the ORM keeps what was set: reading and setting through
        # the attributes (their events, the defaults of unset ones) cost 65 µs for a record.
        held = item.__dict__
        values = []
        for name, scalar, fixed, make, process in steps:
            value = held.get(name)
            if value is None and (scalar or make is not None):
                value = fixed if scalar else make(None)  # SQLAlchemy's wrapper takes a context
                held[name] = value  # as the ORM's flush leaves it on the object
            values.append(value if process is None or value is None else process(value))
        return tuple(values)

    return encode


Model = TypeVar("Model")


def bare_instance(model: type[Model]) -> Model:
    """A new instance of the mapped class `model` with nothing set, made without its
    constructor (which sends every value through its attribute's events): what the ORM makes
    before it fills in a loaded row. The caller fills its `__dict__`."""
    manager = _CLASS_MANAGERS.get(model)
    if manager is None:  # asked once per class: `inspect` takes about 2 µs a time
        manager = _CLASS_MANAGERS[model] = inspect(model).class_manager
    instance: Model = manager.new_instance()
    return instance


_CLASS_MANAGERS: dict[type, Any] = {}


def fill(instance: Any, **values: Any) -> None:
    """Set values on an instance made by `bare_instance` that no session will hold, in its
    `__dict__` as its maker filled it: set through the attributes, each value goes through
    their events (about 2 µs a value), which only a session reads."""
    instance.__dict__.update(values)


class DriverConnection:
    """A request's asyncpg connection (the session's, or the one its unit of work leased:
    `autocommit_adapter`): statements sent straight to asyncpg (its prepared-statement cache),
    without SQLAlchemy's execution layer, each about a tenth of the CPU of the same statement
    through the ORM. In the session's transaction when one is open (`kit.fastread`), else each
    statement commits by itself (`UnitOfWork.statement_connection`).
    Errors are raised as SQLAlchemy raises them (`IntegrityError`, `DBAPIError` with the
    driver's error as `orig`), so that `lost_race` reads them as it reads the ORM's."""

    __slots__ = ("_adapted", "_connection")

    def __init__(self, adapted: Any) -> None:
        self._adapted = adapted  # SQLAlchemy's adapter of the asyncpg connection
        self._connection = adapted.driver_connection

    async def fetchval(self, sql: str, arguments: Sequence[Any]) -> Any:
        try:
            return await self._connection.fetchval(sql, *arguments)
        except Exception as error:
            raise self._translated(error, sql) from error

    async def fetch(self, sql: str, arguments: Sequence[Any]) -> list[Any]:
        """The rows, as asyncpg's records (sequences of the driver's values)."""
        try:
            return await self._connection.fetch(sql, *arguments)  # type: ignore[no-any-return]
        except Exception as error:
            raise self._translated(error, sql) from error

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many rows, pipelined in one round trip (asyncpg ≥ 0.22)."""
        if not rows:
            return
        try:
            await self._connection.executemany(sql, rows)
        except Exception as error:
            raise self._translated(error, sql) from error

    def _translated(self, error: Exception, sql: str) -> BaseException:
        dbapi = self._adapted.dbapi
        try:
            self._adapted._handle_exception(error)  # raises the adapter's DB-API error
        except dbapi.Error as translated:
            wrapped: BaseException = DBAPIError.instance(sql, None, translated, dbapi.Error)
            return wrapped
        except Exception as other:
            return other
        return error  # pragma: no cover - _handle_exception always raises


@dataclass(frozen=True, slots=True)
class Insert:
    """Rows of one table for a PostgreSQL statement that writes several tables at once:
    `INSERT INTO table (columns)` and each row's values, encoded (`encoder`)."""

    head: str
    rows: list[tuple[Any, ...]]


def insert_head(table: Any, columns: Sequence[str]) -> str:
    """`INSERT INTO table (columns)` for PostgreSQL, as `plain_insert_sql` compiles it."""
    return plain_insert_sql(table, columns, dialect=PG_DIALECT).partition(" VALUES ")[0]


def values_sql(width: int, count: int, first: int, fixed: Mapping[int, str] | None = None) -> str:
    """`($first, …), (…)`: `count` rows of `width` positional values for PostgreSQL, numbered
    on from `first`, where `fixed` may give a column (by index) an SQL expression instead."""
    fixed = fixed or {}
    rows, number = [], first
    for _ in range(count):
        values = []
        for index in range(width):
            if index in fixed:
                values.append(fixed[index])
            else:
                values.append(f"${number}")
                number += 1
        rows.append(f"({', '.join(values)})")
    return ", ".join(rows)


_ADAPTED_KEY = "openbooking_adapted"  # in `Session.info`: (its transaction, the adapter)
# The `UnitOfWork` that ends each session, while it has one.
_WORKS: WeakKeyDictionary[Session, UnitOfWork] = WeakKeyDictionary()


async def adapted_connection(session: AsyncSession) -> Any:
    """SQLAlchemy's adapter of the DBAPI connection that the session's transaction holds
    (begun here if none is open), remembered for that transaction: asking the session again
    costs a greenlet and its transaction's bookkeeping each time, about a tenth of a
    PostgreSQL booking's CPU for its three asks."""
    adapted = _remembered(session)
    if adapted is None:
        connection = await session.connection()
        adapted = (await connection.get_raw_connection()).dbapi_connection
        sync = session.sync_session
        sync.info[_ADAPTED_KEY] = (sync.get_transaction(), adapted)
    return adapted


async def autocommit_adapter(session: AsyncSession) -> Any:
    """PostgreSQL: SQLAlchemy's adapter of a connection for statements that commit by
    themselves (sent outside a transaction). The session's transaction's connection when one
    is open (`adapted_connection`). Else, when a `UnitOfWork` ends the session, one it leases
    from the pool without beginning anything (`UnitOfWork.leased`): a session's transaction
    costs its checkout and its close (SQLAlchemy's connection, transaction and shielded
    close), 0.17–0.21 ms of CPU against 0.03–0.06 ms for the lease (measured in a loop), which
    a request whose every statement goes to the driver has no use for."""
    sync = session.sync_session
    work = _WORKS.get(sync)
    if work is None or sync.in_transaction():
        return await adapted_connection(session)
    return await work.leased()


def _remembered(session: AsyncSession) -> Any:
    """The adapter `adapted_connection` remembered for the session's transaction, while it is
    active; else None."""
    sync = session.sync_session
    found = sync.info.get(_ADAPTED_KEY)
    transaction = sync.get_transaction()
    if transaction is not None and transaction.is_active and found and found[0] is transaction:
        return found[1]
    return None


def _needs_commit(session: AsyncSession) -> bool:
    """Whether ending the session's transaction may have something to commit: changes not yet
    flushed, or a transaction open on its connection. False when it holds a PostgreSQL
    connection (`adapted_connection`) on which every statement committed by itself."""
    if session.new or session.dirty or session.deleted:
        return True
    adapted = _remembered(session)
    return adapted is None or bool(adapted.driver_connection.is_in_transaction())


def reads_committed(session: AsyncSession) -> bool:
    """PostgreSQL at READ COMMITTED (its default; nothing here changes it): every statement
    sees what was committed before it started, so a write after reads in the same transaction
    sees what it would see in a new one."""
    engine = session.get_bind()
    return (
        isinstance(engine, Engine)
        and engine.dialect.name == "postgresql"
        and engine.dialect.default_isolation_level == "READ COMMITTED"
        and "isolation_level" not in engine.get_execution_options()
    )


def engine_of(session: AsyncSession) -> Engine | None:
    """The engine `session` is bound to (directly or through one of its connections); None
    when it is unbound. Read from the sync session: `AsyncSession.bind` maps the bind back to
    its asyncio object through a map it builds once per session, a few µs of every request."""
    bind = session.sync_session.bind
    return None if bind is None else bind.engine


def create_engine(url: str, *, echo: bool = False, pool_size: int | None = None) -> AsyncEngine:
    """`pool_size` (PostgreSQL): the connections kept open, and the most open at once. A
    request that finds them all in use waits for one, up to `POOL_TIMEOUT_SECONDS` (then
    SQLAlchemy's `TimeoutError`, a 503): opening a connection for a burst and closing it after
    one use (SQLAlchemy's overflow) cost PostgreSQL a process and an authentication each time,
    hundreds a minute under load. A connection is checked before each reuse
    (`_ping_before_reuse`)."""
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite(url):
        _private_sqlite_file(url)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs |= {"max_overflow": 0, "pool_timeout": POOL_TIMEOUT_SECONDS}
        if pool_size is not None:
            kwargs["pool_size"] = pool_size
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    else:
        event.listen(engine.sync_engine, "connect", _new_connection)
        event.listen(engine.sync_engine, "checkout", _ping_before_reuse(engine.dialect))
        event.listen(engine.sync_engine, "checkin", _given_back)
    return engine


def _new_connection(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["unused"] = True


def _given_back(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["given_back"] = time.monotonic()


def _ping_before_reuse(dialect: Dialect) -> Callable[[Any, ConnectionPoolEntry, Any], None]:
    """Whether a kept connection still works, checked before its reuse:

    - One given back to the pool less than `PING_AFTER_IDLE_SECONDS` ago worked then. Unless
      asyncpg knows it closed (the server's goodbye after a restart or `pg_terminate_backend`,
      read by the event loop within milliseconds), it is used as it is, with no round trip:
      under load that is nearly every reuse, and the ping was one round trip of every
      request's two to five.
    - Any other is pinged, as `pool_pre_ping` does but in one round trip instead of its three
      (BEGIN, the ping, ROLLBACK): `SELECT 1` in the simple query protocol (nothing prepared,
      so it suits pgbouncer too). One the server closed, or dropped without a word (a
      firewall, a NAT's timeout), fails it.

    A closed connection is replaced, and so is every connection opened before it; any other
    error of the ping is raised. A new connection is not checked."""

    def ping(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        if record.info.pop("unused", False):
            return
        driver = dbapi_connection.driver_connection
        if time.monotonic() - record.info.get("given_back", 0.0) < PING_AFTER_IDLE_SECONDS:
            if driver.is_closed():
                raise InvalidatePoolError("the server closed the connection")
            return
        try:
            try:
                await_(driver.execute("SELECT 1"))
            except Exception as error:
                dbapi_connection._handle_exception(error)  # raises the adapter's DB-API error
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            raise InvalidatePoolError(f"ping failed: {error}") from error

    return ping


class DatabaseBusy(Exception):
    """A writer waited the whole busy timeout for its turn (overload): answered with 503."""


class WriterQueue:
    """The writers of one process on one SQLite database, served in arrival order.

    SQLite's own busy handler polls with sleeps of up to 100 ms and wakes nobody when the lock
    frees, so 64 waiting writers left the server half idle; writers therefore queue here before
    BEGIN IMMEDIATE, and the turn is held until the session's transaction ends (commit,
    rollback or close). Other processes still meet at SQLite's lock.

    A waiter gives up (503) only when the queue has not moved for `patience` seconds: a writer
    stuck that long is an outage, while a long queue that keeps moving is load, and every
    writer in it gets its turn.

    The turn passes straight to the next writer in line, and passing it costs the same however
    long the line: a waiter's deadline is its arrival or the queue's last move, whichever is
    later, plus `patience`, and one timer per queue (not one per waiter, re-armed at every
    move) fails those past it, front first.
    """

    def __init__(self) -> None:
        self._held = False
        self._line: deque[tuple[float, asyncio.Future[None]]] = deque()  # (arrival, waiter)
        self._moved = 0.0  # when the turn last passed (time.monotonic)
        self._patience = 0.0
        self._watch: asyncio.TimerHandle | None = None

    def locked(self) -> bool:
        """Whether a writer holds the turn."""
        return self._held

    async def acquire(self, patience: float) -> None:
        self._patience = patience
        if not self._held:  # nobody holds it, so nobody waits for it
            self._held = True
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._line.append((time.monotonic(), waiter))
        if self._watch is None:
            self._watch = loop.call_later(patience, self._check)
        try:
            await waiter
        except asyncio.CancelledError:
            # Handed the turn (or refused) just as the caller stopped waiting: pass it on.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release()
            raise

    def release(self) -> None:
        """Pass the turn to the next writer in line; the queue moved."""
        self._moved = time.monotonic()
        line = self._line
        while line:
            _, waiter = line.popleft()
            if not waiter.done():  # not cancelled nor refused meanwhile
                waiter.set_result(None)
                return
        self._held = False

    def _check(self) -> None:
        """Refuse the writers in line whose deadline passed, and wake again at the next one."""
        self._watch = None
        now = time.monotonic()
        line = self._line
        while line:
            arrived, waiter = line[0]
            due = max(arrived, self._moved) + self._patience
            if not waiter.done() and due > now:
                self._watch = asyncio.get_running_loop().call_later(due - now, self._check)
                return
            line.popleft()
            if not waiter.done():
                waiter.set_exception(DatabaseBusy())


_WRITER_QUEUES: WeakKeyDictionary[Engine, WriterQueue] = WeakKeyDictionary()
_HELD = "openbooking_writer_turn"


def writer_queue(engine: Engine) -> WriterQueue:
    """The process's writer turn on a SQLite engine (shared with `kit.sqlite_writer`)."""
    return _WRITER_QUEUES.setdefault(engine, WriterQueue())


async def begin_write(session: AsyncSession) -> None:
    """Start the session's transaction as a writer (BEGIN IMMEDIATE on SQLite; no-op otherwise).

    Called before the statements of a transaction that reads and then writes; a read
    transaction already open is ended first (it wrote nothing).
    """
    if session.in_transaction():
        await session.commit()
    engine = session.get_bind()
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        await session.connection(execution_options={IMMEDIATE_OPTION: True})
        return
    queue = writer_queue(engine)
    await queue.acquire(SQLITE_BUSY_TIMEOUT_MS / 1000)
    session.info[_HELD] = queue
    try:
        await session.connection(execution_options={IMMEDIATE_OPTION: True})
    except BaseException:
        session.info.pop(_HELD).release()
        raise


def keeps_writes(error: BaseException) -> bool:
    """Whether a request that failed with `error` still commits what it wrote: refusals that
    must be remembered (a wrong SMS code counts against the phone; a throttle) say so with a
    true `keeps_writes` class attribute."""
    return bool(getattr(error, "keeps_writes", False))


class UnitOfWork:
    """The database work of a request (or of a CLI command) in one session.

    Transactions end only here. The request edge calls `finish` once the handler is done:
    commit on success and on errors that `keeps_writes`, roll back on any other error. A few
    flows need a step to be durable before they go on, and say so by name: `checkpoint` (an
    idempotency claim other requests must see; a code stored before its SMS leaves) and
    `discard` (drop a failed step's writes, then record the failure in a fresh transaction).
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._lease: PoolProxiedConnection | None = None
        _WORKS[session.sync_session] = self

    async def leased(self) -> Any:
        """PostgreSQL: the adapter of a pool connection held for this work outside the
        session (`autocommit_adapter`), on which nothing is begun: each statement commits by
        itself. Given back when the work ends, or when the session begins a transaction
        (`_give_back_lease`), so that a request never holds two connections of the pool (all
        of them held by requests each waiting for a second would stall the process)."""
        if self._lease is None:
            engine = engine_of(self.session)
            if engine is None:
                raise RuntimeError("the session is bound to no engine")
            self._lease = await greenlet_spawn(engine.raw_connection)
        return self._lease.dbapi_connection

    def give_back_lease(self) -> None:
        """The leased connection back to the pool. Nothing was begun on it, so its reset sends
        nothing (SQLAlchemy's adapter rolls back only a transaction it began)."""
        lease, self._lease = self._lease, None
        if lease is not None:
            lease.close()

    async def write(self) -> AsyncSession:
        """Make the current transaction a writer's (see `begin_write`)."""
        await begin_write(self.session)
        return self.session

    async def checkpoint(self) -> None:
        """Commit what is done so far: a step that must be durable before the request goes
        on, or a read ended so that no connection (nor SQLite snapshot) is held across slow
        work such as argon2. The next statement, or `write()`, begins anew; loaded objects stay
        usable (sessions do not expire them on commit). A leased connection goes back too."""
        self.give_back_lease()
        await self.session.commit()

    async def statement_connection(self) -> DriverConnection:
        """PostgreSQL: an asyncpg connection with no transaction open (`autocommit_adapter`),
        so that a statement sent on it commits by itself, wholly or not at all (PostgreSQL runs
        a statement sent outside a transaction as one). A transaction the session has begun on
        its connection is committed first, as `checkpoint` does: what the request read, or
        wrote and must keep."""
        for _ in range(2):
            adapted = await autocommit_adapter(self.session)
            if not adapted.driver_connection.is_in_transaction():
                return DriverConnection(adapted)
            await self.checkpoint()
        raise RuntimeError("the session's PostgreSQL connection stays in a transaction")

    async def discard(self) -> None:
        self.give_back_lease()  # its statements committed by themselves: nothing to undo
        await self.session.rollback()

    async def finish(self, error: BaseException | None) -> None:
        if error is None or keeps_writes(error):
            if not has_work(self.session) or not _needs_commit(self.session):
                # A commit would end an empty transaction, or one whose statements committed
                # by themselves (`close` gives its connection back): 0.1 ms of nothing.
                return
            await self.session.commit()
        elif self.session.in_transaction():  # without one, a rollback has nothing to undo
            await self.session.rollback()

    async def close(self) -> None:
        """Close the session, as `async with session` does (its connection back to the pool,
        its objects detached), unless it holds nothing: no transaction (hence no connection,
        nothing pending) and no objects. Closing such a session changes nothing, yet
        `AsyncSession.close` would still cost a task (the shielded close) and a greenlet."""
        self.give_back_lease()
        session = self.session
        if session.in_transaction() or session.identity_map:
            await session.__aexit__(None, None, None)  # the shielded close of `async with`
        session.sync_session.info.pop(_ADAPTED_KEY, None)  # its transaction is over
        _WORKS.pop(session.sync_session, None)

    async def end(self, error: BaseException | None) -> None:
        """`finish`, then `close`, even when finishing fails (the close then rolls back)."""
        try:
            await self.finish(error)
        finally:
            await self.close()


def has_work(session: AsyncSession) -> bool:
    """Whether the session has a transaction open or changes not yet flushed. Neither holds
    after a read made outside a transaction (`kit.fastread` on SQLite): every `book_times`,
    and a booking's plan before its write (whose end would cost an empty commit).
    Objects deleted or changed are persistent ones, in the identity map: with none there, the
    two sets are not built."""
    return bool(
        session.in_transaction()
        or session.new
        or (session.identity_map and (session.deleted or session.dirty))
    )


# Sessions that ended their request holding nothing, by sessionmaker: the next request takes
# one (`session_of`) instead of making one. A closed session may be used again (SQLAlchemy's
# `close_resets_only`); one that held nothing is as new. Making an `AsyncSession` costs about
# 5 µs, several times that inside a request: about 5 % of `book_times`.
_SPARE: WeakKeyDictionary[async_sessionmaker[AsyncSession], list[AsyncSession]] = (
    WeakKeyDictionary()
)
SPARE_SESSIONS = 64  # kept per sessionmaker: more than the requests a process serves at once


def session_of(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncSession:
    """A session for a request: a spare one (`give_back`), else a new one."""
    spare = _SPARE.get(sessionmaker)
    return spare.pop() if spare else sessionmaker()


def give_back(sessionmaker: async_sessionmaker[AsyncSession], work: UnitOfWork) -> None:
    """The session of `work`, ended (`UnitOfWork.end`) and no longer used by anyone, for a later
    request, when it holds nothing: no transaction, no objects, nothing in its `info`."""
    session = work.session
    sync = session.sync_session
    if sync.in_transaction() or sync.identity_map or sync.info or session.new:
        return
    spare = _SPARE.get(sessionmaker)
    if spare is None:
        spare = _SPARE[sessionmaker] = []
    if len(spare) < SPARE_SESSIONS:
        spare.append(session)


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[UnitOfWork]:
    work = UnitOfWork(sessionmaker())
    try:
        yield work
    except BaseException as exc:
        await work.end(exc)
        raise
    await work.end(None)


@event.listens_for(Session, "after_transaction_create")
def _give_back_lease(session: Session, transaction: SessionTransaction) -> None:
    """A session beginning its transaction, before it takes a connection: its work's leased
    connection goes back first (`UnitOfWork.leased`)."""
    if transaction.parent is None and (work := _WORKS.get(session)) is not None:
        work.give_back_lease()


@event.listens_for(Session, "after_transaction_end")
def _release_writer_lock(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and (queue := session.info.pop(_HELD, None)) is not None:
        queue.release()


def lost_race(exc: DBAPIError) -> bool:
    """Whether a write failed because a concurrent transaction wrote a conflicting row.

    Either a constraint refused it (IntegrityError), or PostgreSQL aborted it as a deadlock
    (SQLSTATE 40P01): an exclusion constraint is checked after the index entry is inserted, so
    two transactions inserting overlapping rows can each wait for the other, and the deadlock
    detector aborts one of them instead of raising the violation (see the comment at the top of
    PostgreSQL's src/backend/executor/execIndexing.c).
    """
    return isinstance(exc, IntegrityError) or getattr(exc.orig, "sqlstate", None) == "40P01"


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def utcnow() -> datetime:
    return datetime.now(UTC)
