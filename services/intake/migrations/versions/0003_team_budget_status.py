"""team budget status: what budget made of an accepted team, as its events tell intake

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 19:45:00.000000

Teams start as ``pending``; intake's new consumer of budget's topic moves them to
``allocated``, ``waiting``, ``refused`` or ``closed``. Teams accepted before learn theirs when
budget's events are read from the start of the topic (a new consumer group does so).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "budget_status",
                sa.String(length=20),
                nullable=False,
                server_default=sa.text("'pending'"),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("budget_status")
