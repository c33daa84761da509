"""waived milestones: staff may waive one; the tranches after it follow, its own stays

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 22:00:00.000000

No milestone was waived before: every team starts with none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("team_budgets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "waived_milestones", sa.JSON(), nullable=False, server_default=sa.text("'[]'")
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("team_budgets", schema=None) as batch_op:
        batch_op.drop_column("waived_milestones")
