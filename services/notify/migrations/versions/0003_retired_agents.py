"""retired agents: kept for the history; their alerts go to the programme office

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 22:50:00.000000

Every agent registered so far is active.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cimis_chassis.sqltypes import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
