"""SQLite on the event loop's own thread: an `aiosqlite` look-alike for SQLAlchemy's `aiosqlite`
dialect that runs each `sqlite3` call in place instead of handing it to a thread.

aiosqlite gives every connection a thread and sends it each call (cursor, execute, fetch,
close, commit) through a queue, waking the event loop for every answer: about 60–80 µs of
hand-offs per call, several calls per statement, against a few µs for the statement itself on
a local file. Here the calls run where they are made, so a request's statements cost what SQLite
costs, and a writer's transaction, holding its turn in `kit.db.WriterQueue`, runs from BEGIN to
COMMIT without giving the event loop to other requests in between (a transaction is as long as
its statements, not as long as the reads interleaved with them).

Nothing here may block the event loop for long: SQLite's own busy handler, which sleeps in the
calling thread while another process holds the lock, is turned off (`timeout=0`), and a call
that finds the database busy is retried here after an asynchronous pause of 1, 2, 4, … up to
50 ms, until the connection's timeout (`kit.db.SQLITE_BUSY_TIMEOUT_MS`) has passed; then the
"database is locked" error is raised as SQLite would have raised it. Only plain SQLITE_BUSY is
retried, the case where SQLite's busy handler would have been called; SQLITE_BUSY_SNAPSHOT (a read
transaction that may not become a write one) fails at once, as before.

What still runs on the loop: the statements themselves, and, every 1,000 pages written, WAL's
automatic checkpoint (which writes pages back to the database file and, with
`synchronous=NORMAL`, syncs it).
"""

from __future__ import annotations

import asyncio
import sqlite3
from sqlite3 import (
    DatabaseError,
    Error,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    sqlite_version,
    sqlite_version_info,
)
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable
    from typing import Self

__all__ = [
    "Connection",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "connect",
    "dbapi",
    "sqlite_version",
    "sqlite_version_info",
]

T = TypeVar("T")

SQLITE_BUSY = 5
SQLITE_BUSY_RECOVERY = 261  # another connection is recovering the WAL: worth waiting for
FIRST_PAUSE = 0.001
LONGEST_PAUSE = 0.05


def _busy(error: OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (SQLITE_BUSY, SQLITE_BUSY_RECOVERY)


async def _patiently(patience: float, call: Callable[..., T], *args: Any) -> T:
    """`call(*args)`, retried after asynchronous pauses while the database is busy."""
    try:
        return call(*args)
    except OperationalError as error:
        if not _busy(error) or patience <= 0:
            raise
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    pause = FIRST_PAUSE
    while True:
        await asyncio.sleep(min(pause, max(0.0, deadline - loop.time())))
        pause = min(pause * 2, LONGEST_PAUSE)
        try:
            return call(*args)
        except OperationalError as error:
            if not _busy(error) or loop.time() >= deadline:
                raise


class Cursor:
    """aiosqlite's cursor interface over a `sqlite3.Cursor`."""

    def __init__(self, connection: Connection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> Self:
        await _patiently(self._connection.timeout, self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Self:
        # A list, so that a retry after "busy" sends every row again.
        rows = list(parameters)
        await _patiently(self._connection.timeout, self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *_sizes: Any) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _InPlace:
    """Stands for aiosqlite's queue of calls to its thread, which SQLAlchemy's dialect uses
    directly to set `isolation_level`: the call runs at once."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to the awaiting caller
            future.set_exception(error)


class Connection:
    """aiosqlite's connection interface over a `sqlite3.Connection`."""

    def __init__(self, connection: sqlite3.Connection, timeout: float) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._conn = connection  # the names aiosqlite uses, which SQLAlchemy reads
        self._tx = _InPlace()
        self._thread = SimpleNamespace(daemon=True)
        self.timeout = timeout

    def cursor(self) -> Cursor:
        return Cursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        cursor = self.cursor()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        await _patiently(self.timeout, self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction


class _Connecting:
    """What `connect` returns: awaitable, with the `_thread` SQLAlchemy marks as a daemon."""

    def __init__(self, database: str, timeout: float, kwargs: dict[str, Any]) -> None:
        self._thread = SimpleNamespace(daemon=True)
        self._database = database
        self._timeout = timeout
        self._kwargs = kwargs

    def __await__(self) -> Generator[Any, None, Connection]:
        # No busy handler in SQLite itself: it would sleep on the event loop's thread.
        kwargs = {"check_same_thread": False, **self._kwargs, "timeout": 0}
        connection = sqlite3.connect(self._database, **kwargs)
        return Connection(connection, self._timeout)
        yield  # a generator, as __await__ must be  # pragma: no cover


def connect(database: str, *, timeout: float = 5.0, **kwargs: Any) -> _Connecting:
    return _Connecting(database, timeout, kwargs)


def dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DBAPI module for `create_async_engine(..., module=...)` with the `aiosqlite` dialect."""
    import sys  # noqa: PLC0415

    return AsyncAdapt_aiosqlite_dbapi(sys.modules[__name__], sqlite3)
