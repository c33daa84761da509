"""The receipt list (Belegliste) as an auditor files it: CSV or XLSX, German or English.

One row per receipt, numbered (lfd. Nr.), grouped by budget line in the call's order and by
date within a line, a subtotal after each line and a grand total at the end. German lists
use ``;``, a decimal comma, dates as TT.MM.JJJJ and the office's words ("als förderfähig
anerkannt"); English ones ``,``, a decimal point and ISO dates. The spreadsheet keeps amounts
as numbers and dates as dates, and writes every text as text, so nothing typed by a person
is ever run as a formula (the CSV neutralises such cells, see ``exports.inert``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import groupby
from typing import Literal

import xlsxwriter

from services.budget.domain.calendar import BERLIN
from services.budget.domain.expenses import Expense
from services.budget.entrypoints.exports import (
    POSITION_LABELS,
    DecimalMark,
    Separator,
    inert,
    money_text,
    render_csv,
)

Language = Literal["de", "en"]

HEADERS: dict[Language, tuple[str, ...]] = {
    "de": (
        "lfd. Nr.",
        "Belegdatum",
        "Zahlungsdatum",
        "Beleg-Nr.",
        "Zahlungsempfänger",
        "Zweck",
        "Kostenposition",
        "Netto",
        "USt",
        "Brutto",
        "förderfähig",
        "Status",
        "geprüft von/am",
    ),
    "en": (
        "No.",
        "Receipt date",
        "Payment date",
        "Receipt no.",
        "Payee",
        "Purpose",
        "Budget line",
        "Net",
        "VAT",
        "Gross",
        "Fundable",
        "Status",
        "Checked by/on",
    ),
}
LINE_LABELS: dict[Language, dict[str, str]] = {
    "de": POSITION_LABELS,
    "en": {
        "personnel": "Personnel",
        "material": "Material",
        "external_services": "External services",
        "travel": "Travel",
        "other": "Other",
    },
}
STATUS_LABELS: dict[Language, dict[str, str]] = {
    "de": {
        "submitted": "eingereicht",
        "approved": "als förderfähig anerkannt",
        "rejected": "abgelehnt",
        "reversed": "storniert",
    },
    "en": {
        "submitted": "submitted",
        "approved": "recognised as fundable",
        "rejected": "rejected",
        "reversed": "reversed",
    },
}
SUBTOTAL: dict[Language, str] = {"de": "Summe", "en": "Subtotal"}
TOTAL: dict[Language, str] = {"de": "Gesamtsumme", "en": "Total"}
AMOUNT_COLUMNS = range(7, 11)  # Netto, USt, Brutto, förderfähig


@dataclass(frozen=True)
class Amounts:
    net_cents: int = 0
    vat_cents: int = 0
    gross_cents: int = 0
    fundable_cents: int = 0

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(
            self.net_cents + other.net_cents,
            self.vat_cents + other.vat_cents,
            self.gross_cents + other.gross_cents,
            self.fundable_cents + other.fundable_cents,
        )

    def cents(self) -> tuple[int, int, int, int]:
        return (self.net_cents, self.vat_cents, self.gross_cents, self.fundable_cents)


@dataclass(frozen=True)
class Receipt:
    number: int
    expense: Expense

    @property
    def amounts(self) -> Amounts:
        e = self.expense
        return Amounts(e.net_cents, e.vat_cents, e.gross_cents, e.fundable_cents)


@dataclass(frozen=True)
class Sum:
    label: str
    amounts: Amounts
    total: bool = False


Row = Receipt | Sum


def receipt_rows(expenses: Sequence[Expense], language: Language) -> list[Row]:
    """The list's rows in order: receipts by budget line, a subtotal per line, the total."""
    lines = list(POSITION_LABELS)
    ordered = sorted(
        expenses, key=lambda e: (lines.index(e.position), e.receipt_date, e.receipt_number)
    )
    rows: list[Row] = []
    total = Amounts()
    number = 0
    for position, group in groupby(ordered, key=lambda e: e.position):
        line = Amounts()
        for expense in group:
            number += 1
            receipt = Receipt(number, expense)
            rows.append(receipt)
            line += receipt.amounts
        rows.append(Sum(f"{SUBTOTAL[language]} {LINE_LABELS[language][position]}", line))
        total += line
    rows.append(Sum(TOTAL[language], total, total=True))
    return rows


def _day(day: date | None, language: Language) -> str:
    if day is None:
        return ""
    return day.strftime("%d.%m.%Y") if language == "de" else day.isoformat()


def _checked(expense: Expense, language: Language) -> str:
    if expense.decided_by is None or expense.decided_at is None:
        return ""
    return f"{expense.decided_by}, {_day(expense.decided_at.astimezone(BERLIN).date(), language)}"


def receipt_list_csv(
    expenses: Sequence[Expense],
    language: Language,
    *,
    sep: Separator,
    decimal: DecimalMark,
    paid_on: Mapping[str, date] | None = None,
) -> str:
    """``paid_on``: the bank's value date of each paid expense (Zahlungsdatum)."""
    paid_on = paid_on or {}
    table: list[list[str]] = []
    for row in receipt_rows(expenses, language):
        amounts = [money_text(cents, decimal) for cents in row.amounts.cents()]
        if isinstance(row, Sum):
            table.append(["", "", "", "", "", "", row.label, *amounts, "", ""])
            continue
        e = row.expense
        table.append(
            [
                str(row.number),
                _day(e.receipt_date, language),
                _day(paid_on.get(e.id), language),
                inert(e.receipt_number),
                inert(e.payee),
                inert(e.purpose),
                LINE_LABELS[language][e.position],
                *amounts,
                STATUS_LABELS[language][e.status],
                inert(_checked(e, language)),
            ]
        )
    return render_csv(HEADERS[language], table, sep)


def _euros(cents: int) -> Decimal:
    # A spreadsheet keeps numbers as doubles; written with 16 significant digits, an amount in
    # cents below 10^13 EUR reads back exactly.
    return Decimal(cents).scaleb(-2)


def receipt_list_xlsx(
    expenses: Sequence[Expense],
    language: Language,
    *,
    title: str,
    paid_on: Mapping[str, date] | None = None,
) -> bytes:
    paid_on = paid_on or {}
    buffer = io.BytesIO()
    # Strings are written as strings: never a formula, whatever a payee is called.
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False}
    )
    sheet = workbook.add_worksheet("Belegliste" if language == "de" else "Receipts")
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00"})
    money_bold = workbook.add_format({"num_format": "#,##0.00", "bold": True})
    day = workbook.add_format({"num_format": "dd.mm.yyyy" if language == "de" else "yyyy-mm-dd"})
    sheet.write_string(0, 0, title, bold)
    sheet.write_row(2, 0, HEADERS[language], bold)
    at = 3
    for row in receipt_rows(expenses, language):
        if isinstance(row, Sum):
            sheet.write_string(at, 6, row.label, bold)
            for column, cents in zip(AMOUNT_COLUMNS, row.amounts.cents(), strict=True):
                sheet.write_number(at, column, _euros(cents), money_bold)
        else:
            e = row.expense
            sheet.write_number(at, 0, row.number)
            sheet.write_datetime(at, 1, e.receipt_date, day)
            if e.id in paid_on:
                sheet.write_datetime(at, 2, paid_on[e.id], day)
            sheet.write_string(at, 3, e.receipt_number)
            sheet.write_string(at, 4, e.payee)
            sheet.write_string(at, 5, e.purpose)
            sheet.write_string(at, 6, LINE_LABELS[language][e.position])
            for column, cents in zip(AMOUNT_COLUMNS, row.amounts.cents(), strict=True):
                sheet.write_number(at, column, _euros(cents), money)
            sheet.write_string(at, 11, STATUS_LABELS[language][e.status])
            sheet.write_string(at, 12, _checked(e, language))
        at += 1
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, 3, 13)
    sheet.set_column(4, 6, 28)
    sheet.set_column(7, 10, 12)
    sheet.set_column(11, 12, 26)
    sheet.freeze_panes(3, 0)
    workbook.close()
    return buffer.getvalue()
