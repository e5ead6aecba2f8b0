"""booking forms list the origins allowed to frame the widget page

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bookforms") as batch:
        batch.add_column(sa.Column("embed_origins", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("bookforms") as batch:
        batch.drop_column("embed_origins")
