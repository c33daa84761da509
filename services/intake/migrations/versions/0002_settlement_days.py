"""settlement days: how long after a plan's end a team's costs still count (a call setting)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 19:10:00.000000

Calls opened before get the programme default of 90 days.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("settlement_days", sa.Integer(), nullable=False, server_default=sa.text("90"))
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("settlement_days")
