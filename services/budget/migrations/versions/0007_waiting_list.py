"""waiting list: teams refused for lack of money wait for it instead

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 19:40:00.000000

A team the pot could not carry was refused for good. It now waits on its call's waiting
list and is allocated, in acceptance order, when money comes back. Teams refused so far for
that reason (code ``pot-exhausted``) join the list; refusals above the per-team maximum stay.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pots", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("waiting_teams", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    op.execute(
        "UPDATE team_budgets SET status = 'waiting' "
        "WHERE status = 'refused' AND refusal_code = 'pot-exhausted'"
    )
    op.execute(
        "UPDATE pots SET waiting_teams = (SELECT count(*) FROM team_budgets t "
        "WHERE t.call_id = pots.call_id AND t.status = 'waiting')"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE team_budgets SET status = 'refused' "
        "WHERE status = 'waiting' AND refusal_code IN ('pot-exhausted', 'waiting-list')"
    )
    with op.batch_alter_table("pots", schema=None) as batch_op:
        batch_op.drop_column("waiting_teams")
