from __future__ import annotations

import asyncio
import stat
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import QueuePool, func, select, text

from openbooking.app import close_resources, create_app
from openbooking.config import Settings
from openbooking.kit import db, fastread
from openbooking.kit.db import create_engine
from openbooking.models import Record

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncEngine


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


async def test_postgresql_connections_beyond_the_pool_are_waited_for_not_opened(
    postgres_migrated: str,
) -> None:
    """More requests at once than the pool holds take turns on its connections: none opens
    (and closes) a connection of its own, each of which costs PostgreSQL a new process."""
    engine = create_engine(postgres_migrated, pool_size=2)

    async def one() -> int:
        async with engine.connect() as connection:
            sql = text("SELECT pg_backend_pid() FROM pg_sleep(0.05)")
            return int((await connection.execute(sql)).scalar_one())

    try:
        used = await asyncio.gather(*(one() for _ in range(8)))
    finally:
        await engine.dispose()
    assert len(used) == 8
    assert len(set(used)) == 2


async def test_a_request_that_gets_no_pooled_connection_in_time_is_answered_503(
    postgres_migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "POOL_TIMEOUT_SECONDS", 0.2)
    settings = Settings(database_url=postgres_migrated, var_dir=tmp_path, database_pool_size=1)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.state.engine.connect() as held,
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            await held.execute(text("SELECT 1"))  # the pool's only connection, in use
            response = await client.get(
                "/api/v1/companies", headers={"Authorization": "Bearer not-yet-checked"}
            )
    finally:
        await close_resources(app)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["success"] is False


_BACKEND = fastread.Statement(select(func.pg_backend_pid()))


def checked_out(engine: AsyncEngine) -> int:
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedout()


async def test_a_unit_of_work_holds_one_postgresql_connection_from_its_reads_to_its_orm_work(
    postgres_migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request's reads on the driver go on a connection leased from the pool without a
    session transaction; when the session begins one, the lease goes back first. A request
    holding one connection while it waits for a second would, on a full pool, stall every
    request until the pool timeout: here the pool has one, so the ORM's statement would wait
    for it and fail."""
    monkeypatch.setattr(db, "POOL_TIMEOUT_SECONDS", 0.5)
    engine = create_engine(postgres_migrated, pool_size=1)
    try:
        async with db.unit_of_work(db.create_sessionmaker(engine)) as work:
            found, _ = await fastread.rows(work.session, _BACKEND, {})
            assert checked_out(engine) == 1
            assert not work.session.in_transaction()
            orm = (await work.session.execute(select(func.pg_backend_pid()))).scalar_one()
            assert orm == found[0][0]  # the pool's one connection, given back and taken again
            assert checked_out(engine) == 1
        assert checked_out(engine) == 0
    finally:
        await engine.dispose()


async def test_a_checkpoint_gives_the_leased_connection_back(postgres_migrated: str) -> None:
    """`checkpoint` ends what a request holds before slow work (argon2): its leased connection
    too."""
    engine = create_engine(postgres_migrated, pool_size=1)
    try:
        async with db.unit_of_work(db.create_sessionmaker(engine)) as work:
            await fastread.rows(work.session, _BACKEND, {})
            connection = await work.statement_connection()
            assert await connection.fetchval("SELECT 1", []) == 1
            assert checked_out(engine) == 1
            await work.checkpoint()
            assert checked_out(engine) == 0
    finally:
        await engine.dispose()


def recording(monkeypatch: pytest.MonkeyPatch, driver: Any) -> list[str]:
    """What the pool sends of itself (`Connection.execute`) on `driver`, recorded."""
    sent: list[str] = []
    execute = asyncpg.Connection.execute

    async def recorded(self: asyncpg.Connection, query: str, *args: Any) -> Any:
        if self is driver:
            sent.append(query)
        return await execute(self, query, *args)

    monkeypatch.setattr(asyncpg.Connection, "execute", recorded)
    return sent


@pytest.mark.parametrize(("idle", "sent_before_use"), [(False, []), (True, ["SELECT 1"])])
async def test_a_reused_postgresql_connection_is_pinged_after_it_was_idle(
    postgres_migrated: str, monkeypatch: pytest.MonkeyPatch, idle: bool, sent_before_use: list[str]
) -> None:
    """A connection given back to the pool a moment ago is reused as it is; one that has been
    idle longer is first checked with one `SELECT 1`, without the BEGIN and ROLLBACK around it
    that cost every request two more round trips."""
    engine = create_engine(postgres_migrated, pool_size=1)
    try:
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            sent = recording(monkeypatch, driver)
            first = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        if idle:
            monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
        sent.clear()
        async with engine.connect() as connection:
            assert sent == sent_before_use
            again = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert again == first
    finally:
        await engine.dispose()


@pytest.mark.parametrize("idle", [False, True])
async def test_a_postgresql_connection_the_server_dropped_is_replaced_before_use(
    postgres_migrated: str, monkeypatch: pytest.MonkeyPatch, idle: bool
) -> None:
    """The server ended the pooled connections (a restart, an idle timeout): the next use gets
    a new connection instead of an error, whether they were given back a moment ago (asyncpg
    has read the server's goodbye: no round trip) or have been idle (their ping fails)."""
    engine = create_engine(postgres_migrated, pool_size=2)
    other = create_engine(postgres_migrated)
    try:
        async with AsyncExitStack() as stack:
            connections = [await stack.enter_async_context(engine.connect()) for _ in range(2)]
            drivers: list[Any] = [
                (await c.get_raw_connection()).driver_connection for c in connections
            ]
            dropped = {
                (await c.execute(text("SELECT pg_backend_pid()"))).scalar_one() for c in connections
            }
        async with other.connect() as killer:
            for pid in dropped:  # waits (up to 5 s) until the backend is gone
                await killer.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        if idle:
            monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
        for _ in range(100):  # the event loop reads each goodbye within milliseconds
            if all(driver.is_closed() for driver in drivers):
                break
            await asyncio.sleep(0.01)
        async with AsyncExitStack() as stack:
            connections = [await stack.enter_async_context(engine.connect()) for _ in range(2)]
            now = {
                (await c.execute(text("SELECT pg_backend_pid()"))).scalar_one() for c in connections
            }
        assert len(now) == 2
        assert not now & dropped
    finally:
        await engine.dispose()
        await other.dispose()


@given(
    moment=st.datetimes(
        min_value=datetime(1, 1, 2),  # noqa: DTZ001 - made aware by `timezones` below
        max_value=datetime(9999, 12, 30),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, ZoneInfo("Europe/Moscow"), ZoneInfo("America/Chicago")]),
    )
)
def test_the_sqlite_writers_datetimes_are_the_text_the_orm_stores(moment: datetime) -> None:
    """`db.encoder` (SQLite's writer, bypassing the ORM) stores a UTC datetime as the ORM does
    through `UTCDateTime` and SQLite's `DATETIME`: readers compare them as text."""
    column = Record.__table__.c.starts_at
    orm = column.type.dialect_impl(db.SQLITE_DIALECT).bind_processor(db.SQLITE_DIALECT)
    (written,) = db.encoder(Record.__table__, ["starts_at"])(_WithStart(moment))
    assert orm is not None
    assert written == orm(moment)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(st.dictionaries(st.text(max_size=5), _JSON, max_size=3))
def test_the_sqlite_writers_json_is_the_text_the_orm_stores(value: dict[str, Any]) -> None:
    """A JSON column (the record's custom fields) as the ORM writes it, the empty object too."""
    column = Record.__table__.c.custom_fields
    orm = column.type.dialect_impl(db.SQLITE_DIALECT).bind_processor(db.SQLITE_DIALECT)
    encode = db.encoder(Record.__table__, ["custom_fields"])
    assert orm is not None
    assert encode(_WithFields(value)) == (orm(value),)
    assert encode(_WithFields({})) == (orm({}),) == ("{}",)


def test_the_sqlite_writer_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        db.encoder(Record.__table__, ["starts_at"])(_WithStart(datetime(2026, 3, 29, 1, 30)))  # noqa: DTZ001


class _WithStart:
    def __init__(self, starts_at: datetime) -> None:
        self.starts_at = starts_at


class _WithFields:
    def __init__(self, custom_fields: dict[str, Any]) -> None:
        self.custom_fields = custom_fields
