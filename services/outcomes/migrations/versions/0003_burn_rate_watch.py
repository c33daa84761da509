"""burn-rate watch: each call's tolerance and each team's last announced status

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 01:15:00.000000

Calls known before get the programme default of 25 percent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cimis_chassis.sqltypes

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "burn_rate_tolerance_percent",
                sa.Integer(),
                nullable=False,
                server_default=sa.text("25"),
            )
        )
    op.create_table(
        "forecast_states",
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("updated_at", cimis_chassis.sqltypes.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_forecast_states")),
    )


def downgrade() -> None:
    op.drop_table("forecast_states")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("burn_rate_tolerance_percent")
