"""The final statement as JSON, CSV and a PDF a funder files, German or English.

The PDF uses the PDF core fonts in Windows-1252 (umlauts, ß, €, dashes) and carries the
statement day as its creation date, so the same statement is the same bytes every time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from cimis_chassis.money import format_eur
from cimis_chassis.pdf_text import core_font_text
from services.budget.domain.final_statement import FinalStatement, end_of_day
from services.budget.entrypoints.exports import (
    DecimalMark,
    Separator,
    money_text,
    render_csv,
)
from services.budget.entrypoints.receipt_list import LINE_LABELS, Language

WORDS: dict[Language, dict[str, str]] = {
    "de": {
        "title": "Zahlenmäßiger Verwendungsnachweis",
        "team": "Team",
        "call": "Aufruf",
        "as_of": "Stand",
        "plan": "Kostenplan",
        "plan_version": "Version {version}, in Kraft seit {since}",
        "no_plan": "kein Kostenplan festgelegt",
        "line": "Kostenposition",
        "planned": "Plan",
        "approved": "Ist (förderfähig anerkannt)",
        "deviation": "Abweichung",
        "within": "innerhalb Toleranz",
        "yes": "ja",
        "no": "nein",
        "total": "Gesamtsumme",
        "allocated": "Bewilligtes Umsetzungsbudget",
        "tranches": "Freigegebene Tranchen",
        "paid": "Ausgezahlt",
        "approved_unpaid": "Anerkannt, noch nicht ausgezahlt",
        "unspent": "Nicht verausgabt (fließt an den Fonds zurück)",
        "tolerance": "Toleranz je Kostenposition: {percent} %",
        "payouts": "Auszahlungen",
        "figure": "Kennzahl",
        "amount": "Betrag",
    },
    "en": {
        "title": "Final statement of expenditure",
        "team": "Team",
        "call": "Call",
        "as_of": "As of",
        "plan": "Cost plan",
        "plan_version": "version {version}, in force since {since}",
        "no_plan": "no cost plan set",
        "line": "Budget line",
        "planned": "Planned",
        "approved": "Actual (recognised as fundable)",
        "deviation": "Deviation",
        "within": "within tolerance",
        "yes": "yes",
        "no": "no",
        "total": "Total",
        "allocated": "Implementation budget allocated",
        "tranches": "Tranches released",
        "paid": "Paid out",
        "approved_unpaid": "Recognised, not yet paid out",
        "unspent": "Unspent (returns to the call's pot)",
        "tolerance": "Tolerance per budget line: {percent} %",
        "payouts": "Payouts",
        "figure": "Figure",
        "amount": "Amount",
    },
}


def _day(day: date, language: Language) -> str:
    return day.strftime("%d.%m.%Y") if language == "de" else day.isoformat()


def _mark(language: Language) -> DecimalMark:
    return "comma" if language == "de" else "point"


def _money(cents: int | None, decimal: DecimalMark) -> str:
    return "" if cents is None else money_text(cents, decimal)


def statement_json(st: FinalStatement) -> dict[str, Any]:
    plan = st.plan
    return {
        "team_id": st.team.team_id,
        "call_id": st.team.call_id,
        "title": st.team.title,
        "as_of": st.as_of.isoformat(),
        "allocated": format_eur(st.allocated_cents),
        "cost_plan": None
        if plan is None
        else {"version": plan.version, "in_force_since": _iso(plan.decided_at)},
        "tolerance_percent": st.lines[0].tolerance_percent if st.lines else None,
        "lines": [
            {
                "position": line.position,
                "planned": None if line.planned_cents is None else format_eur(line.planned_cents),
                "approved": format_eur(line.approved_cents),
                "deviation": None
                if line.deviation_cents is None
                else format_eur(line.deviation_cents),
                "within_tolerance": line.within_tolerance,
            }
            for line in st.lines
        ],
        "approved": format_eur(st.approved_cents),
        "tranches_received": format_eur(st.tranches_received_cents),
        "tranches": [
            {
                "trigger": t.trigger,
                "amount": format_eur(t.amount_cents),
                "released_on": t.released_on.isoformat(),
            }
            for t in st.tranches
        ],
        "paid": format_eur(st.paid_cents),
        "payouts": [
            {
                "request_id": p.request_id,
                "amount": format_eur(p.amount_cents),
                "paid_on": p.paid_on.isoformat(),
            }
            for p in st.payouts
        ],
        "approved_unpaid": format_eur(st.approved_unpaid_cents),
        "unspent": format_eur(st.unspent_cents),
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _line_rows(st: FinalStatement, language: Language, decimal: DecimalMark) -> list[list[str]]:
    w = WORDS[language]
    rows = []
    for line in st.lines:
        within = line.within_tolerance
        rows.append(
            [
                LINE_LABELS[language][line.position],
                _money(line.planned_cents, decimal),
                _money(line.approved_cents, decimal),
                _money(line.deviation_cents, decimal),
                "" if within is None else w["yes"] if within else w["no"],
            ]
        )
    planned = None if st.plan is None else sum(c for _, c in st.plan.lines)
    rows.append(
        [
            w["total"],
            _money(planned, decimal),
            _money(st.approved_cents, decimal),
            _money(None if planned is None else st.approved_cents - planned, decimal),
            "",
        ]
    )
    return rows


def _figures(st: FinalStatement, language: Language) -> list[tuple[str, int]]:
    w = WORDS[language]
    return [
        (w["allocated"], st.allocated_cents),
        (w["tranches"], st.tranches_received_cents),
        (w["approved"], st.approved_cents),
        (w["paid"], st.paid_cents),
        (w["approved_unpaid"], st.approved_unpaid_cents),
        (w["unspent"], st.unspent_cents),
    ]


def statement_csv(
    st: FinalStatement, language: Language, *, sep: Separator, decimal: DecimalMark
) -> str:
    """The lines table, then the summary figures under their own header row."""
    w = WORDS[language]
    rows = _line_rows(st, language, decimal)
    rows.append([])
    rows.append([w["figure"], w["amount"], "", "", ""])
    rows.extend(
        [label, money_text(cents, decimal), "", "", ""] for label, cents in _figures(st, language)
    )
    header = (w["line"], w["planned"], w["approved"], w["deviation"], w["within"])
    return render_csv(header, rows, sep)


def statement_pdf(st: FinalStatement, language: Language) -> bytes:
    w = WORDS[language]
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creation_date(end_of_day(st.as_of).astimezone(UTC))
    pdf.set_title(f"{w['title']} {st.team.title}")
    pdf.set_margins(18, 18, 18)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 9, core_font_text(w["title"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)
    plan = st.plan
    plan_text = (
        w["no_plan"]
        if plan is None or plan.decided_at is None
        else w["plan_version"].format(
            version=plan.version, since=_day(plan.decided_at.date(), language)
        )
    )
    for label, value in (
        (w["team"], f"{st.team.title} ({st.team.team_id})"),
        (w["call"], st.team.call_id),
        (w["as_of"], _day(st.as_of, language)),
        (w["plan"], plan_text),
    ):
        pdf.cell(40, 6, core_font_text(label))
        pdf.cell(0, 6, core_font_text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    widths = (52, 28, 36, 28, 30)
    header = (w["line"], w["planned"], w["approved"], w["deviation"], w["within"])
    pdf.set_font("Helvetica", "B", 9)
    for width, label in zip(widths, header, strict=True):
        pdf.cell(width, 7, core_font_text(label), border="B")
    pdf.ln()
    rows = _line_rows(st, language, _mark(language))
    for number, row in enumerate(rows, 1):
        pdf.set_font("Helvetica", "B" if number == len(rows) else "", 9)
        for column, (width, value) in enumerate(zip(widths, row, strict=True)):
            pdf.cell(width, 6, core_font_text(value), align="L" if column in (0, 4) else "R")
        pdf.ln()
    pdf.ln(4)
    pdf.set_font("Helvetica", size=10)
    for label, cents in _figures(st, language):
        pdf.cell(110, 6, core_font_text(label))
        pdf.cell(30, 6, core_font_text(f"{_money(cents, _mark(language))} EUR"), align="R")
        pdf.ln()
    if st.lines:
        pdf.ln(2)
        pdf.set_font("Helvetica", "I", 8)
        percent = st.lines[0].tolerance_percent
        pdf.cell(0, 5, core_font_text(w["tolerance"].format(percent=percent)))
        pdf.ln()
    if st.payouts:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 6, core_font_text(w["payouts"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", size=9)
        for payout in st.payouts:
            pdf.cell(40, 5, core_font_text(_day(payout.paid_on, language)))
            pdf.cell(70, 5, core_font_text(payout.request_id))
            amount = _money(payout.amount_cents, _mark(language))
            pdf.cell(30, 5, core_font_text(f"{amount} EUR"), align="R")
            pdf.ln()
    return bytes(pdf.output())
