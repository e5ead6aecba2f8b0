"""One SQLite writer per process and database: a thread that owns a plain `sqlite3` connection
and runs a whole write transaction in one hand-off.

A write through the ORM and aiosqlite costs a hand-off to aiosqlite's thread per statement
step (cursor, execute, fetch, close) plus SQLAlchemy's unit of work: about 7 ms of CPU for a
booking's seven statements, against about 0.3 ms through synchronous `sqlite3`. `run(fn)`
first takes the process's writer turn (`kit.db.WriterQueue`, the same queue the ORM writers
wait in, so writers stay serial and in arrival order and a stuck queue still answers 503), then
gives `fn(connection)` to the thread, which runs BEGIN IMMEDIATE, `fn`, COMMIT (ROLLBACK on any
exception) and hands `fn`'s result back. A lock held by another process blocks only this
thread (busy_timeout), never the event loop; a lock held past the timeout is raised as
SQLAlchemy's OperationalError ("database is locked"), which the app answers 503, as it does for
the ORM's writers. `fn` runs on the thread: it must only compute and run statements (plain SQL
strings, which `sqlite3` keeps compiled in its statement cache).

The thread and its connection end when the engine is disposed (the app's shutdown).
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError

from openbooking.kit import db

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


T = TypeVar("T")
_Job = tuple[
    "Callable[[sqlite3.Connection], Any]", "asyncio.Future[Any]", asyncio.AbstractEventLoop
]


def connect(path: str) -> sqlite3.Connection:
    """A connection set up as `kit.db._sqlite_pragmas` sets the ORM's: WAL, the busy timeout,
    foreign keys, synchronous=NORMAL, transactions begun by hand."""
    connection = sqlite3.connect(
        path,
        timeout=db.SQLITE_BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=256,
    )
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA busy_timeout={db.SQLITE_BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


class Writer:
    """The writer thread of one SQLite database file."""

    def __init__(self, path: str, turn: db.WriterQueue) -> None:
        self.path = path
        self._turn = turn
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="sqlite-writer", daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(connection)` in one write transaction, in the process's writer turn."""
        await self._turn.acquire(db.SQLITE_BUSY_TIMEOUT_MS / 1000)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        future.add_done_callback(self._pass_turn)  # even when the caller stops waiting
        self._jobs.put((fn, future, loop))
        return await asyncio.shield(future)

    def _pass_turn(self, future: asyncio.Future[Any]) -> None:
        if not future.cancelled():
            future.exception()  # retrieved: a caller that stopped waiting logs nothing
        self._turn.release()

    def close(self) -> None:
        """End the thread once the jobs queued before are done."""
        self._jobs.put(None)

    def _serve(self) -> None:
        connection = connect(self.path)
        try:
            while (job := self._jobs.get()) is not None:
                fn, future, loop = job
                try:
                    result: Any = _transaction(connection, fn)
                except BaseException as exc:  # handed to the waiting coroutine
                    loop.call_soon_threadsafe(_settle, future, None, exc)
                else:
                    loop.call_soon_threadsafe(_settle, future, result, None)
        finally:
            connection.close()


def _transaction(connection: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    statement = "BEGIN IMMEDIATE"
    try:
        connection.execute(statement)
        try:
            result = fn(connection)
            statement = "COMMIT"
            connection.execute(statement)
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:  # as SQLAlchemy raises it: "database is locked" is a 503
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
    return result


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


_WRITERS: WeakKeyDictionary[Engine, Writer] = WeakKeyDictionary()


def of(engine: Engine | Any) -> Writer | None:
    """The engine's writer, started at first use; None unless the engine is a SQLite file."""
    if not isinstance(engine, Engine):
        return None
    found = _WRITERS.get(engine)
    if found is not None:
        return found
    path = engine.url.database
    if (
        engine.dialect.name != "sqlite"
        or not path
        or path == ":memory:"
        or path.startswith("file:")
    ):
        return None
    found = _WRITERS[engine] = Writer(path, db.writer_queue(engine))
    if not event.contains(engine, "engine_disposed", _close):
        event.listen(engine, "engine_disposed", _close)
    return found


def _close(engine: Engine) -> None:
    found = _WRITERS.pop(engine, None)
    if found is not None:
        found.close()


DIALECT = db.SQLITE_DIALECT


def encoder(table: Any, columns: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    """`kit.db.encoder` for SQLite: the values of a transient ORM object as the ORM sends them."""
    return db.encoder(table, columns, DIALECT)
