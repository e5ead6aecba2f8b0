"""One SQLite writer per process and database: a whole write transaction at once, on the event
loop while SQLite's lock is free, else on a thread that owns its own `sqlite3` connection.

A write through the ORM and aiosqlite costs a hand-off to aiosqlite's thread per statement
step (cursor, execute, fetch, close) plus SQLAlchemy's unit of work: about 7 ms of CPU for a
booking's seven statements, against about 0.3 ms through synchronous `sqlite3`.

`run(fn)` queues `fn` and waits. The writes queued until the process's writer turn comes
(`kit.db.WriterQueue`, the same queue the ORM writers wait in, so writers stay serial and in
arrival order and a stuck queue still answers 503) go in one transaction then, in
arrival order, each in a savepoint of its own: what one write raises undoes its own statements
only and goes to its caller, and each write sees the rows of those before it (a booking checks
its times against the one committed just before it in the same transaction). One BEGIN and one
COMMIT serve every booking that reached its write in the same turn of the event loop, and the
pages they share (index leaves, the tables' last pages) go to the WAL once: under load, tens of
bookings a transaction. Nobody is answered before the COMMIT.

Under the turn no other writer of this process holds SQLite's lock, so the transaction first
tries BEGIN IMMEDIATE on the event loop's own connection without waiting (busy timeout 0) and,
when it gets the lock, runs right there: no thread to wake and no GIL to hand back and forth
per statement. When another process holds the lock, the same transaction goes to the thread,
which waits for it (busy_timeout) without blocking the event loop; a lock held past the timeout
is raised as SQLAlchemy's OperationalError ("database is locked"), which the app answers 503,
as it does for the ORM's writers. `fn` must only compute and run statements (plain SQL strings,
which `sqlite3` keeps compiled in its statement cache), and it may run twice: when the lock is
lost midway (SQLITE_BUSY after BEGIN, which WAL makes rare) the whole transaction is rolled
back and the thread runs it again, so `fn` must write only from what it was given.

The event loop's connection never checkpoints (a checkpoint syncs the files to disk, which
would stall every request): after every `CHECKPOINT_EVERY` writes the thread runs a passive
checkpoint while the writer turn is held, as SQLite itself runs one inside the COMMIT that
fills the WAL, so the whole WAL is copied back and the next write starts the file over.

The thread and both connections end when the engine is disposed (the app's shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
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

    Write = Callable[[sqlite3.Connection], Any]
    _Job = tuple[Write, asyncio.Future[Any], asyncio.AbstractEventLoop]
    _Outcome = tuple[Any, Exception | None]  # a write's result, or what it raised
    _Waiting = tuple[Write, asyncio.Future[Any]]  # a write and its caller's future


logger = logging.getLogger("openbooking.db")
T = TypeVar("T")
CHECKPOINT_EVERY = 64  # writes on the event loop's connection: a booking writes about 15 pages
_BUSY = object()  # `_on_the_loop`'s answer when another process holds the lock


def connect(path: str, busy_timeout_ms: int = db.SQLITE_BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """A connection set up as `kit.db._sqlite_pragmas` sets the ORM's: WAL, the busy timeout,
    foreign keys, synchronous=NORMAL, transactions begun by hand. Its savepoints (one a write)
    keep the pages they change in memory (`temp_store`): in SQLite's temporary file, a batch of
    bookings spilled there at two system calls a page, about 25 a booking. A transaction holds
    at most the batch's changed pages, about 50 KB a booking."""
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
    connection.execute("PRAGMA temp_store=MEMORY")
    return connection


class Writer:
    """The writer of one SQLite database file: the event loop's connection, and the thread that
    waits for another process's lock and checkpoints."""

    def __init__(self, path: str, turn: db.WriterQueue) -> None:
        self.path = path
        self._turn = turn
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._here: sqlite3.Connection | None = None  # the event loop's
        self._written_here = 0  # writes committed on it since the last checkpoint
        self._waiting: list[_Waiting] = []  # for the next transaction
        self._batches: set[asyncio.Task[None]] = set()  # running (kept from the collector)
        self._thread = threading.Thread(target=self._serve, name="sqlite-writer", daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(connection)` in a write transaction, in the process's writer turn; its result,
        or what it raised (its own writes then undone, the others' kept). A caller that stops
        waiting before its turn comes writes nothing."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._waiting.append((fn, future))
        if len(self._waiting) == 1:  # the first since the last transaction took its writes
            # Its own context: it serves every request waiting, not this one (the log's id).
            batch = loop.create_task(self._write_waiting(), context=contextvars.Context())
            self._batches.add(batch)
            batch.add_done_callback(self._batches.discard)
        return await future

    async def _write_waiting(self) -> None:
        """Once the turn is ours, the writes waiting then, in one transaction."""
        try:
            await self._turn.acquire(db.SQLITE_BUSY_TIMEOUT_MS / 1000)
        except Exception as error:  # the queue stuck: a 503 for each
            _settle_all(self._take(), error)
            return
        except BaseException:  # the app stopping
            _cancel_all(self._take())
            raise
        writes = self._take()
        try:
            outcomes = self._on_the_loop(writes) if writes else []
        except Exception as error:  # BEGIN or COMMIT failed: nothing written
            self._turn.release()
            _settle_all(writes, error)
            return
        if outcomes is _BUSY:
            done = self._on_the_thread(lambda connection: _transaction(connection, writes))
            done.add_done_callback(lambda future: _settle_done(writes, future))
            return
        _settle_each(writes, outcomes)  # type: ignore[arg-type]
        self._written_here += len(writes)
        if self._written_here >= CHECKPOINT_EVERY:
            # The turn passes once the checkpoint is done: no write of this process comes
            # between, so it copies the whole WAL and the next write starts the file over
            # (as SQLite's own checkpoint after a COMMIT, without holding up the event loop).
            self._written_here = 0
            self._on_the_thread(_checkpoint)
        else:
            self._turn.release()

    def _take(self) -> list[_Waiting]:
        """The waiting writes whose callers still wait, in arrival order."""
        waiting, self._waiting = self._waiting, []
        return [(fn, future) for fn, future in waiting if not future.done()]

    def _on_the_loop(self, writes: Sequence[_Waiting]) -> list[_Outcome] | object:
        """The transaction of `writes` on the event loop's connection, or `_BUSY` (nothing
        written) when another process holds SQLite's lock."""
        try:
            return _transaction(self._here or self._open_here(), writes)
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

    def _on_the_thread(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """`fn` handed to the thread; the turn, held, passes when it is done."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        future.add_done_callback(self._pass_turn)
        self._jobs.put((fn, future, loop))
        return future

    def _pass_turn(self, future: asyncio.Future[Any]) -> None:
        if not future.cancelled():
            future.exception()  # retrieved: a failed checkpoint is logged where it fails
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
                fn, future, loop = job
                try:
                    result = fn(connection)
                except BaseException as exc:  # handed to the waiting coroutine
                    _hand_back(loop, future, None, exc)
                else:
                    _hand_back(loop, future, result, None)
        finally:
            connection.close()


def _transaction(connection: sqlite3.Connection, writes: Sequence[_Waiting]) -> list[_Outcome]:
    """`writes` in one transaction, each in a savepoint of its own: what one raises undoes its
    own statements only, and is its outcome. SQLITE_BUSY from any of them, or a failed BEGIN or
    COMMIT, undoes them all and is raised (as SQLAlchemy raises it: "database is locked" is a
    503)."""
    statement = "BEGIN IMMEDIATE"
    try:
        connection.execute(statement)
        try:
            outcomes = [_savepoint(connection, fn) for fn, _ in writes]
            statement = "COMMIT"
            connection.execute(statement)
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
    return outcomes


def _savepoint(connection: sqlite3.Connection, fn: Write) -> _Outcome:
    connection.execute("SAVEPOINT write")
    try:
        result = fn(connection)
    except Exception as exc:
        if isinstance(exc, sqlite3.Error):
            if _busy(exc):
                raise  # the lock was lost: the whole transaction goes to the thread
            exc = DBAPIError.instance("SAVEPOINT", None, exc, sqlite3.Error)
        connection.execute("ROLLBACK TO write")
        connection.execute("RELEASE write")
        return None, exc
    connection.execute("RELEASE write")
    return result, None


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


def _settle_each(writes: Sequence[_Waiting], outcomes: Sequence[_Outcome]) -> None:
    for (_, future), (result, error) in zip(writes, outcomes, strict=True):
        _settle(future, result, error)


def _settle_all(writes: Sequence[_Waiting], error: BaseException) -> None:
    for _, future in writes:
        _settle(future, None, error)


def _cancel_all(writes: Sequence[_Waiting]) -> None:
    for _, future in writes:
        future.cancel()


def _settle_done(writes: Sequence[_Waiting], done: asyncio.Future[list[_Outcome]]) -> None:
    """The thread's transaction of `writes` ended: each caller gets its outcome."""
    if done.cancelled():
        _cancel_all(writes)
    elif (error := done.exception()) is not None:
        _settle_all(writes, error)
    else:
        _settle_each(writes, done.result())


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
