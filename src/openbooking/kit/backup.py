"""Online backup and restore of the SQLite database, with SQLite's own backup API.

A backup is one consistent snapshot taken while the server keeps serving (a read transaction;
in WAL mode writers go on). A restore replaces the live database's content in one write
transaction and then moves the catalog version past both the old and the restored value, so
that every running process drops what it cached about the catalog (docs/decisions/0004).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing, suppress
from typing import TYPE_CHECKING

from openbooking.kit.db import SQLITE_BUSY_TIMEOUT_MS

if TYPE_CHECKING:
    from pathlib import Path


class BackupError(Exception):
    """A one-line reason the backup or restore did not happen."""


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None)


def _check(connection: sqlite3.Connection, name: str) -> None:
    (result,) = connection.execute("PRAGMA integrity_check").fetchone()
    if result != "ok":
        raise BackupError(f"{name} failed SQLite's integrity check: {result}")


def revision(path: Path) -> str | None:
    """The schema revision (alembic) of the database at `path`; None without one."""
    with closing(_connect(path)) as connection:
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            return None
    return str(row[0]) if row else None


def backup(database: Path, target: Path) -> None:
    """Copy `database` to `target` (created 0600, replaced only once the copy is checked)."""
    if not database.is_file():
        raise BackupError(f"{database}: no such database")
    partial = target.with_name(target.name + ".partial")
    with suppress(FileNotFoundError):
        partial.unlink()
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        with closing(_connect(database)) as source, closing(_connect(partial)) as copy:
            source.backup(copy)  # all pages in one step: one snapshot
            _check(copy, "the copy")
        os.replace(partial, target)
    finally:
        with suppress(FileNotFoundError):
            partial.unlink()


def restore(database: Path, source: Path, *, expected_revision: str) -> None:
    """Replace the content of `database` with the backup `source`, which must be a sound
    database at `expected_revision` (the schema this version of OpenBooking runs)."""
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    try:
        found = revision(source)
        with closing(_connect(source)) as backup_file:
            _check(backup_file, str(source))
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source}: not an SQLite database ({exc})") from None
    if found != expected_revision:
        raise BackupError(
            f"{source} has schema revision {found}, this version runs {expected_revision}: "
            "restore it with the version that made it, or upgrade a copy first"
        )
    with closing(_connect(database)) as live, closing(_connect(source)) as backup_file:
        before = _catalog_version(live)
        backup_file.backup(live)
        after = _catalog_version(live)
        live.execute(
            "UPDATE catalog_version SET version = ? WHERE id = 1", (max(before, after) + 1,)
        )


def _catalog_version(connection: sqlite3.Connection) -> int:
    try:
        row = connection.execute("SELECT version FROM catalog_version WHERE id = 1").fetchone()
    except sqlite3.DatabaseError:
        return 0
    return int(row[0]) if row else 0
