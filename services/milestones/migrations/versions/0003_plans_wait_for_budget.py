"""plans wait for budget: budget's word on each team, when a plan started, closed plans

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 09:00:00.000000

A plan now starts only when budget has allocated the team (``pending_budget`` until then) and
ends ``closed`` when the team withdrew or budget refused or closed its money. ``team_funding``
keeps budget's latest word on a team, also when it arrives before the team's plan.

Existing plans were started on acceptance under the old rule: they stay as they are (active,
completed) and started then; a withdrawn team's plan, ``cancelled`` until now, is ``closed``.
Milestones' consumer group has never read budget's topic, so it reads it from the start once:
an existing plan of a team budget refused outright is closed then, and the others keep
running. A downgrade puts waiting plans back to running, as the old rule had them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cimis_chassis.sqltypes

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_funding",
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_at", cimis_chassis.sqltypes.UtcDateTime(timezone=True), nullable=True),
        sa.Column("from_waiting_list", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_team_funding")),
    )
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "started_at", cimis_chassis.sqltypes.UtcDateTime(timezone=True), nullable=True
            )
        )
    op.execute(sa.text("UPDATE plans SET started_at = accepted_at"))
    op.execute(sa.text("UPDATE plans SET status = 'closed' WHERE status = 'cancelled'"))


def downgrade() -> None:
    op.execute(sa.text("UPDATE plans SET status = 'cancelled' WHERE status = 'closed'"))
    op.execute(sa.text("UPDATE plans SET status = 'active' WHERE status = 'pending_budget'"))
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("started_at")
    op.drop_table("team_funding")
