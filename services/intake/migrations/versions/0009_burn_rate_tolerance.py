"""burn-rate tolerance: how far a team's spending may stray from its plan, per call

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 01:10:00.000000

Calls opened before get the programme default of 25 percent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "burn_rate_tolerance_percent",
                sa.Integer(),
                nullable=False,
                server_default=sa.text("25"),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("burn_rate_tolerance_percent")
