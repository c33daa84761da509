"""funding period: the call's settlement days and each team's plan end

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 19:20:00.000000

A team's costs count from its acceptance to its plan's end plus the call's settlement period.
Pots opened before get the programme default of 90 days; a team's plan end is learned from
milestones' next announcement of it and stays open until then.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pots", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("settlement_days", sa.Integer(), nullable=False, server_default=sa.text("90"))
        )
    with op.batch_alter_table("team_budgets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_ends_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("team_budgets", schema=None) as batch_op:
        batch_op.drop_column("plan_ends_on")
    with op.batch_alter_table("pots", schema=None) as batch_op:
        batch_op.drop_column("settlement_days")
