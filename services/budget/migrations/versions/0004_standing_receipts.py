"""standing receipts: a receipt is its number and payee, and counts while it stands

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 19:40:00.000000

A rejected or reversed receipt blocked its own correction: the per-team uniqueness covered
every expense ever entered. It now covers the submitted and approved ones only (a partial
unique index), and a receipt is identified by its normalised number *and* payee, so the same
invoice number from two suppliers is two receipts. Adds ``payee_key`` (filled for existing
rows), ``possible_duplicates`` (the same receipt standing in another team of the call when
an expense was submitted, for finance) and an index to find those.

The downgrade restores the old constraint, which fails if a receipt was entered again after
a rejection or reversal since: such rows are history the old rule cannot express.
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STANDING = ("submitted", "approved")


def _key(text: str) -> str:
    # A frozen copy of cimis_chassis.text.comparison_key as of this revision: a migration
    # must compute the same keys however the library changes later.
    def dashes(value: str) -> str:
        return "".join(
            "-" if unicodedata.category(c) == "Pd" or c == "\u2212" else c for c in value
        )

    visible = "".join(c for c in text if unicodedata.category(c) != "Cf")
    folded = unicodedata.normalize("NFKC", dashes(visible))
    folded = unicodedata.normalize("NFKC", dashes(folded).casefold())
    return " ".join(folded.split())


def upgrade() -> None:
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payee_key", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("possible_duplicates", sa.JSON(), nullable=True))

    expenses = sa.table(
        "expenses",
        sa.column("id", sa.String),
        sa.column("payee", sa.String),
        sa.column("payee_key", sa.String),
    )
    connection = op.get_bind()
    for expense_id, payee in connection.execute(sa.select(expenses.c.id, expenses.c.payee)):
        connection.execute(
            sa.update(expenses)
            .where(expenses.c.id == expense_id)
            .values(payee_key=_key(payee)[:300])
        )

    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.alter_column("payee_key", existing_type=sa.String(length=300), nullable=False)
        batch_op.drop_constraint("uq_expenses_team_receipt_key", type_="unique")
    standing = sa.column("status").in_(STANDING)
    op.create_index(
        "uq_expenses_standing_receipt",
        "expenses",
        ["team_id", "receipt_key", "payee_key"],
        unique=True,
        postgresql_where=standing,
        sqlite_where=standing,
    )
    op.create_index("ix_expenses_call_receipt", "expenses", ["call_id", "receipt_key"])


def downgrade() -> None:
    op.drop_index("ix_expenses_call_receipt", table_name="expenses")
    op.drop_index("uq_expenses_standing_receipt", table_name="expenses")
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_expenses_team_receipt_key", ["team_id", "receipt_key"]
        )
        batch_op.drop_column("possible_duplicates")
        batch_op.drop_column("payee_key")
