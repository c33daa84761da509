"""agent directory: the network agents notify announces, so teams name only known agents

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 00:40:00.000000

Notify announces agents from now on. Agents already named on a team were accepted before,
so they are known from the start (under their id as their name) until notify's next
announcement of them replaces the entry.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from cimis_chassis.sqltypes import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    agents = op.create_table(
        "agents",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    # The epoch: any announcement by notify is newer and replaces the seeded entry.
    seeded_at = datetime(1970, 1, 1, tzinfo=UTC)
    named = op.get_bind().execute(sa.text("SELECT DISTINCT agent_id FROM teams")).scalars()
    rows = [{"key": a, "id": a, "name": a, "updated_at": seeded_at} for a in named]
    if rows:
        op.bulk_insert(agents, rows)


def downgrade() -> None:
    op.drop_table("agents")
