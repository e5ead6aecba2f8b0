from __future__ import annotations

import pytest
from alembic import command

from openbooking import migrations


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
