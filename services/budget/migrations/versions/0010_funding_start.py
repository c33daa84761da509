"""funding start: the first day whose costs count, when staff set one

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 21:35:00.000000

Teams so far start on their day of acceptance, which an empty column keeps meaning.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("team_budgets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("funding_starts_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("team_budgets", schema=None) as batch_op:
        batch_op.drop_column("funding_starts_on")
