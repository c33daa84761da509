"""payouts: bank accounts, payment requests and SEPA runs; paid money apart from approved

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 21:40:00.000000

Nothing was paid out before, so every team's paid figure starts at zero and no expense is in
a payment request.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cimis_chassis.sqltypes import UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("team_budgets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paid_cents", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_request_id", sa.String(length=36), nullable=True))
    op.create_table(
        "bank_accounts",
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("account_holder", sa.String(length=140), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["team_budgets.team_id"]),
        sa.PrimaryKeyConstraint("team_id"),
    )
    op.create_table(
        "payment_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("expense_ids", sa.JSON(), nullable=False),
        sa.Column("positions", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("account_holder", sa.String(length=140), nullable=True),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("paid_by", sa.String(length=200), nullable=True),
        sa.Column("paid_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=200), nullable=True),
        sa.Column("ended_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["team_budgets.team_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_payment_requests_team", "payment_requests", ["team_id", "requested_at"], unique=False
    )
    op.create_index(
        "ix_payment_requests_status", "payment_requests", ["status", "requested_at"], unique=False
    )
    op.create_table(
        "payment_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("execution_date", sa.Date(), nullable=False),
        sa.Column("request_ids", sa.JSON(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("payment_runs")
    op.drop_index("ix_payment_requests_status", table_name="payment_requests")
    op.drop_index("ix_payment_requests_team", table_name="payment_requests")
    op.drop_table("payment_requests")
    op.drop_table("bank_accounts")
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.drop_column("payment_request_id")
    with op.batch_alter_table("team_budgets", schema=None) as batch_op:
        batch_op.drop_column("paid_cents")
