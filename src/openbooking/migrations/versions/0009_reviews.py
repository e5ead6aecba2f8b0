"""reviews after a visit (one row per visit: the request's token digest, then the review), the
members' rating totals beside the versioned catalog, and the per-location switch

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02 04:45:27.339268
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbooking.kit.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_ratings",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("rating_sum", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_ratings_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("staff_id", name=op.f("pk_staff_ratings")),
    )
    op.create_table(
        "reviews",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("requested_at", openbooking.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", openbooking.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tips_amount", sa.Double(), nullable=False),
        sa.Column("submitted_at", openbooking.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_reviews_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_reviews_record_id_records")
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_reviews_staff_id_staff")),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_reviews_token_digest")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_location_id"), ["location_id"], unique=False)
        batch_op.create_index(
            "ix_reviews_staff_submitted", ["staff_id", "submitted_at"], unique=False
        )

    # Plain ALTER TABLE (no batch copy): the catalog-version triggers on `locations` stay.
    op.add_column(
        "locations", sa.Column("review_sms", sa.Boolean(), server_default=sa.true(), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("locations", "review_sms")

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_staff_submitted")
        batch_op.drop_index(batch_op.f("ix_reviews_location_id"))

    op.drop_table("reviews")
    op.drop_table("staff_ratings")
