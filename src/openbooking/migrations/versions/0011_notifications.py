"""hearing about bookings: the delivery outbox (e-mail, webhooks), calendar-feed tokens, the
location's notice switches and webhooks, staff e-mail, and a record's revision number

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-02 04:44:44.572683
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbooking.kit.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("target", sa.String(length=1024), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", openbooking.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", openbooking.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", openbooking.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=32), nullable=True),
        sa.Column("sent_at", openbooking.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dead_at", openbooking.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_outbox_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["sent_at", "dead_at", "due_at"], unique=False)
        batch_op.create_index("ix_outbox_record_id", ["record_id"], unique=False)

    op.create_table(
        "calendar_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", openbooking.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", openbooking.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_calendar_tokens_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_calendar_tokens_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_tokens")),
        sa.UniqueConstraint("digest", name=op.f("uq_calendar_tokens_digest")),
    )
    with op.batch_alter_table("calendar_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_tokens_staff_id"), ["staff_id"], unique=False)

    # Plain ALTER TABLE ... ADD COLUMN: a batch "move and copy" on SQLite would drop the
    # catalog-version triggers of locations and staff (migration 0005).
    for name, default in (
        ("email_confirmation", sa.true()),
        ("email_cancellation", sa.true()),
        ("email_reminders", sa.true()),
        ("email_staff_notices", sa.true()),
        ("calendar_phones", sa.false()),
    ):
        op.add_column(
            "locations", sa.Column(name, sa.Boolean(), server_default=default, nullable=False)
        )
    op.add_column(
        "locations", sa.Column("webhooks", sa.JSON(), server_default="[]", nullable=False)
    )
    op.add_column(
        "records", sa.Column("sequence", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "staff", sa.Column("email", sa.String(length=254), server_default="", nullable=False)
    )


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch "move and copy" would drop the
    # catalog-version triggers of locations and staff (migration 0005).
    op.drop_column("staff", "email")
    op.drop_column("records", "sequence")
    for column in (
        "webhooks",
        "calendar_phones",
        "email_staff_notices",
        "email_reminders",
        "email_cancellation",
        "email_confirmation",
    ):
        op.drop_column("locations", column)

    with op.batch_alter_table("calendar_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_tokens_staff_id"))

    op.drop_table("calendar_tokens")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_record_id")
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
