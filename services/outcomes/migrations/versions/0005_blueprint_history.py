"""blueprint history: each blueprint's steps into and out of the public catalogue

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00.000000

The funder's report counts the blueprints public as of a day from this history: a
resubmission clears a blueprint's own publication and withdrawal dates. The history of the
blueprints stored before is taken from the audit log, which recorded every publication and
withdrawal in the transaction that made it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cimis_chassis.sqltypes

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blueprint_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("blueprint_id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("at", cimis_chassis.sqltypes.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blueprint_history")),
    )
    op.create_index(
        "ix_blueprint_history_call", "blueprint_history", ["call_id", "at"], unique=False
    )
    op.execute(
        """
        INSERT INTO blueprint_history (blueprint_id, call_id, step, at)
        SELECT a.entity_id, b.call_id,
               CASE a.action WHEN 'blueprint.published' THEN 'published' ELSE 'withdrawn' END,
               a.occurred_at
        FROM audit_log a JOIN blueprints b ON b.id = a.entity_id
        WHERE a.entity_type = 'blueprint'
          AND a.action IN ('blueprint.published', 'blueprint.withdrawn')
        ORDER BY a.id
        """
    )


def downgrade() -> None:
    op.drop_index("ix_blueprint_history_call", table_name="blueprint_history")
    op.drop_table("blueprint_history")
