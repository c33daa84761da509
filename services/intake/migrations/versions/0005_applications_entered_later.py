"""applications entered later: when and by whom, apart from when they were received

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 21:50:00.000000

Applications so far were entered as they arrived: their entry time stays empty and reads as
the time received.
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
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entered_at", UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("entered_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("entered_by")
        batch_op.drop_column("entered_at")
