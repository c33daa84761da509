"""CSV exports never hand a spreadsheet a formula; amounts the service writes stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from services.budget.domain.expenses import Expense
from services.budget.entrypoints.exports import call_ledger, inert, receipt_list

AT = datetime(2024, 8, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+49 371", "'+49 371"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("Agentur Erzgebirge", "Agentur Erzgebirge"),
        ("RE-1", "RE-1"),
        ("", ""),
    ],
)
def test_a_cell_starting_like_a_formula_gets_a_quote(cell: str, shown: str) -> None:
    assert inert(cell) == shown


def an_expense(**overrides: object) -> Expense:
    fields: dict[str, object] = {
        "id": "e1",
        "team_id": "t1",
        "call_id": "c1",
        "position": "material",
        "net_cents": 1000,
        "vat_cents": 190,
        "gross_cents": 1190,
        "fundable_cents": 1190,
        "receipt_number": "=RE-1",
        "receipt_date": date(2024, 7, 1),
        "payee": "@Payee",
        "purpose": "+Zweck",
        "status": "approved",
        "submitted_by": "agent-anna",
        "submitted_at": AT,
    }
    return Expense(**(fields | overrides))  # type: ignore[arg-type]


def test_the_receipt_list_neutralises_text_but_not_amounts() -> None:
    text = receipt_list([an_expense()], sep=";", decimal="comma")
    [row] = csv.DictReader(io.StringIO(text), delimiter=";")
    assert (row["receipt_number"], row["payee"], row["purpose"]) == ("'=RE-1", "'@Payee", "'+Zweck")
    assert (row["net_eur"], row["gross_eur"], row["receipt_date"]) == (
        "10,00",
        "11,90",
        "2024-07-01",
    )


def test_the_call_ledger_keeps_negative_amounts_as_numbers() -> None:
    entry = SimpleNamespace(
        position=7,
        transfer_id="-evil",
        booked_at=AT,
        kind="expense_approved",
        team_id="=cmd",
        expense_id=None,
        account="team:t1:spent",
        amount_cents=-1250,
    )
    [row] = csv.DictReader(
        io.StringIO(call_ledger([entry], sep=";", decimal="comma")), delimiter=";"
    )
    assert (row["transfer_id"], row["team_id"], row["expense_id"]) == ("'-evil", "'=cmd", "")
    assert row["amount_eur"] == "-12,50"
