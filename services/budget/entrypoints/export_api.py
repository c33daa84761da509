"""Budget's documents for auditors and funders: the receipt list, the call ledger and the
final statement, as CSV, XLSX and PDF."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cimis_chassis.problems import Problem
from cimis_chassis.times import CalendarDate
from services.budget.adapters.queries import BudgetQueries
from services.budget.domain import final_statement as statement
from services.budget.domain.budgets import (
    cost_plan_tolerance,
)
from services.budget.domain.calendar import BERLIN
from services.budget.domain.expenses import Expense
from services.budget.domain.payouts import PAID
from services.budget.entrypoints import exports
from services.budget.entrypoints.api_support import (
    CSV_DOC,
    CsvResponse,
    DecimalMark,
    Finance,
    Separator,
    StaffOrFinance,
    csv_download,
    csv_format,
    host,
    known_team,
    language_of,
)
from services.budget.entrypoints.final_statement import (
    statement_csv,
    statement_json,
    statement_pdf,
)
from services.budget.entrypoints.receipt_list import (
    Language,
    receipt_list_csv,
    receipt_list_xlsx,
)
from services.budget.entrypoints.schemas import (
    Id,
)

router = APIRouter(prefix="/api/v1")


ReceiptStatus = Literal["submitted", "approved", "rejected", "reversed", "all"]
_RECEIPTS_QUERY = (
    "`lang` (else `Accept-Language`; English by default) chooses the headers, labels and date "
    "format; German lists use `;` and a decimal comma unless `sep`/`decimal` say otherwise. "
    "`status` filters (default `approved`, `all` for every receipt)."
)


class XlsxResponse(Response):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _receipts(
    request: Request, team_id: str, status: ReceiptStatus
) -> tuple[list[Expense], dict[str, date]]:
    """The team's receipts with ``status``, and the value date of each one paid out."""
    await known_team(request, team_id)
    async with host(request).db.sessions() as session:
        repo = BudgetQueries(session)
        items = await repo.expenses_of_team(team_id)
        payments = await repo.payment_requests_of_team(team_id)
    paid_on = {
        expense_id: p.value_date
        for p in payments
        if p.status == PAID and p.value_date is not None
        for expense_id in p.expense_ids
    }
    return [e for e in items if status == "all" or e.status == status], paid_on


@router.get(
    "/teams/{team_id}/receipts.csv",
    tags=["exports"],
    response_class=CsvResponse,
    responses=CSV_DOC,
    description="The receipt list (Belegliste) with a subtotal per budget line and a total. "
    + _RECEIPTS_QUERY,
)
async def receipts_csv(
    team_id: Id,
    request: Request,
    _: Finance,
    lang: Language | None = None,
    status: ReceiptStatus = "approved",
    sep: Separator | None = None,
    decimal: DecimalMark | None = None,
) -> CsvResponse:
    language = language_of(request, lang)
    receipts, paid_on = await _receipts(request, team_id, status)
    sep, decimal = csv_format(language, sep, decimal)
    text = receipt_list_csv(receipts, language, paid_on=paid_on, sep=sep, decimal=decimal)
    name = "belegliste" if language == "de" else "receipts"
    return csv_download(text, f"{name}-{team_id}.csv")


@router.get(
    "/teams/{team_id}/receipts.xlsx",
    tags=["exports"],
    response_class=XlsxResponse,
    responses={200: {"description": "One sheet; amounts are numbers, dates are dates."}},
    description="The receipt list as a spreadsheet. " + _RECEIPTS_QUERY,
)
async def receipts_xlsx(
    team_id: Id,
    request: Request,
    _: Finance,
    lang: Language | None = None,
    status: ReceiptStatus = "approved",
) -> XlsxResponse:
    language = language_of(request, lang)
    team = await known_team(request, team_id)
    title = f"{'Belegliste' if language == 'de' else 'Receipt list'}: {team.title}"
    receipts, paid_on = await _receipts(request, team_id, status)
    data = receipt_list_xlsx(receipts, language, title=title, paid_on=paid_on)
    name = f"{'belegliste' if language == 'de' else 'receipts'}-{team_id}.xlsx"
    return XlsxResponse(data, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get(
    "/calls/{call_id}/ledger.csv",
    tags=["exports"],
    response_class=CsvResponse,
    responses=CSV_DOC,
)
async def call_ledger_csv(
    call_id: Id,
    request: Request,
    _: Finance,
    sep: Separator = ",",
    decimal: DecimalMark = "point",
) -> CsvResponse:
    async with host(request).db.sessions() as session:
        repo = BudgetQueries(session)
        if await repo.get_pot(call_id) is None:
            raise Problem(404, "not-found", f"No budget for call {call_id}.")
        entries = await repo.entries_of_call(call_id)
    return csv_download(
        exports.call_ledger(entries, sep=sep, decimal=decimal), f"ledger-{call_id}.csv"
    )


AsOf = Annotated[
    CalendarDate | None,
    Query(description="The statement day (default today, in Saxony); not in the future."),
]


async def _final_statement(
    request: Request, team_id: str, as_of: date | None
) -> statement.FinalStatement:
    team = await known_team(request, team_id)
    today = host(request).clock.now().astimezone(BERLIN).date()
    day = as_of or today
    if day > today:
        raise Problem(
            422,
            "as-of-in-future",
            f"The statement day {day.isoformat()} lies in the future; a statement shows what "
            "was booked.",
        )
    async with host(request).db.sessions() as session:
        repo = BudgetQueries(session)
        bookings = await repo.bookings_of_team(team_id)
        plans = await repo.cost_plans_of_team(team_id)
        pot = await repo.get_pot(team.call_id)
    tolerance = cost_plan_tolerance(pot)
    return statement.statement(
        team, as_of=day, bookings=bookings, plans=plans, tolerance_percent=tolerance
    )


@router.get("/teams/{team_id}/final-statement", tags=["final statement"])
async def final_statement(
    team_id: Id, request: Request, _: StaffOrFinance, as_of: AsOf = None
) -> dict[str, Any]:
    """The zahlenmäßiger Verwendungsnachweis: plan against actual per budget line, with the
    deviation and whether it stays within the call's tolerance (spending less always does),
    the tranches released, the payouts and the money left unspent, as of a day; made from
    the ledger, so a past day always gives the same statement."""
    return statement_json(await _final_statement(request, team_id, as_of))


@router.get(
    "/teams/{team_id}/final-statement.csv",
    tags=["final statement"],
    response_class=CsvResponse,
    responses=CSV_DOC,
)
async def final_statement_csv(
    team_id: Id,
    request: Request,
    _: StaffOrFinance,
    as_of: AsOf = None,
    lang: Language | None = None,
    sep: Separator | None = None,
    decimal: DecimalMark | None = None,
) -> CsvResponse:
    language = language_of(request, lang)
    st = await _final_statement(request, team_id, as_of)
    sep, decimal = csv_format(language, sep, decimal)
    text = statement_csv(st, language, sep=sep, decimal=decimal)
    name = "verwendungsnachweis" if language == "de" else "final-statement"
    return csv_download(text, f"{name}-{team_id}-{st.as_of.isoformat()}.csv")


class PdfResponse(Response):
    media_type = "application/pdf"


@router.get(
    "/teams/{team_id}/final-statement.pdf",
    tags=["final statement"],
    response_class=PdfResponse,
    responses={200: {"description": "A4; the same statement day gives the same bytes."}},
)
async def final_statement_pdf(
    team_id: Id,
    request: Request,
    _: StaffOrFinance,
    as_of: AsOf = None,
    lang: Language | None = None,
) -> PdfResponse:
    language = language_of(request, lang)
    st = await _final_statement(request, team_id, as_of)
    name = "verwendungsnachweis" if language == "de" else "final-statement"
    return PdfResponse(
        statement_pdf(st, language),
        headers={"Content-Disposition": f'attachment; filename="{name}-{team_id}-{st.as_of}.pdf"'},
    )
