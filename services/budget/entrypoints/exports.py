"""CSV exports for finance: a call's ledger, and the pieces the receipt list shares.

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


def money_text(cents: int, decimal: DecimalMark) -> str:
    text = format_eur(cents)
    return text.replace(".", ",") if decimal == "comma" else text


def render_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], sep: Separator) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


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
