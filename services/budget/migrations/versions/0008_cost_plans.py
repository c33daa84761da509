"""cost plans: every version of a team's Kostenplan, and the call's shift tolerance

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 21:20:00.000000

Pots opened before get the programme default tolerance of 20 percent. Teams have no cost plan
until staff set one; until then expenses are limited by the released money only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cimis_chassis.sqltypes import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pots", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "cost_plan_tolerance_percent",
                sa.Integer(),
                nullable=False,
                server_default=sa.text("20"),
            )
        )
    op.create_table(
        "cost_plans",
        sa.Column("id", sa.String(length=60), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.String(length=200), nullable=False),
        sa.Column("proposed_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["team_budgets.team_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_cost_plans_version", "cost_plans", ["team_id", "version"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_cost_plans_version", table_name="cost_plans")
    op.drop_table("cost_plans")
    with op.batch_alter_table("pots", schema=None) as batch_op:
        batch_op.drop_column("cost_plan_tolerance_percent")
