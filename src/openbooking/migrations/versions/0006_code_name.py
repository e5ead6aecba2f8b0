"""the name sent with book_code, for the account a login with that code creates

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("verification_codes") as batch:
        batch.add_column(
            sa.Column("name", sa.String(length=255), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("verification_codes") as batch:
        batch.drop_column("name")
