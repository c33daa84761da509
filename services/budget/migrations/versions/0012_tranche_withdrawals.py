"""tranche withdrawals: a reopened milestone's tranche goes back to the reserve, and back

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 22:15:00.000000

No tranche was ever withdrawn before: every team starts with none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("team_budgets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "tranche_withdrawals", sa.JSON(), nullable=False, server_default=sa.text("'[]'")
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("team_budgets", schema=None) as batch_op:
        batch_op.drop_column("tranche_withdrawals")
