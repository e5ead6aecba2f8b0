"""busy versions: counters that triggers bump on every change to a member's busy time

Availability keeps the busy intervals it read per process and checks these counters, read in
the same statement, before it trusts them: any writer (a booking, a cancellation, an
administrator's SQL) makes the next read of the members it touched read their rows again. See
docs/decisions/0018-busy-time-cache.md.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in openbooking.models.records when this revision was written: a member's counter is the
# row `staff_id & (BUCKETS - 1)` (a bitwise and, the same in Python, SQLite and PostgreSQL for
# any integer), so that the table never grows and needs no row per member.
BUCKETS = 1024
# The tables whose rows are busy time (openbooking.availability.busy.SOURCES), and the columns
# whose change can move it.
TABLES = ("records", "event_sessions")
COLUMNS = "staff_id, starts_at, ends_at, status"


def _bump(row: str) -> str:
    # `row` is NEW or OLD: nothing outside this file goes into the SQL.
    return f"UPDATE busy_versions SET version = version + 1 WHERE bucket = ({row}.staff_id & {BUCKETS - 1})"  # noqa: S608


def upgrade() -> None:
    op.create_table(
        "busy_versions",
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_busy_versions")),
    )
    op.bulk_insert(
        sa.table("busy_versions", sa.column("bucket"), sa.column("version")),
        [{"bucket": bucket, "version": 0} for bucket in range(BUCKETS)],
    )
    if op.get_bind().dialect.name == "postgresql":
        # Row triggers: a statement changing many members' rows bumps each one's counter (the
        # counters' row locks are what order two writers of one member's busy time).
        op.execute(
            "CREATE FUNCTION bump_busy_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP <> 'INSERT' THEN {_bump('OLD')}; END IF; "
            "IF TG_OP = 'INSERT' OR NEW.staff_id IS DISTINCT FROM OLD.staff_id THEN "
            f"{_bump('NEW')}; END IF; "
            "RETURN NULL; END $$"
        )
        op.execute(
            "CREATE FUNCTION bump_every_busy_version() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN UPDATE busy_versions SET version = version + 1; RETURN NULL; END $$"
        )
        for table in TABLES:
            for event in ("INSERT", "DELETE", f"UPDATE OF {COLUMNS}"):
                op.execute(
                    f"CREATE TRIGGER bump_busy_version_{table}_{event.split()[0].lower()} "
                    f"AFTER {event} ON {table} FOR EACH ROW EXECUTE FUNCTION bump_busy_version()"
                )
            op.execute(
                f"CREATE TRIGGER bump_busy_version_{table}_truncate AFTER TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_every_busy_version()"
            )
    else:
        # A later migration that rebuilds one of these tables (batch "move and copy") drops its
        # triggers and must create them again.
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER bump_busy_version_{table}_insert AFTER INSERT ON {table} "
                f"BEGIN {_bump('NEW')}; END"
            )
            op.execute(
                f"CREATE TRIGGER bump_busy_version_{table}_delete AFTER DELETE ON {table} "
                f"BEGIN {_bump('OLD')}; END"
            )
            op.execute(
                f"CREATE TRIGGER bump_busy_version_{table}_update AFTER UPDATE OF {COLUMNS} "
                f"ON {table} BEGIN {_bump('OLD')}; "
                f"{_bump('NEW')} AND NEW.staff_id IS NOT OLD.staff_id; END"
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        for event in ("insert", "delete", "update", *(["truncate"] if postgresql else [])):
            op.execute(
                f"DROP TRIGGER bump_busy_version_{table}_{event}"
                + (f" ON {table}" if postgresql else "")
            )
    if postgresql:
        op.execute("DROP FUNCTION bump_every_busy_version()")
        op.execute("DROP FUNCTION bump_busy_version()")
    op.drop_table("busy_versions")
