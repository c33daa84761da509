"""team payouts: budget's released tranches and payments per team, so that a milestone whose
tranche is paid out is not reopened

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00.000000

Only tranches released from now on are learned (budget's earlier events were consumed
already): for a team's earlier tranches a reopen stays allowed, and budget keeps a spent
tranche and says so (tranche_kept).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_payouts",
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("released", sa.JSON(), nullable=False),
        sa.Column("paid_total_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_team_payouts")),
    )


def downgrade() -> None:
    op.drop_table("team_payouts")
