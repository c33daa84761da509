"""receipt keys: a receipt number is unique per team in its normalised form

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000

Adds ``expenses.receipt_key`` (case, Unicode dashes and invisible characters folded away),
fills it for existing rows and moves the per-team uniqueness from the number as typed to
the key. Rows that collide under the new key (``RE-1`` and ``re-1`` entered before this
revision) keep distinct keys, suffixed with their expense id, so the upgrade never fails on
history; new submissions of either spelling are refused as duplicates.
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(number: str) -> str:
    # A frozen copy of cimis_chassis.text.comparison_key as of this revision: a migration
    # must compute the same keys however the library changes later.
    def dashes(text: str) -> str:
        return "".join("-" if unicodedata.category(c) == "Pd" or c == "\u2212" else c for c in text)

    visible = "".join(c for c in number if unicodedata.category(c) != "Cf")
    folded = unicodedata.normalize("NFKC", dashes(visible))
    folded = unicodedata.normalize("NFKC", dashes(folded).casefold())
    return " ".join(folded.split())


def upgrade() -> None:
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt_key", sa.String(length=200), nullable=True))

    expenses = sa.table(
        "expenses",
        sa.column("id", sa.String),
        sa.column("team_id", sa.String),
        sa.column("receipt_number", sa.String),
        sa.column("receipt_key", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(expenses.c.id, expenses.c.team_id, expenses.c.receipt_number).order_by(
            expenses.c.team_id, expenses.c.id
        )
    ).all()
    taken: set[tuple[str, str]] = set()
    for expense_id, team_id, number in rows:
        key = _key(number)[:150] or "-"
        if (team_id, key) in taken:
            key = f"{key}#{expense_id}"
        taken.add((team_id, key))
        connection.execute(
            sa.update(expenses).where(expenses.c.id == expense_id).values(receipt_key=key)
        )

    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.alter_column("receipt_key", existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_constraint("uq_expenses_team_receipt", type_="unique")
        batch_op.create_unique_constraint(
            "uq_expenses_team_receipt_key", ["team_id", "receipt_key"]
        )


def downgrade() -> None:
    # Equal numbers have equal keys, so the old constraint holds for every row kept since.
    with op.batch_alter_table("expenses", schema=None) as batch_op:
        batch_op.drop_constraint("uq_expenses_team_receipt_key", type_="unique")
        batch_op.create_unique_constraint("uq_expenses_team_receipt", ["team_id", "receipt_number"])
        batch_op.drop_column("receipt_key")
