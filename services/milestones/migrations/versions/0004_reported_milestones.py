"""reported milestones: who reported a milestone done and when, before staff confirm it

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 22:10:00.000000

Milestones completed before were completed in one step: they stay completed, with no report.
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
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reported_at", UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reported_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    # A report nobody confirmed yet would read as open again: it was not completed.
    op.execute("UPDATE milestones SET status = 'open' WHERE status = 'reported'")
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_column("reported_by")
        batch_op.drop_column("reported_at")
