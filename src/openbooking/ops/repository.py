"""What the readiness probe asks the database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openbooking import migrations

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The database's migration revision (None: no schema of ours), on a pooled connection;
    raises whatever the driver raises when the database cannot be reached."""
    async with engine.connect() as connection:
        return await connection.run_sync(migrations.current)
