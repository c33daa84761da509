"""CSV exports for finance: the receipt list (Belegliste) and a call's ledger.

German spreadsheets want ``;`` between fields and a decimal comma; ``sep`` and ``decimal``
query parameters switch to that, the defaults are plain CSV with a decimal point.

Text typed by people (payees, purposes, receipt numbers) or carried by events (ids) goes
through ``inert``: a spreadsheet would run a cell starting with ``=``, ``+``, ``-`` or ``@``
as a formula (CSV injection). Amounts and dates the service formats itself stay as they are,
so a negative amount is still a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from cimis_chassis.money import format_eur
from services.budget.domain.expenses import Expense

Separator = Literal[",", ";"]
DecimalMark = Literal["point", "comma"]

POSITION_LABELS = {
    "personnel": "Personal",
    "material": "Material",
    "external_services": "Fremdleistungen",
    "travel": "Reisekosten",
    "other": "Sonstiges",
}


# OWASP's list: formula starters, plus tab and carriage return, which some programs skip.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """``text`` as a cell no spreadsheet evaluates: a leading formula character gets a ``'``."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _money(cents: int, decimal: DecimalMark) -> str:
    text = format_eur(cents)
    return text.replace(".", ",") if decimal == "comma" else text


def render_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], sep: Separator) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def receipt_list(expenses: Sequence[Expense], *, sep: Separator, decimal: DecimalMark) -> str:
    """One row per receipt, in date order within each budget position (Kostenplan-Position)."""
    ordered = sorted(
        expenses,
        key=lambda e: (list(POSITION_LABELS).index(e.position), e.receipt_date, e.receipt_number),
    )
    header = [
        "position",
        "position_label",
        "receipt_number",
        "receipt_date",
        "payee",
        "purpose",
        "net_eur",
        "vat_eur",
        "gross_eur",
        "fundable_eur",
        "status",
    ]
    rows = (
        [
            e.position,
            POSITION_LABELS[e.position],
            inert(e.receipt_number),
            e.receipt_date.isoformat(),
            inert(e.payee),
            inert(e.purpose),
            _money(e.net_cents, decimal),
            _money(e.vat_cents, decimal),
            _money(e.gross_cents, decimal),
            _money(e.fundable_cents, decimal),
            e.status,
        ]
        for e in ordered
    )
    return render_csv(header, rows, sep)


def call_ledger(entries: Sequence[Any], *, sep: Separator, decimal: DecimalMark) -> str:
    """Every ledger entry of a call, in booking order (two entries per transfer)."""
    header = [
        "position",
        "transfer_id",
        "booked_at",
        "kind",
        "team_id",
        "expense_id",
        "account",
        "amount_eur",
    ]
    rows = (
        [
            e.position,
            inert(e.transfer_id),
            e.booked_at.isoformat(),
            e.kind,
            inert(e.team_id or ""),
            inert(e.expense_id or ""),
            inert(e.account),
            _money(e.amount_cents, decimal),
        ]
        for e in entries
    )
    return render_csv(header, rows, sep)
