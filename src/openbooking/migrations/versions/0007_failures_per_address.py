"""failed code checks remember the client address: budgets per phone and address, and per address

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("verification_failures") as batch:
        batch.add_column(
            sa.Column("client", sa.String(length=64), server_default="", nullable=False)
        )
        batch.create_index("ix_verification_failures_client_at", ["client", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("verification_failures") as batch:
        batch.drop_index("ix_verification_failures_client_at")
        batch.drop_column("client")
