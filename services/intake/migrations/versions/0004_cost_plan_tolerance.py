"""cost plan tolerance: how far a team's cost plan line may shift without a second approval

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:10:00.000000

Calls opened before get the programme default of 20 percent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "cost_plan_tolerance_percent",
                sa.Integer(),
                nullable=False,
                server_default=sa.text("20"),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("cost_plan_tolerance_percent")
