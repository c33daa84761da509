"""CSV exports never hand a spreadsheet a formula; amounts the service writes stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from services.budget.domain.expenses import Expense
from services.budget.entrypoints.exports import call_ledger, inert
from services.budget.entrypoints.receipt_list import receipt_list_csv

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
    text = receipt_list_csv([an_expense()], "de", sep=";", decimal="comma")
    [row, _, _] = csv.DictReader(io.StringIO(text), delimiter=";")
    assert (row["Beleg-Nr."], row["Zahlungsempfänger"], row["Zweck"]) == (
        "'=RE-1",
        "'@Payee",
        "'+Zweck",
    )
    assert (row["Netto"], row["Brutto"], row["Belegdatum"]) == ("10,00", "11,90", "01.07.2024")


def test_an_empty_receipt_list_still_has_its_total() -> None:
    lines = receipt_list_csv([], "en", sep=",", decimal="point").splitlines()
    assert lines[1:] == [",,,,,,Total,0.00,0.00,0.00,0.00,,"]


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
