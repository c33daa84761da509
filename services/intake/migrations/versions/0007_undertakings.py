"""undertakings: applications and teams name their company's undertaking; calls cap it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 22:55:00.000000

Applications and teams from before carry no undertaking: they count for no cap. Calls from
before cap an undertaking at their per-team maximum.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("max_undertaking_budget_cents", sa.BigInteger(), nullable=True)
        )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undertaking_id", sa.String(length=40), nullable=True))
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undertaking_id", sa.String(length=40), nullable=True))
        batch_op.create_index("ix_teams_undertaking", ["undertaking_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_index("ix_teams_undertaking")
        batch_op.drop_column("undertaking_id")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("undertaking_id")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("max_undertaking_budget_cents")
