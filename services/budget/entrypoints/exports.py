"""CSV exports for finance: a call's ledger, and the pieces the receipt list shares.

The defaults are plain CSV with a decimal point; ``sep`` and ``decimal`` query parameters
switch to what German spreadsheets want. The mechanics (and why text goes through
``inert``) are the chassis's: :mod:`cimis_chassis.csv_export`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cimis_chassis.csv_export import DecimalMark as DecimalMark
from cimis_chassis.csv_export import Separator as Separator
from cimis_chassis.csv_export import inert as inert
from cimis_chassis.csv_export import money_text as money_text
from cimis_chassis.csv_export import render_csv as render_csv

POSITION_LABELS = {
    "personnel": "Personal",
    "material": "Material",
    "external_services": "Fremdleistungen",
    "travel": "Reisekosten",
    "other": "Sonstiges",
}


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
            money_text(e.amount_cents, decimal),
        ]
        for e in entries
    )
    return render_csv(header, rows, sep)
