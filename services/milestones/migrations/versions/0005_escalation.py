"""escalation: each plan keeps its call's escalation period; escalations are claimed once

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 22:40:00.000000

Plans and call templates made before get the programme default of 14 days.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cimis_chassis.sqltypes import UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("plans", "call_plans"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "escalation_days", sa.Integer(), nullable=False, server_default=sa.text("14")
                )
            )
    op.create_table(
        "overdue_escalations",
        sa.Column("milestone_id", sa.String(length=36), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("detected_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["milestones.id"],
            name=op.f("fk_overdue_escalations_milestone_id_milestones"),
        ),
        sa.PrimaryKeyConstraint("milestone_id", "due_date", name=op.f("pk_overdue_escalations")),
    )


def downgrade() -> None:
    op.drop_table("overdue_escalations")
    for table in ("call_plans", "plans"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("escalation_days")
