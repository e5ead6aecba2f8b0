from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from alembic import command
from sqlalchemy import text

from openbooking import migrations
from openbooking.business import service as business
from openbooking.kit.db import create_engine, create_sessionmaker, is_sqlite
from openbooking.models.catalog import VERSIONED_TABLES

if TYPE_CHECKING:
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
