from __future__ import annotations

import stat
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from sqlalchemy import text

from openbooking.app import create_app
from openbooking.config import Settings
from openbooking.kit.db import create_engine

if TYPE_CHECKING:
    from pathlib import Path


async def test_a_new_sqlite_file_and_its_journal_are_private(tmp_path: Path) -> None:
    """The file holds customers' phones and names: mode 0600, not the umask's 0644."""
    path = tmp_path / "new.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
        wal = path.with_name("new.db-wal")
        assert wal.exists()
        for file in (path, wal):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    finally:
        await engine.dispose()


async def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    path.touch(mode=0o640)
    path.chmod(0o640)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


async def test_postgresql_connections_are_kept_for_reuse_up_to_the_pool_size(
    postgres_migrated: str, tmp_path: Path
) -> None:
    """A server answering more requests at once than SQLAlchemy's default pool of 5 reused its
    connections instead of opening (and closing) one for most of them."""
    settings = Settings(database_url=postgres_migrated, var_dir=tmp_path, database_pool_size=8)
    app = create_app(settings)
    engine = app.state.engine

    async def backends() -> set[int]:
        async with AsyncExitStack() as stack:
            connections = [await stack.enter_async_context(engine.connect()) for _ in range(8)]
            return {
                (await c.execute(text("SELECT pg_backend_pid()"))).scalar_one() for c in connections
            }

    try:
        first = await backends()
        assert len(first) == 8
        assert await backends() == first
    finally:
        await engine.dispose()
