"""The funder's report as JSON, as CSV (German or English conventions) and as a PDF.

The PDF uses the PDF core fonts in Windows-1252 and carries the report's day as its creation
date, so the same report is the same bytes every time.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from cimis_chassis.csv_export import DecimalMark, Separator, inert, money_text, render_csv
from cimis_chassis.localised import Language, format_day, format_eur
from cimis_chassis.money import format_eur as plain_eur
from cimis_chassis.pdf_text import core_font_text
from services.outcomes.domain.report import KINDS, FunderReport
from services.outcomes.entrypoints.texts import POSITION_NAMES

WORDS: dict[Language, dict[str, str]] = {
    "de": {
        "title": "Bericht an den Fördermittelgeber",
        "call": "Aufruf",
        "as_of": "Stand",
        "section": "Abschnitt",
        "figure": "Kennzahl",
        "value": "Wert",
        "applications": "Anträge",
        "total": "gesamt",
        "eligible": "förderfähig",
        "ineligible": "nicht förderfähig",
        "company": "Unternehmen",
        "organisation": "Organisationen",
        "creative": "Kreativschaffende",
        "reason": "Ablehnungsgrund",
        "teams": "Teams",
        "formed": "gebildet",
        "accepted": "angenommen",
        "withdrawn": "zurückgezogen",
        "erzgebirge": "Erzgebirgskreis",
        "team_share": "Anteil der Teams (%)",
        "allocated_share": "Anteil am zugewiesenen Budget (%)",
        "budget": "Budget",
        "pot": "Fördertopf",
        "allocated": "zugewiesen",
        "released": "freigegeben",
        "approved": "förderfähig anerkannt",
        "paid": "ausgezahlt",
        "returned": "zurückgebucht",
        "unspent_returned": "nicht verausgabt zurückgeflossen",
        "lines": "Kostenpositionen",
        "milestones": "Meilensteine",
        "completed_on_time": "fristgerecht erledigt",
        "completed_late": "verspätet erledigt",
        "waived": "erlassen",
        "overdue": "überfällig",
        "open": "offen",
        "blueprints": "Blaupausen",
        "published": "veröffentlicht",
    },
    "en": {
        "title": "Report to the funder",
        "call": "Call",
        "as_of": "As of",
        "section": "section",
        "figure": "figure",
        "value": "value",
        "applications": "Applications",
        "total": "total",
        "eligible": "eligible",
        "ineligible": "ineligible",
        "company": "companies",
        "organisation": "organisations",
        "creative": "creative professionals",
        "reason": "reason",
        "teams": "Teams",
        "formed": "formed",
        "accepted": "accepted",
        "withdrawn": "withdrawn",
        "erzgebirge": "Erzgebirgskreis",
        "team_share": "share of teams (%)",
        "allocated_share": "share of allocated budget (%)",
        "budget": "Budget",
        "pot": "pot",
        "allocated": "allocated",
        "released": "released",
        "approved": "approved as fundable",
        "paid": "paid",
        "returned": "returned by the bank",
        "unspent_returned": "returned unspent",
        "lines": "Budget lines",
        "milestones": "Milestones",
        "completed_on_time": "completed on time",
        "completed_late": "completed late",
        "waived": "waived",
        "overdue": "overdue",
        "open": "open",
        "blueprints": "Blueprints",
        "published": "published",
    },
}

Amount = tuple[str, int]  # a figure's name and its cents
Count = tuple[str, int]


def report_json(report: FunderReport) -> dict[str, Any]:
    m = report.milestones
    return {
        "call_id": report.call_id,
        "title": report.title,
        "as_of": report.as_of.isoformat(),
        "applications": {
            "total": report.applications_total,
            "eligible": report.applications_eligible,
            "ineligible": report.applications_total - report.applications_eligible,
            "by_kind": report.applications_by_kind,
            "by_district": [
                {
                    "district": row.district,
                    "district_code": row.district_code,
                    **row.by_kind,
                    "eligible": row.eligible,
                    "ineligible": row.ineligible,
                }
                for row in report.applications_by_district
            ],
            "ineligibility_reasons": report.ineligibility_reasons,
        },
        "teams": {
            "formed": report.teams_formed,
            "accepted": report.teams_accepted,
            "withdrawn": report.teams_withdrawn,
        },
        "erzgebirge": {
            "teams": report.erzgebirge_teams,
            "team_share_percent": report.erzgebirge_team_share,
            "allocated": plain_eur(report.erzgebirge_allocated_cents),
            "allocated_share_percent": report.erzgebirge_money_share,
        },
        "budget": {name: plain_eur(cents) for name, cents in _money(report)}
        | {
            "lines": [
                {
                    "position": line.position,
                    "approved": plain_eur(line.approved_cents),
                    "paid": plain_eur(line.paid_cents),
                    "returned": plain_eur(line.returned_cents),
                }
                for line in report.lines
            ]
        },
        "milestones": {
            "completed_on_time": m.completed_on_time,
            "completed_late": m.completed_late,
            "waived": m.waived,
            "overdue": m.overdue,
            "open": m.open,
        },
        "blueprints": {"published": report.blueprints_published},
    }


def report_csv(
    report: FunderReport, language: Language, *, sep: Separator, decimal: DecimalMark
) -> str:
    """One row per figure: section, figure, value (counts as integers, amounts in EUR)."""
    w = WORDS[language]
    rows = [
        [w[section], figure, money_text(value, decimal) if is_money else str(value)]
        for section, figure, value, is_money in _figures(report, language)
    ]
    return render_csv([w["section"], w["figure"], w["value"]], rows, sep)


def report_pdf(report: FunderReport, language: Language) -> bytes:
    w = WORDS[language]
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    # The report's day, not the moment it was drawn up: the same report, the same bytes.
    pdf.set_creation_date(datetime.combine(report.as_of, time(12), tzinfo=UTC))
    pdf.set_title(core_font_text(f"{w['title']} – {report.title}"))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 9, core_font_text(w["title"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(
        0,
        6,
        core_font_text(
            f"{w['call']}: {report.title} · {w['as_of']} {format_day(report.as_of, language)}"
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    section = None
    for name, figure, value, is_money in _figures(report, language):
        if name != section:
            section = name
            pdf.ln(3)
            pdf.set_font("Helvetica", "B", 11)
            pdf.cell(0, 7, core_font_text(w[name]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_font("Helvetica", "", 10)
        shown = format_eur(value, language) if is_money else str(value)
        pdf.cell(120, 6, core_font_text(figure))
        pdf.cell(0, 6, core_font_text(shown), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _money(report: FunderReport) -> list[Amount]:
    return [
        ("pot", report.pot_cents),
        ("allocated", report.allocated_cents),
        ("released", report.released_cents),
        ("approved", report.approved_cents),
        ("paid", report.paid_cents),
        ("returned", report.returned_cents),
        ("unspent_returned", report.unspent_returned_cents),
    ]


def _figures(report: FunderReport, language: Language) -> list[tuple[str, str, int, bool]]:
    """(section, figure, value, is it money) for every figure, in reading order."""
    w = WORDS[language]
    lines = POSITION_NAMES[language]
    figures: list[tuple[str, str, int, bool]] = [
        ("applications", w["total"], report.applications_total, False),
        ("applications", w["eligible"], report.applications_eligible, False),
        (
            "applications",
            w["ineligible"],
            report.applications_total - report.applications_eligible,
            False,
        ),
        *(("applications", w[k], report.applications_by_kind[k], False) for k in KINDS),
    ]
    for row in report.applications_by_district:
        where = inert(row.district)
        figures += [("applications", f"{where}: {w[k]}", row.by_kind[k], False) for k in KINDS]
        figures.append(("applications", f"{where}: {w['eligible']}", row.eligible, False))
    figures += [
        ("applications", f"{w['reason']}: {inert(code)}", count, False)
        for code, count in report.ineligibility_reasons.items()
    ]
    figures += [
        ("teams", w["formed"], report.teams_formed, False),
        ("teams", w["accepted"], report.teams_accepted, False),
        ("teams", w["withdrawn"], report.teams_withdrawn, False),
        ("erzgebirge", w["teams"], report.erzgebirge_teams, False),
        ("erzgebirge", w["allocated"], report.erzgebirge_allocated_cents, True),
    ]
    figures += [("budget", w[name], cents, True) for name, cents in _money(report)]
    for line in report.lines:
        label = lines.get(line.position, line.position)
        figures += [
            ("lines", f"{label}: {w['approved']}", line.approved_cents, True),
            ("lines", f"{label}: {w['paid']}", line.paid_cents, True),
            ("lines", f"{label}: {w['returned']}", line.returned_cents, True),
        ]
    m = report.milestones
    figures += [
        ("milestones", w[name], value, False)
        for name, value in (
            ("completed_on_time", m.completed_on_time),
            ("completed_late", m.completed_late),
            ("waived", m.waived),
            ("overdue", m.overdue),
            ("open", m.open),
        )
    ]
    figures.append(("blueprints", w["published"], report.blueprints_published, False))
    return figures
