"""The de-minimis notice (De-minimis-Bescheinigung) an undertaking keeps: what aid it was
granted, when, and under which regulation, so that it can declare it to the next funder.

Made from the accepted team and its company's application; the acceptance time is the PDF's
creation date, so the notice of a team is the same bytes whenever it is printed.
"""

from __future__ import annotations

from datetime import UTC

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from cimis_chassis.money import german_amount
from cimis_chassis.pdf_text import core_font_text
from services.intake.domain.applications import Application
from services.intake.domain.calls import BERLIN, Call
from services.intake.domain.teams import Team
from services.intake.domain.undertakings import REGULATION


def deminimis_notice_pdf(team: Team, company: Application, call: Call) -> bytes:
    assert team.accepted_at is not None
    granted_on = team.accepted_at.astimezone(BERLIN).strftime("%d.%m.%Y")
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creation_date(team.accepted_at.astimezone(UTC))
    pdf.set_title(f"De-minimis-Bescheinigung {company.name}")
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 9, "De-minimis-Bescheinigung", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)
    pdf.ln(3)
    for label, value in (
        ("Unternehmen", company.name),
        ("USt-IdNr. / Steuernummer", team.undertaking_id or "nicht angegeben"),
        ("Programm", call.title),
        ("Vorhaben", team.title),
        ("Gewährt am", granted_on),
        ("Beihilfebetrag", f"{german_amount(team.budget_cents)} EUR"),
        ("Rechtsgrundlage", REGULATION),
    ):
        pdf.cell(60, 7, core_font_text(label))
        pdf.cell(0, 7, core_font_text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.multi_cell(
        0,
        5,
        core_font_text(
            "Die Zuwendung wird als De-minimis-Beihilfe nach der "
            f"{REGULATION} der Kommission vom 13. Dezember 2023 über die Anwendung der "
            "Artikel 107 und 108 AEUV auf De-minimis-Beihilfen gewährt. Der Gesamtbetrag der "
            "einem einzigen Unternehmen gewährten De-minimis-Beihilfen darf in einem Zeitraum "
            "von drei Jahren 300.000 EUR nicht übersteigen. Bitte bewahren Sie diese "
            "Bescheinigung zehn Jahre auf und geben Sie den Betrag bei jedem weiteren Antrag "
            "auf De-minimis-Beihilfen an."
        ),
    )
    pdf.ln(6)
    pdf.cell(0, 6, core_font_text("Ihr CIMIS-Programmbüro"))
    return bytes(pdf.output())
