"""agent salutation: "Frau" or "Herr", for the greeting a programme office writes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 22:45:00.000000

Agents registered before have none: they are greeted by name until staff set one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("salutation", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("salutation")
