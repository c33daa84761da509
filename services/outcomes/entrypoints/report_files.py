"""The funder's report as JSON, as CSV (German or English conventions) and as a PDF.

The CSV and the PDF carry every figure of the JSON. The PDF uses the PDF core fonts in
Windows-1252 and carries the report's day as its creation date, so the same report is the
same bytes every time.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any, Literal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from cimis_chassis.csv_export import DecimalMark, Separator, inert, money_text, render_csv
from cimis_chassis.localised import Language, format_day, format_eur
from cimis_chassis.money import format_eur as plain_eur
from cimis_chassis.pdf_text import core_font_text
from services.outcomes.domain.report import KINDS, NOT_YET_PLANNED, FunderReport, LineRow
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
        "released_note": (
            "Freigegeben wird je Team ein Anteil am ganzen Budget, also derselbe Anteil jeder "
            "Kostenposition seines Kostenplans."
        ),
        "lines": "Kostenpositionen",
        "line": "Kostenposition",
        "not_yet_planned": "noch ohne Kostenplan",
        "lines_total": "Summe",
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
        "released_note": (
            "A tranche releases a share of a team's whole budget, so the same share of each "
            "line of its cost plan."
        ),
        "lines": "Budget lines",
        "line": "Budget line",
        "not_yet_planned": "not yet planned",
        "lines_total": "total",
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
# How a figure reads: a count, an amount in cents, or a share in percent ("33.3").
Kind = Literal["count", "money", "percent"]
Figure = tuple[str, str, int | str, Kind]  # section, figure, value, kind


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
            # Each budget line, then the allocated and released money of teams without a cost
            # plan in force yet: together they add up to the totals.
            "lines": [
                {
                    "position": line.position,
                    "allocated": plain_eur(line.allocated_cents),
                    "released": plain_eur(line.released_cents),
                    "approved": plain_eur(line.approved_cents),
                    "paid": plain_eur(line.paid_cents),
                    "returned": plain_eur(line.returned_cents),
                }
                for line in _line_rows(report)
            ],
            "lines_total": {name: plain_eur(cents) for name, cents in _line_totals(report)},
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
    """One row per figure: section, figure, value (counts as integers, amounts in EUR, shares
    in percent with one decimal)."""
    w = WORDS[language]
    rows = [
        [w[section], figure, _csv_value(value, kind, decimal)]
        for section, figure, value, kind in _figures(report, language)
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
    for name, figure, value, kind in _figures(report, language):
        if name != section:
            section = name
            pdf.ln(3)
            pdf.set_font("Helvetica", "B", 11)
            pdf.cell(0, 7, core_font_text(w[name]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_font("Helvetica", "", 10)
            if name == "lines":
                _lines_table(pdf, report, language)
        if name == "lines":
            continue  # the table above shows them
        pdf.cell(120, 6, core_font_text(figure))
        shown = _pdf_value(value, kind, language)
        pdf.cell(0, 6, core_font_text(shown), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _lines_table(pdf: FPDF, report: FunderReport, language: Language) -> None:
    """Allocated, released, approved, paid and returned per budget line, with a total row."""
    w = WORDS[language]
    widths = (50, 28, 28, 28, 28, 28)
    columns = ("allocated", "released", "approved", "paid", "returned")
    header = (w["line"], *(w[c] for c in columns))
    pdf.set_font("Helvetica", "B", 8)
    for width, text in zip(widths, header, strict=True):
        pdf.multi_cell(width, 4, core_font_text(text), new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.ln(8)
    pdf.set_font("Helvetica", "", 9)
    rows: list[tuple[str, list[int]]] = [
        (
            _line_label(line.position, language),
            [
                line.allocated_cents,
                line.released_cents,
                line.approved_cents,
                line.paid_cents,
                line.returned_cents,
            ],
        )
        for line in _line_rows(report)
    ]
    rows.append((w["lines_total"], [cents for _, cents in _line_totals(report)]))
    for index, (label, amounts) in enumerate(rows):
        if index == len(rows) - 1:
            pdf.set_font("Helvetica", "B", 9)
        pdf.cell(widths[0], 6, core_font_text(label))
        for width, cents in zip(widths[1:], amounts, strict=True):
            pdf.cell(width, 6, core_font_text(format_eur(cents, language)), align="R")
        pdf.ln(6)
    pdf.set_font("Helvetica", "I", 8)
    pdf.cell(0, 5, core_font_text(w["released_note"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)


def _csv_value(value: int | str, kind: Kind, decimal: DecimalMark) -> str:
    if kind == "money":
        assert isinstance(value, int)
        return money_text(value, decimal)
    text = str(value)
    return text.replace(".", ",") if decimal == "comma" else text


def _pdf_value(value: int | str, kind: Kind, language: Language) -> str:
    if kind == "money":
        assert isinstance(value, int)
        return format_eur(value, language)
    if kind == "percent":
        text = str(value)
        return f"{text.replace('.', ',')} %" if language == "de" else f"{text} %"
    return str(value)


def _line_rows(report: FunderReport) -> list[LineRow]:
    """The budget lines and, last, the allocated and released money no cost plan splits yet."""
    not_yet_planned = LineRow(
        NOT_YET_PLANNED,
        report.not_yet_planned_cents,
        report.not_yet_planned_released_cents,
        0,
        0,
        0,
    )
    return [*report.lines, not_yet_planned]


def _line_label(position: str, language: Language) -> str:
    if position == NOT_YET_PLANNED:
        return WORDS[language][NOT_YET_PLANNED]
    return POSITION_NAMES[language].get(position, position)


def _line_totals(report: FunderReport) -> list[Amount]:
    return [
        ("allocated", report.allocated_cents),
        ("released", report.released_cents),
        ("approved", report.approved_cents),
        ("paid", report.paid_cents),
        ("returned", report.returned_cents),
    ]


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


def _figures(report: FunderReport, language: Language) -> list[Figure]:
    """(section, figure, value, kind) for every figure of the JSON, in reading order."""
    w = WORDS[language]
    figures: list[Figure] = [
        ("applications", w["total"], report.applications_total, "count"),
        ("applications", w["eligible"], report.applications_eligible, "count"),
        (
            "applications",
            w["ineligible"],
            report.applications_total - report.applications_eligible,
            "count",
        ),
        *(("applications", w[k], report.applications_by_kind[k], "count") for k in KINDS),
    ]
    for row in report.applications_by_district:
        where = inert(
            row.district if row.district_code is None else f"{row.district} ({row.district_code})"
        )
        figures += [("applications", f"{where}: {w[k]}", row.by_kind[k], "count") for k in KINDS]
        figures += [
            ("applications", f"{where}: {w['eligible']}", row.eligible, "count"),
            ("applications", f"{where}: {w['ineligible']}", row.ineligible, "count"),
        ]
    figures += [
        ("applications", f"{w['reason']}: {inert(code)}", count, "count")
        for code, count in report.ineligibility_reasons.items()
    ]
    figures += [
        ("teams", w["formed"], report.teams_formed, "count"),
        ("teams", w["accepted"], report.teams_accepted, "count"),
        ("teams", w["withdrawn"], report.teams_withdrawn, "count"),
        ("erzgebirge", w["teams"], report.erzgebirge_teams, "count"),
        ("erzgebirge", w["team_share"], report.erzgebirge_team_share, "percent"),
        ("erzgebirge", w["allocated"], report.erzgebirge_allocated_cents, "money"),
        ("erzgebirge", w["allocated_share"], report.erzgebirge_money_share, "percent"),
    ]
    figures += [("budget", w[name], cents, "money") for name, cents in _money(report)]
    for line in _line_rows(report):
        label = _line_label(line.position, language)
        figures += [
            ("lines", f"{label}: {w['allocated']}", line.allocated_cents, "money"),
            ("lines", f"{label}: {w['released']}", line.released_cents, "money"),
            ("lines", f"{label}: {w['approved']}", line.approved_cents, "money"),
            ("lines", f"{label}: {w['paid']}", line.paid_cents, "money"),
            ("lines", f"{label}: {w['returned']}", line.returned_cents, "money"),
        ]
    figures += [
        ("lines", f"{w['lines_total']}: {w[name]}", cents, "money")
        for name, cents in _line_totals(report)
    ]
    m = report.milestones
    figures += [
        ("milestones", w[name], value, "count")
        for name, value in (
            ("completed_on_time", m.completed_on_time),
            ("completed_late", m.completed_late),
            ("waived", m.waived),
            ("overdue", m.overdue),
            ("open", m.open),
        )
    ]
    figures.append(("blueprints", w["published"], report.blueprints_published, "count"))
    return figures
