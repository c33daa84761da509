"""escalation days: an overdue milestone still open this long goes to the office too

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 22:30:00.000000

Calls opened before get the programme default of 14 days.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("escalation_days", sa.Integer(), nullable=False, server_default=sa.text("14"))
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("escalation_days")
