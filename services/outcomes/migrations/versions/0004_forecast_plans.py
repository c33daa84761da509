"""forecast plans: each call's tranche plan, each team's milestones and cost plan in force

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00.000000

Learned from the topics, so empty after the upgrade: run ``cimis outcomes rebuild`` once to
read them again. Until then a call known before counts with the programme's default tranches
and settlement period, and a team whose plan came before has no forecast (409).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecast_calls",
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("tranches", sa.JSON(), nullable=False),
        sa.Column("settlement_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_forecast_calls")),
    )
    op.create_table(
        "forecast_milestones",
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("milestone_id", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=20), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "milestone_id", name=op.f("pk_forecast_milestones")),
    )
    op.create_table(
        "forecast_cost_plans",
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_forecast_cost_plans")),
    )


def downgrade() -> None:
    op.drop_table("forecast_cost_plans")
    op.drop_table("forecast_milestones")
    op.drop_table("forecast_calls")
