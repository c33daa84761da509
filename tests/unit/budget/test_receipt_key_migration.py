"""Migrations 0003 and 0004: receipt keys on existing rows, then standing receipts with payees."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError

from cimis_chassis.migrations import alembic_config
from services.budget.domain.expenses import payee_key, receipt_key

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "budget" / "migrations"

TEAM = (
    "INSERT INTO team_budgets (team_id, call_id, agent_id, title, input_vat_deductible, "
    "requested_cents, accepted_at, status, allocated_cents, released_cents, reserved_cents, "
    "available_cents, pending_cents, approved_cents, returned_cents, released_triggers, "
    "completed_milestones, thresholds_crossed) VALUES ('t1', 'c1', 'a', 'x', 0, 1, "
    "'2024-01-01 00:00:00', 'allocated', 0, 0, 0, 0, 0, 0, 0, '[]', '[]', '[]')"
)
EXPENSE = (
    "INSERT INTO expenses (id, team_id, call_id, position, net_cents, vat_cents, gross_cents, "
    "fundable_cents, receipt_number, {key_column}receipt_date, payee, purpose, status, "
    "submitted_by, submitted_at) VALUES (:id, 't1', 'c1', 'other', 1, 0, 1, 1, :number, "
    "{key_value}'2024-01-01', 'p', 'p', 'submitted', 's', '2024-01-01 00:00:00')"
)


def insert_expense(connection: sa.Connection, expense_id: str, number: str, *, keyed: bool) -> None:
    sql = EXPENSE.format(
        key_column="receipt_key, " if keyed else "", key_value=":key, " if keyed else ""
    )
    params = {"id": expense_id, "number": number, "key": receipt_key(number)}
    connection.execute(sa.text(sql), params)


def test_existing_receipts_get_keys_and_look_alikes_survive_the_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'budget.db'}"
    config = alembic_config(MIGRATIONS, url)
    command.upgrade(config, "0002")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(TEAM))
        for n, number in enumerate(["RE-1", "re-1", "RE\u20101", "Other"]):
            insert_expense(connection, f"e{n}", number, keyed=False)

    command.upgrade(config, "0003")

    with engine.begin() as connection:
        rows = connection.execute(sa.text("SELECT id, receipt_key FROM expenses")).all()
    keys = {expense_id: key for expense_id, key in rows}
    assert keys == {"e0": "re-1", "e1": "re-1#e1", "e2": "re-1#e2", "e3": "other"}
    with pytest.raises(IntegrityError), engine.begin() as connection:
        insert_expense(connection, "e9", "ＲＥ－１", keyed=True)
    engine.dispose()


STANDING_EXPENSE = (
    "INSERT INTO expenses (id, team_id, call_id, position, net_cents, vat_cents, gross_cents, "
    "fundable_cents, receipt_number, receipt_key, receipt_date, payee, payee_key, purpose, "
    "status, submitted_by, submitted_at) VALUES (:id, 't1', 'c1', 'other', 1, 0, 1, 1, 'RE-1', "
    "'re-1', '2024-01-01', :payee, :payee_key, 'p', :status, 's', '2024-01-01 00:00:00')"
)


def test_payees_are_keyed_and_only_standing_receipts_stay_unique(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'budget.db'}"
    config = alembic_config(MIGRATIONS, url)
    command.upgrade(config, "0003")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(TEAM))
        insert_expense(connection, "e1", "RE-1", keyed=True)
        connection.execute(
            sa.text("UPDATE expenses SET payee = 'Müller  GMBH', status = 'rejected'")
        )

    command.upgrade(config, "head")

    def insert(expense_id: str, payee: str, status: str = "submitted") -> None:
        with engine.begin() as connection:
            connection.execute(
                sa.text(STANDING_EXPENSE),
                {"id": expense_id, "payee": payee, "payee_key": payee_key(payee), "status": status},
            )

    with engine.begin() as connection:
        [key] = connection.execute(sa.text("SELECT payee_key FROM expenses")).scalars()
    assert key == payee_key("Müller GmbH")
    insert("e2", "Müller GmbH")  # the rejected one no longer holds the receipt
    insert("e3", "Schulz KG")  # another payee's invoice 1 is another receipt
    with pytest.raises(IntegrityError):
        insert("e4", "Müller GmbH", status="approved")
    engine.dispose()
