"""The funder's report of a call (``/api/v1/calls/{call_id}/report``): JSON, CSV and PDF."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from cimis_chassis.auth import READ_ALL, Principal, require
from cimis_chassis.csv_export import DecimalMark, Separator
from cimis_chassis.localised import Language, language_of
from cimis_chassis.problems import Problem
from cimis_chassis.service_host import host_of
from cimis_chassis.times import CalendarDate
from services.outcomes.adapters.queries import OutcomesQueries
from services.outcomes.adapters.report_store import call_facts
from services.outcomes.domain.report import BERLIN, FunderReport, end_of_day, funder_report
from services.outcomes.entrypoints.report_files import report_csv, report_json, report_pdf
from services.outcomes.entrypoints.schemas import Id

router = APIRouter(prefix="/api/v1", tags=["funder's report"])

Reader = Annotated[Principal, Depends(require(*READ_ALL))]
AsOf = Annotated[
    CalendarDate | None,
    Query(description="The report's day (default today, in Saxony); not in the future."),
]
Lang = Annotated[
    Literal["de", "en"] | None,
    Query(description="German or English; default from Accept-Language, else English."),
]


class CsvResponse(Response):
    media_type = "text/csv"


class PdfResponse(Response):
    media_type = "application/pdf"


def _language(request: Request, lang: Language | None) -> Language:
    return language_of(lang, request.headers.get("accept-language", ""))


async def _report(request: Request, call_id: str, as_of: date | None) -> FunderReport:
    today = host_of(request).clock.now().astimezone(BERLIN).date()
    day = as_of or today
    if day > today:
        raise Problem(
            422,
            "as-of-in-future",
            f"The report day {day.isoformat()} lies in the future; a report shows what happened.",
        )
    until = end_of_day(day)
    async with host_of(request).db.sessions() as session:
        facts = await call_facts(session, call_id, until)
        if facts is None:
            raise Problem(404, "not-found", f"call {call_id} is not known to outcomes")
        published = await OutcomesQueries(session).published_count(call_id, until)
    return funder_report(facts, as_of=day, blueprints_published=published)


@router.get("/calls/{call_id}/report")
async def call_report(
    call_id: Id, request: Request, _: Reader, as_of: AsOf = None
) -> dict[str, Any]:
    """What call `call_id` achieved as of a day, from the platform's events only: applications
    by district and kind with eligibility, teams formed and accepted, the Erzgebirgskreis's
    share, the money allocated, released, approved, paid and returned (per budget line: a
    team's released money over the lines of its cost plan in proportion to what each plans),
    milestones on time, late, waived, overdue and open, and blueprints published."""
    return report_json(await _report(request, call_id, as_of))


@router.get(
    "/calls/{call_id}/report.csv",
    response_class=CsvResponse,
    responses={200: {"description": "One row per figure: section, figure, value."}},
)
async def call_report_csv(
    call_id: Id,
    request: Request,
    _: Reader,
    as_of: AsOf = None,
    lang: Lang = None,
) -> CsvResponse:
    """German (`lang=de` or `Accept-Language: de`): `;` and a decimal comma; English: `,`
    and a point."""
    language = _language(request, lang)
    report = await _report(request, call_id, as_of)
    sep: Separator = ";" if language == "de" else ","
    decimal: DecimalMark = "comma" if language == "de" else "point"
    name = "foerderbericht" if language == "de" else "funder-report"
    return CsvResponse(
        # A BOM lets spreadsheet programs detect UTF-8.
        "\ufeff" + report_csv(report, language, sep=sep, decimal=decimal),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{report.as_of}.csv"'},
    )


@router.get(
    "/calls/{call_id}/report.pdf",
    response_class=PdfResponse,
    responses={200: {"description": "A4; the same report day gives the same bytes."}},
)
async def call_report_pdf(
    call_id: Id,
    request: Request,
    _: Reader,
    as_of: AsOf = None,
    lang: Lang = None,
) -> PdfResponse:
    language = _language(request, lang)
    report = await _report(request, call_id, as_of)
    name = "foerderbericht" if language == "de" else "funder-report"
    return PdfResponse(
        report_pdf(report, language),
        headers={"Content-Disposition": f'attachment; filename="{name}-{report.as_of}.pdf"'},
    )
