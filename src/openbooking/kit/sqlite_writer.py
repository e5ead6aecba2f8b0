"""One SQLite writer per process and database: a whole write transaction at once, on the event
loop while SQLite's lock is free, else on a thread that owns its own `sqlite3` connection.

A write through the ORM and aiosqlite costs a hand-off to aiosqlite's thread per statement
step (cursor, execute, fetch, close) plus SQLAlchemy's unit of work: about 7 ms of CPU for a
booking's seven statements, against about 0.3 ms through synchronous `sqlite3`. `run(fn)`
first takes the process's writer turn (`kit.db.WriterQueue`, the same queue the ORM writers
wait in, so writers stay serial and in arrival order and a stuck queue still answers 503).
Under the turn no other writer of this process holds SQLite's lock, so `run` tries BEGIN
IMMEDIATE on the event loop's own connection without waiting (busy timeout 0) and, when it
gets the lock, runs `fn(connection)` and COMMIT right there (ROLLBACK on any exception): about
0.4 ms, with no thread to wake and no GIL to hand back and forth per statement. When another
process holds the lock, the same transaction goes to the thread, which waits for it
(busy_timeout) without blocking the event loop; a lock held past the timeout is raised as
SQLAlchemy's OperationalError ("database is locked"), which the app answers 503, as it does for
the ORM's writers. `fn` must only compute and run statements (plain SQL strings, which
`sqlite3` keeps compiled in its statement cache), and it may run twice: when the lock is lost
midway (SQLITE_BUSY after BEGIN, which WAL makes rare) the first try is rolled back and the
thread runs `fn` again, so `fn` must write only from what it was given.

The event loop's connection never checkpoints (a checkpoint syncs the files to disk, which
would stall every request): after every `CHECKPOINT_EVERY` of its commits the thread runs a
passive checkpoint while the writer turn is held, as SQLite itself runs one inside the COMMIT
that fills the WAL, so the whole WAL is copied back and the next write starts the file over.

The thread and both connections end when the engine is disposed (the app's shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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


logger = logging.getLogger("openbooking.db")
T = TypeVar("T")
_Job = tuple[
    "Callable[[sqlite3.Connection], Any]", bool, "asyncio.Future[Any]", asyncio.AbstractEventLoop
]
CHECKPOINT_EVERY = 64  # commits on the event loop's connection: a booking writes about 15 pages
_BUSY = object()  # `_on_the_loop`'s answer when another process holds the lock


def connect(path: str, busy_timeout_ms: int = db.SQLITE_BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """A connection set up as `kit.db._sqlite_pragmas` sets the ORM's: WAL, the busy timeout,
    foreign keys, synchronous=NORMAL, transactions begun by hand."""
    connection = sqlite3.connect(
        path,
        timeout=busy_timeout_ms / 1000,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=256,
    )
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


class Writer:
    """The writer of one SQLite database file: the event loop's connection, and the thread that
    waits for another process's lock and checkpoints."""

    def __init__(self, path: str, turn: db.WriterQueue) -> None:
        self.path = path
        self._turn = turn
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._here: sqlite3.Connection | None = None  # the event loop's
        self._commits_here = 0  # since the last checkpoint
        self._thread = threading.Thread(target=self._serve, name="sqlite-writer", daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(connection)` in one write transaction, in the process's writer turn."""
        await self._turn.acquire(db.SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            result = self._on_the_loop(fn)
        except BaseException:
            self._turn.release()
            raise
        if result is _BUSY:
            return await asyncio.shield(self._on_the_thread(fn, transaction=True))
        self._commits_here += 1
        if self._commits_here >= CHECKPOINT_EVERY:
            # The turn passes once the checkpoint is done: no write of this process comes
            # between, so it copies the whole WAL and the next write starts the file over
            # (as SQLite's own checkpoint after a COMMIT, without holding up the event loop).
            self._commits_here = 0
            self._on_the_thread(_checkpoint, transaction=False)
        else:
            self._turn.release()
        return result  # type: ignore[return-value]

    def _on_the_loop(self, fn: Callable[[sqlite3.Connection], T]) -> T | object:
        """`fn`'s transaction on the event loop's connection, or `_BUSY` (nothing written)
        when another process holds SQLite's lock."""
        try:
            return _transaction(self._here or self._open_here(), fn)
        except DBAPIError as exc:
            if _busy(exc.orig):
                return _BUSY
            raise

    def _open_here(self) -> sqlite3.Connection:
        try:
            connection = connect(self.path, busy_timeout_ms=0)
            connection.execute("PRAGMA wal_autocheckpoint=0")  # the thread checkpoints
        except sqlite3.Error as exc:  # as `_transaction` raises it (busy: the thread's turn)
            raise DBAPIError.instance("PRAGMA", None, exc, sqlite3.Error) from exc
        self._here = connection
        return connection

    def _on_the_thread(
        self, fn: Callable[[sqlite3.Connection], T], *, transaction: bool
    ) -> asyncio.Future[T]:
        """`fn` handed to the thread (in a transaction of its own, or not); the turn, held,
        passes when it is done."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        future.add_done_callback(self._pass_turn)  # even when the caller stops waiting
        self._jobs.put((fn, transaction, future, loop))
        return future

    def _pass_turn(self, future: asyncio.Future[Any]) -> None:
        if not future.cancelled():
            future.exception()  # retrieved: a caller that stopped waiting logs nothing
        self._turn.release()

    def close(self) -> None:
        """End the thread once the jobs queued before are done."""
        self._jobs.put(None)
        if self._here is not None:
            self._here.close()
            self._here = None

    def _serve(self) -> None:
        connection = connect(self.path)
        try:
            while (job := self._jobs.get()) is not None:
                fn, transaction, future, loop = job
                try:
                    result: Any = _transaction(connection, fn) if transaction else fn(connection)
                except BaseException as exc:  # handed to the waiting coroutine
                    _hand_back(loop, future, None, exc)
                else:
                    _hand_back(loop, future, result, None)
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


def _busy(error: BaseException | None) -> bool:
    """Whether `error` is SQLITE_BUSY (any of its extended codes): another connection holds
    the lock."""
    return (
        isinstance(error, sqlite3.OperationalError)
        and error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
    )


def _checkpoint(connection: sqlite3.Connection) -> None:
    """A passive checkpoint: it copies what no reader still needs, waiting for no one."""
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.Error as exc:
        logger.warning("SQLite WAL checkpoint failed: %s", exc)


def _hand_back(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    result: Any,
    error: BaseException | None,
) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed (a checkpoint at shutdown)
        loop.call_soon_threadsafe(_settle, future, result, error)


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
