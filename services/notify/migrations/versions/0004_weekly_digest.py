"""weekly digest: the agent's setting, the read model of team facts and the digests sent

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:30:00.000000

Agents registered before get the default digest (Monday 08:00), as a profile saved without
one does; staff switch it off with ``"digest": null``. The read model starts empty: it fills
from the events consumed from now on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cimis_chassis.sqltypes import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_weekday", sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column("digest_time", sa.String(length=5), nullable=True))
    op.execute("UPDATE agents SET digest_weekday = 'monday', digest_time = '08:00'")
    op.create_table(
        "team_budgets",
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("allocated_cents", sa.BigInteger(), nullable=False),
        sa.Column("approved_cents", sa.BigInteger(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_team_budgets")),
    )
    op.create_table(
        "waiting_expenses",
        sa.Column("expense_id", sa.String(length=300), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("fundable_cents", sa.BigInteger(), nullable=False),
        sa.Column("submitted_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("expense_id", name=op.f("pk_waiting_expenses")),
    )
    op.create_index("ix_waiting_expenses_team", "waiting_expenses", ["team_id"])
    op.create_table(
        "team_milestones",
        sa.Column("milestone_id", sa.String(length=300), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("milestone_id", name=op.f("pk_team_milestones")),
    )
    op.create_index("ix_team_milestones_team", "team_milestones", ["team_id"])
    op.create_table(
        "digests",
        sa.Column("agent_id", sa.String(length=200), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("notification_id", sa.String(length=36), nullable=True),
        sa.Column("decided_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "week", name=op.f("pk_digests")),
    )


def downgrade() -> None:
    op.drop_table("digests")
    op.drop_index("ix_team_milestones_team", table_name="team_milestones")
    op.drop_table("team_milestones")
    op.drop_index("ix_waiting_expenses_team", table_name="waiting_expenses")
    op.drop_table("waiting_expenses")
    op.drop_table("team_budgets")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("digest_time")
        batch_op.drop_column("digest_weekday")
