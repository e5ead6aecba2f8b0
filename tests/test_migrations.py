from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from alembic import command
from sqlalchemy import text

from openbooking import migrations
from openbooking.business import service as business
from openbooking.kit.db import create_engine, create_sessionmaker, is_sqlite
from openbooking.models import EventSession, Record
from openbooking.models.catalog import VERSIONED_TABLES
from openbooking.models.records import BUSY_BUCKETS

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncSession


def test_models_and_migrations_agree(database_url: str) -> None:
    """`alembic check`: autogenerate finds nothing to add, on SQLite and PostgreSQL."""
    migrations.check(database_url)


def test_downgrade_and_upgrade_round_trip(database_url: str) -> None:
    config = migrations.alembic_config(database_url)
    migrations._in_own_thread(lambda: command.downgrade(config, "base"))
    with pytest.raises(Exception, match="Target database is not up to date"):
        migrations.check(database_url)
    migrations.upgrade(database_url)
    migrations.check(database_url)


async def _version(session: AsyncSession) -> int:
    return int((await session.execute(text("SELECT version FROM catalog_version"))).scalar_one())


async def test_every_change_to_what_availability_reads_bumps_the_catalog_version(
    database_url: str,
) -> None:
    """Caches trust `catalog_version`: any writer's insert, update or delete (or, on
    PostgreSQL, truncate) of a versioned table changes it, and nothing else does."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await business.load_demo_once(session)
        changes = [
            "INSERT INTO days_off (staff_id, date) VALUES (202, '2030-01-01')",
            *(f"UPDATE {table} SET {_key(table)} = {_key(table)}" for table in VERSIONED_TABLES),
            "DELETE FROM days_off WHERE staff_id = 202",
        ]
        if not is_sqlite(database_url):
            changes.append("TRUNCATE days_off")
        for change in changes:
            async with create_sessionmaker(engine)() as session, session.begin():
                before = await _version(session)
                await session.execute(text(change))
                assert await _version(session) > before, change
        async with create_sessionmaker(engine)() as session, session.begin():
            before = await _version(session)
            await session.execute(text("UPDATE records SET comment = comment"))
            await session.execute(text("UPDATE bookforms SET title = title"))
            assert await _version(session) == before
    finally:
        await engine.dispose()


def _key(table: str) -> str:
    return "staff_id" if table == "staff_services" else "id"


async def _busy_count(session: AsyncSession, staff_id: int) -> int:
    found = await session.execute(
        text("SELECT version FROM busy_versions WHERE bucket = :bucket"),
        {"bucket": staff_id & (BUSY_BUCKETS - 1)},
    )
    return int(found.scalar_one())


async def test_every_change_to_busy_time_bumps_the_members_counter(database_url: str) -> None:
    """Availability trusts what it kept of a member's busy time while the member's counter in
    `busy_versions` stays: any writer's insert, update of the times, status or member, and
    delete (or, on PostgreSQL, truncate) of a record or an event session changes it, for the
    member before and after; other changes do not."""
    lena, mira = 201, 202
    start = datetime(2030, 1, 1, 10, tzinfo=UTC)
    end = start + timedelta(hours=1)

    def record(session: AsyncSession) -> None:
        session.add(
            Record(location_id=1001, staff_id=lena, starts_at=start, ends_at=end, hash_digest="")
        )

    def event_session(session: AsyncSession) -> None:
        session.add(
            EventSession(
                event_id=401,
                location_id=1001,
                staff_id=lena,
                starts_at=start + timedelta(days=1),  # records overlap no session of a leader
                ends_at=end + timedelta(days=1),
                capacity=4,
            )
        )

    changes: list[tuple[Callable[[AsyncSession], None] | str, tuple[int, ...]]] = [
        (record, (lena,)),
        (event_session, (lena,)),
    ]
    for table in ("records", "event_sessions"):
        changes += [
            (f"UPDATE {table} SET status = 'cancelled'", (lena,)),
            (f"UPDATE {table} SET starts_at = starts_at", (lena,)),
            (f"UPDATE {table} SET ends_at = ends_at", (lena,)),
            (f"UPDATE {table} SET staff_id = {mira}", (lena, mira)),
            (f"DELETE FROM {table}", (mira,)),
        ]
    if not is_sqlite(database_url):
        changes += [(record, (lena,)), ("TRUNCATE records CASCADE", (lena,))]
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await business.load_demo_once(session)
        for change, members in changes:
            async with create_sessionmaker(engine)() as session, session.begin():
                before = [await _busy_count(session, member) for member in members]
                if isinstance(change, str):
                    await session.execute(text(change))
                else:
                    change(session)
                    await session.flush()
                after = [await _busy_count(session, member) for member in members]
                assert all(a > b for a, b in zip(after, before, strict=True)), change
        async with create_sessionmaker(engine)() as session, session.begin():
            record(session)
            await session.flush()
            before = [await _busy_count(session, member) for member in (lena, mira)]
            await session.execute(text("UPDATE records SET comment = 'moved to the window'"))
            await session.execute(text("UPDATE staff SET name = name"))
            assert [await _busy_count(session, member) for member in (lena, mira)] == before
    finally:
        await engine.dispose()
