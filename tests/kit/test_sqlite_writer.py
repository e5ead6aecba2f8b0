"""SQLite's writer (`kit.sqlite_writer.Writer`) on its own: a write transaction runs on the event
loop while the lock is free, and on the writer's thread when another connection has it; what
fails is rolled back, what is retried is written once, and the WAL file does not grow without
bound although the event loop's connection never checkpoints."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.exc import IntegrityError

from openbooking.kit import db, sqlite_writer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


@pytest.fixture
def path(tmp_path: Path) -> Iterator[str]:
    file = str(tmp_path / "writer.sqlite3")
    connection = sqlite_writer.connect(file)
    connection.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    # Kept open, as the app's own connections keep it: closing the last connection removes
    # the WAL, and the writer's thread, opening the file first, would hold it a moment to set
    # the WAL up again, sending a write that comes then to the thread.
    yield file
    connection.close()


@pytest.fixture
def writer(path: str) -> Iterator[sqlite_writer.Writer]:
    found = sqlite_writer.Writer(path, db.WriterQueue())
    yield found
    found.close()


def _notes(path: str) -> list[bytes]:
    connection = sqlite3.connect(path)
    try:
        return [body for (body,) in connection.execute("SELECT body FROM note ORDER BY id")]
    finally:
        connection.close()


def _wal_pages(path: str) -> float:
    connection = sqlite3.connect(path)
    try:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    finally:
        connection.close()
    return os.path.getsize(path + "-wal") / int(page_size)


def _add(body: bytes) -> Callable[[sqlite3.Connection], str]:
    def add(connection: sqlite3.Connection) -> str:
        connection.execute("INSERT INTO note (body) VALUES (?)", (body,))
        return threading.current_thread().name

    return add


async def test_a_write_runs_on_the_event_loop_while_the_lock_is_free(
    writer: sqlite_writer.Writer, path: str
) -> None:
    assert await writer.run(_add(b"a")) == threading.current_thread().name
    assert _notes(path) == [b"a"]


async def test_a_failed_write_leaves_nothing_and_the_next_one_is_written(
    writer: sqlite_writer.Writer, path: str
) -> None:
    def half(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO note (body) VALUES (?)", (b"half",))
        raise ValueError("refused midway")

    with pytest.raises(ValueError, match="refused midway"):
        await writer.run(half)
    with pytest.raises(IntegrityError, match="NOT NULL"):  # SQLite's own refusal, as the ORM's
        await writer.run(lambda connection: connection.execute("INSERT INTO note DEFAULT VALUES"))
    assert _notes(path) == []
    await writer.run(_add(b"next"))  # the turn was handed on each time
    assert _notes(path) == [b"next"]


def _claim(body: bytes) -> Callable[[sqlite3.Connection], str]:
    """Adds a note unless one with `body` is there: a booking's re-check of its times."""

    def claim(connection: sqlite3.Connection) -> str:
        if connection.execute("SELECT 1 FROM note WHERE body = ?", (body,)).fetchone():
            return "taken"
        connection.execute("INSERT INTO note (body) VALUES (?)", (body,))
        return "written"

    return claim


async def test_writes_waiting_together_keep_their_order_and_their_own_outcomes(
    writer: sqlite_writer.Writer, path: str
) -> None:
    """Writes that wait at the same time share a transaction: each sees the rows of those
    before it, and what one raises undoes its own statements only."""

    def half(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO note (body) VALUES (?)", (b"half",))
        raise ValueError("refused midway")

    def null(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO note (body) VALUES (?)", (b"before the refusal",))
        connection.execute("INSERT INTO note DEFAULT VALUES")

    outcomes = await asyncio.gather(
        writer.run(_claim(b"slot")),
        writer.run(half),
        writer.run(_claim(b"slot")),
        writer.run(null),
        writer.run(_claim(b"other")),
        return_exceptions=True,
    )
    assert outcomes[0] == "written"
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] == "taken"
    assert isinstance(outcomes[3], IntegrityError)  # SQLite's own refusal, as the ORM's
    assert outcomes[4] == "written"
    assert _notes(path) == [b"slot", b"other"]


async def test_a_caller_that_stops_waiting_before_the_transaction_writes_nothing(
    writer: sqlite_writer.Writer, path: str
) -> None:
    kept = asyncio.ensure_future(writer.run(_add(b"kept")))
    dropped = asyncio.ensure_future(writer.run(_add(b"dropped")))
    await asyncio.sleep(0)  # both are waiting for the transaction
    dropped.cancel()
    await kept
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert _notes(path) == [b"kept"]


async def test_another_connection_holding_the_lock_sends_the_writes_to_the_thread(
    writer: sqlite_writer.Writer, path: str
) -> None:
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    releaser = threading.Timer(0.3, other.commit)
    releaser.start()
    try:
        outcomes = await asyncio.gather(
            writer.run(_add(b"after the other")), writer.run(_claim(b"after the other"))
        )
    finally:
        releaser.join()
        other.close()
    assert list(outcomes) == ["sqlite-writer", "taken"]
    assert _notes(path) == [b"after the other"]


async def test_the_lock_lost_midway_is_retried_on_the_thread_and_written_once(
    writer: sqlite_writer.Writer, path: str
) -> None:
    """SQLITE_BUSY after BEGIN (rare in WAL mode, raised here by a second connection) rolls
    the first try back; the thread runs the write again."""
    tries: list[str] = []

    def add_once(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO note (body) VALUES (?)", (b"once",))
        tries.append(threading.current_thread().name)
        if len(tries) == 1:
            rival = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                rival.execute("BEGIN IMMEDIATE")  # SQLITE_BUSY: this write holds the lock
            finally:
                rival.close()

    await writer.run(add_once)
    assert tries == [threading.current_thread().name, "sqlite-writer"]
    assert _notes(path) == [b"once"]


async def test_the_wal_file_stays_bounded(writer: sqlite_writer.Writer, path: str) -> None:
    """The thread checkpoints after every `CHECKPOINT_EVERY` commits, so the WAL starts over
    instead of growing with every write (here: 40 times as many commits)."""
    body = bytes(3000)  # a page of its own each time
    commits = 40 * sqlite_writer.CHECKPOINT_EVERY
    for _ in range(commits):
        await writer.run(_add(body))
    assert len(_notes(path)) == commits
    # Each commit writes about three pages; without checkpoints the WAL holds them all.
    assert _wal_pages(path) < 8 * sqlite_writer.CHECKPOINT_EVERY


def _temporary_files() -> list[str]:
    """This process's open SQLite temporary files (named `etilqs_...`, unlinked at once)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if "etilqs_" in target:
            found.append(target)
    return found


async def test_each_writes_savepoint_is_journaled_in_memory(
    writer: sqlite_writer.Writer, path: str
) -> None:
    """A write's savepoint keeps the pages it changes, to undo them alone; kept in a temporary
    file, that cost two system calls a page (about 25 a booking). The writer keeps them in
    memory, however many pages a transaction changes."""
    connection = sqlite3.connect(path)
    with connection:
        connection.executemany("INSERT INTO note (body) VALUES (?)", [(bytes(2000),)] * 400)
    connection.close()

    def rewrite(connection: sqlite3.Connection) -> list[str]:
        connection.execute("UPDATE note SET body = ?", (bytes([1]) * 2000,))  # ~200 pages
        return _temporary_files()

    outcomes = await asyncio.gather(writer.run(rewrite), writer.run(rewrite))
    assert list(outcomes) == [[], []]
    assert _notes(path) == [bytes([1]) * 2000] * 400


def test_a_checkpoint_still_running_when_the_event_loop_closes_is_dropped_quietly(
    path: str,
) -> None:
    """The commit that asks for a checkpoint returns at once; when the app's event loop is
    gone by the time the thread is done, nobody is waiting and the thread ends cleanly."""
    writer = sqlite_writer.Writer(path, db.WriterQueue())

    async def fill() -> None:
        for _ in range(sqlite_writer.CHECKPOINT_EVERY):
            await writer.run(_add(b"x"))

    asyncio.run(fill())  # the last write hands the checkpoint over; the loop closes
    writer.close()
    writer._thread.join(5)  # a thread that raised is reported by pytest as an error
    assert not writer._thread.is_alive()
    assert len(_notes(path)) == sqlite_writer.CHECKPOINT_EVERY
