"""waived milestones: the forecast leaves a waived milestone's tranche out of the curve

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00.000000

Budget never releases the tranche of a milestone staff waived, so the burn-rate forecast no
longer expects it to be spent. Learned from the topics, so false for every milestone after the
upgrade: run ``cimis outcomes rebuild`` once so that milestones waived before count as waived.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("forecast_milestones", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("waived", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("forecast_milestones", schema=None) as batch_op:
        batch_op.drop_column("waived")
