"""catalog version: a counter that triggers bump on every change to what availability reads

Availability caches each location's team and schedules per process and checks this counter in
the same statement as the records, so that any writer (the business loader, an administrator's
SQL, a test) invalidates every cache at once. See docs/decisions/0004-catalog-cache.md.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 23:17:16.900171
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in openbooking.models.catalog.VERSIONED_TABLES when this revision was written.
TABLES = (
    "locations",
    "positions",
    "services",
    "staff",
    "staff_services",
    "schedule_intervals",
    "days_off",
)
BUMP = "UPDATE catalog_version SET version = version + 1 WHERE id = 1"
# The rows each event's statement-level trigger on PostgreSQL looks at.
CHANGED_ROWS = {"insert": "NEW", "update": "NEW", "delete": "OLD"}


def upgrade() -> None:
    op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_version")),
    )
    op.execute("INSERT INTO catalog_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        # One bump per statement that changed rows (a transition table holds them, and may be
        # given to a trigger of one event only), so that reloading an unchanged business file
        # changes nothing; and one per TRUNCATE.
        op.execute(
            "CREATE FUNCTION bump_catalog_version_if_changed() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN IF EXISTS (SELECT FROM changed) THEN {BUMP}; "
            "END IF; RETURN NULL; END $$"
        )
        op.execute(
            "CREATE FUNCTION bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in TABLES:
            for event, rows in CHANGED_ROWS.items():
                op.execute(
                    f"CREATE TRIGGER bump_catalog_version_{table}_{event} AFTER {event} ON {table} "
                    f"REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT "
                    "EXECUTE FUNCTION bump_catalog_version_if_changed()"
                )
            op.execute(
                f"CREATE TRIGGER bump_catalog_version_{table}_truncate AFTER TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_version()"
            )
    else:
        # SQLite has row triggers only. A later migration that rebuilds one of these tables
        # (batch "move and copy") drops its triggers and must create them again.
        for table in TABLES:
            for event in CHANGED_ROWS:
                op.execute(
                    f"CREATE TRIGGER bump_catalog_version_{table}_{event} AFTER {event} ON {table} "
                    f"BEGIN {BUMP}; END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for event in [*CHANGED_ROWS, "truncate"]:
                op.execute(f"DROP TRIGGER bump_catalog_version_{table}_{event} ON {table}")
        op.execute("DROP FUNCTION bump_catalog_version()")
        op.execute("DROP FUNCTION bump_catalog_version_if_changed()")
    else:
        for table in TABLES:
            for event in CHANGED_ROWS:
                op.execute(f"DROP TRIGGER bump_catalog_version_{table}_{event}")
    op.drop_table("catalog_version")
