"""Budget's admin API (``/api/v1``): team and call budgets, expenses, the ledger and exports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from cimis_chassis.api_commands import IdempotencyKey, run_command
from cimis_chassis.auth import READ_ALL, Principal, Role, require
from cimis_chassis.keyset import page_from
from cimis_chassis.money import format_eur
from cimis_chassis.pagination import (
    Cursor,
    Limit,
    PositionCursor,
    decode_position_cursor,
    next_cursor,
)
from cimis_chassis.problems import Problem
from cimis_chassis.service_host import ServiceHost
from cimis_chassis.text import same_ident
from services.budget.adapters.queries import BudgetQueries
from services.budget.app import cost_plans, payouts
from services.budget.app import expenses as handlers
from services.budget.app.ports import BudgetUnitOfWork
from services.budget.domain.budgets import (
    DEFAULT_COST_PLAN_TOLERANCE_PERCENT,
    WAITING,
    Pot,
    TeamBudget,
)
from services.budget.domain.cost_plans import in_force, pending
from services.budget.domain.expenses import Expense, committed_by_position
from services.budget.domain.payouts import PAID, PaymentRequest
from services.budget.entrypoints import exports
from services.budget.entrypoints.receipt_list import (
    Language,
    receipt_list_csv,
    receipt_list_xlsx,
)
from services.budget.entrypoints.schemas import (
    BankAccountIn,
    CostPlanIn,
    ExpenseIn,
    Id,
    PaidIn,
    PaymentRunIn,
    RejectIn,
    UtcMoment,
    bank_account_out,
    call_budget_out,
    cost_plan_out,
    expense_out,
    payment_request_out,
    payment_run_out,
    team_budget_out,
    ts,
)
from services.budget.entrypoints.sepa import DebtorAccount, credit_transfer_xml
from services.budget.settings import BudgetSettings

router = APIRouter(prefix="/api/v1")

Reader = Annotated[Principal, Depends(require(*READ_ALL))]
TeamReader = Annotated[Principal, Depends(require(*READ_ALL, Role.AGENT))]
Submitter = Annotated[Principal, Depends(require(Role.STAFF, Role.FINANCE, Role.AGENT))]
Finance = Annotated[Principal, Depends(require(Role.FINANCE))]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]
StaffOrAgent = Annotated[Principal, Depends(require(Role.STAFF, Role.AGENT))]
StaffOrFinance = Annotated[Principal, Depends(require(Role.STAFF, Role.FINANCE))]
Separator = Annotated[exports.Separator, Query(description="',' (default) or ';'")]
DecimalMark = Annotated[exports.DecimalMark, Query(description="'point' (default) or 'comma'")]


def _host(request: Request) -> ServiceHost:
    return request.app.state.host  # type: ignore[no-any-return]


def _own_team_only(principal: Principal, team: TeamBudget) -> None:
    if principal.is_agent and not same_ident(team.agent_id, principal.name):
        raise Problem(403, "forbidden", "Agents may only act on the teams they coach.")


async def _team(request: Request, team_id: str) -> TeamBudget:
    async with _host(request).db.sessions() as session:
        team = await BudgetQueries(session).get_team(team_id)
    if team is None:
        raise Problem(404, "not-found", f"No budget for team {team_id} (not accepted yet?).")
    return team


@router.get("/teams/{team_id}/budget", tags=["budgets"])
async def team_budget(team_id: Id, request: Request, principal: TeamReader) -> dict[str, Any]:
    team = await _team(request, team_id)
    _own_team_only(principal, team)
    async with _host(request).db.sessions() as session:
        expenses = await BudgetQueries(session).expenses_of_team(team_id)
    return team_budget_out(team, expenses)


async def _pot_and_teams(request: Request, call_id: str) -> tuple[Pot, list[TeamBudget]]:
    async with _host(request).db.sessions() as session:
        repo = BudgetQueries(session)
        pot = await repo.get_pot(call_id)
        teams = await repo.teams_of_call(call_id)
    if pot is None:
        raise Problem(404, "not-found", f"No budget for call {call_id} (not opened yet?).")
    return pot, teams


@router.get("/calls/{call_id}/budget", tags=["budgets"])
async def call_budget(call_id: Id, request: Request, _: Reader) -> dict[str, Any]:
    return call_budget_out(*await _pot_and_teams(request, call_id))


@router.get("/calls/{call_id}/waiting-list", tags=["budgets"])
async def waiting_list(call_id: Id, request: Request, _: StaffOrFinance) -> dict[str, Any]:
    """Teams accepted but not yet funded, in the order they will be allocated."""
    pot, teams = await _pot_and_teams(request, call_id)
    waiting = sorted(
        (t for t in teams if t.status == WAITING), key=lambda t: (t.accepted_at, t.team_id)
    )
    return {
        "call_id": call_id,
        "available": format_eur(pot.available_cents),
        "items": [
            {
                "place": place,
                "team_id": t.team_id,
                "title": t.title,
                "requested": format_eur(t.requested_cents),
                "accepted_at": ts(t.accepted_at),
                "reason_code": t.refusal_code,
            }
            for place, t in enumerate(waiting, start=1)
        ],
    }


def _cost_plan_body(view: cost_plans.CostPlanView) -> dict[str, Any]:
    return cost_plan_out(
        view.team, view.in_force, view.pending, dict(view.committed), view.tolerance_percent
    )


@router.get("/teams/{team_id}/cost-plan", tags=["cost plans"])
async def get_cost_plan(team_id: Id, request: Request, principal: TeamReader) -> dict[str, Any]:
    """The cost plan (Kostenplan) in force, what each line carries, and a change waiting
    for approval; `status` is `none` until staff set a plan."""
    team = await _team(request, team_id)
    _own_team_only(principal, team)
    async with _host(request).db.sessions() as session:
        repo = BudgetQueries(session)
        history = await repo.cost_plans_of_team(team_id)
        committed = committed_by_position(await repo.expenses_of_team(team_id))
        pot = await repo.get_pot(team.call_id)
    tolerance = pot.cost_plan_tolerance_percent if pot else DEFAULT_COST_PLAN_TOLERANCE_PERCENT
    return cost_plan_out(team, in_force(history), pending(history), committed, tolerance)


@router.put("/teams/{team_id}/cost-plan", tags=["cost plans"])
async def put_cost_plan(
    team_id: Id,
    body: CostPlanIn,
    request: Request,
    principal: Staff,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Set the team's cost plan: lines summing to the allocation. A change that moves any
    line by more than the call's tolerance answers `status: pending_approval` and takes
    effect when another staff member approves it."""
    lines = [(line.position, line.planned) for line in body.lines]

    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        return _cost_plan_body(
            await cost_plans.set_cost_plan(uow, team_id, lines, body.reason, principal)
        )

    return await run_command(
        request, principal, work, idempotency_key=idempotency_key, body=body.model_dump(mode="json")
    )


@router.post("/teams/{team_id}/cost-plan/approve", tags=["cost plans"])
async def approve_cost_plan(
    team_id: Id, request: Request, principal: Staff, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Four eyes: put the waiting change in force (not by the one who proposed it)."""

    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        return _cost_plan_body(await cost_plans.approve_cost_plan(uow, team_id, principal))

    return await run_command(request, principal, work, idempotency_key=idempotency_key)


@router.post("/teams/{team_id}/expenses", status_code=201, tags=["expenses"])
async def submit_expense(
    team_id: Id,
    body: ExpenseIn,
    request: Request,
    principal: Submitter,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    _own_team_only(principal, await _team(request, team_id))
    cmd = handlers.SubmitExpense(
        team_id=team_id,
        position=body.position,
        net_cents=body.net,
        vat_cents=body.vat,
        receipt_number=body.receipt_number,
        receipt_date=body.receipt_date,
        payee=body.payee,
        purpose=body.purpose,
    )

    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        return expense_out(await handlers.submit_expense(uow, cmd, principal))

    return await run_command(
        request,
        principal,
        work,
        status=201,
        idempotency_key=idempotency_key,
        body=body.model_dump(mode="json"),
    )


@router.get("/teams/{team_id}/expenses", tags=["expenses"])
async def team_expenses(
    team_id: Id,
    request: Request,
    principal: TeamReader,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The team's expenses in the order they were submitted."""
    _own_team_only(principal, await _team(request, team_id))
    page = page_from(limit, cursor)
    async with _host(request).db.sessions() as session:
        items = await BudgetQueries(session).page_of_expenses(team_id, page)
    return {
        "items": [expense_out(e) for e in items],
        "next_cursor": next_cursor(items, limit, lambda e: (e.submitted_at, e.id)),
    }


@router.get("/expenses/{expense_id}", tags=["expenses"])
async def get_expense(expense_id: Id, request: Request, principal: TeamReader) -> dict[str, Any]:
    async with _host(request).db.sessions() as session:
        expense = await BudgetQueries(session).get_expense(expense_id)
    if expense is None:
        raise Problem(404, "not-found", f"expense {expense_id} does not exist")
    _own_team_only(principal, await _team(request, expense.team_id))
    return expense_out(expense)


@router.post("/expenses/{expense_id}/approve", tags=["expenses"])
async def approve_expense(
    expense_id: Id, request: Request, principal: Finance, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        return expense_out(await handlers.approve_expense(uow, expense_id, principal))

    return await run_command(request, principal, work, idempotency_key=idempotency_key)


@router.post("/expenses/{expense_id}/reject", tags=["expenses"])
async def reject_expense(
    expense_id: Id,
    body: RejectIn,
    request: Request,
    principal: Finance,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        return expense_out(await handlers.reject_expense(uow, expense_id, body.reason, principal))

    return await run_command(
        request, principal, work, idempotency_key=idempotency_key, body=body.model_dump()
    )


@router.post("/expenses/{expense_id}/reverse", tags=["expenses"])
async def reverse_expense(
    expense_id: Id,
    body: RejectIn,
    request: Request,
    principal: Finance,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Correct an approved expense with a reversing transfer (four eyes: not its approver)."""

    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        return expense_out(await handlers.reverse_expense(uow, expense_id, body.reason, principal))

    return await run_command(
        request, principal, work, idempotency_key=idempotency_key, body=body.model_dump()
    )


@router.put("/teams/{team_id}/bank-account", tags=["payouts"])
async def put_bank_account(
    team_id: Id,
    body: BankAccountIn,
    request: Request,
    principal: Staff,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The account the team's payouts go to; IBAN (and BIC) checked (422 `invalid-iban`).
    Payments already exported keep the account they were exported with."""
    cmd = payouts.SetBankAccount(team_id, body.account_holder, body.iban, body.bic)

    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        return bank_account_out(await payouts.set_bank_account(uow, cmd, principal))

    return await run_command(
        request, principal, work, idempotency_key=idempotency_key, body=body.model_dump()
    )


@router.get("/teams/{team_id}/bank-account", tags=["payouts"])
async def get_bank_account(team_id: Id, request: Request, _: StaffOrFinance) -> dict[str, Any]:
    await _team(request, team_id)
    async with _host(request).db.sessions() as session:
        account = await BudgetQueries(session).bank_account(team_id)
    if account is None:
        raise Problem(404, "not-found", f"Team {team_id} has no bank account yet.")
    return bank_account_out(account)


@router.post("/teams/{team_id}/payment-requests", status_code=201, tags=["payouts"])
async def request_payment(
    team_id: Id, request: Request, principal: StaffOrAgent, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Bundle the team's approved expenses not yet requested into a payment request
    (Mittelabruf); none → 409 `nothing-to-pay`."""
    _own_team_only(principal, await _team(request, team_id))

    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        payment, _ = await payouts.request_payment(uow, team_id, principal)
        return payment_request_out(payment)

    return await run_command(request, principal, work, status=201, idempotency_key=idempotency_key)


PaymentStatus = Literal["requested", "approved", "exported", "paid", "cancelled", "returned"]


@router.get("/payment-requests", tags=["payouts"])
async def list_payment_requests(
    request: Request,
    principal: TeamReader,
    team_id: Id | None = None,
    status: PaymentStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Payment requests in the order they were made; agents see their own teams' only."""
    if principal.is_agent:
        if team_id is None:
            raise Problem(403, "forbidden", "Agents list the payment requests of one team.")
        _own_team_only(principal, await _team(request, team_id))
    page = page_from(limit, cursor)
    async with _host(request).db.sessions() as session:
        items = await BudgetQueries(session).page_of_payment_requests(
            team_id=team_id, status=status, page=page
        )
    return {
        "items": [payment_request_out(p) for p in items],
        "next_cursor": next_cursor(items, limit, lambda p: (p.requested_at, p.id)),
    }


async def _payment(request: Request, request_id: str) -> PaymentRequest:
    async with _host(request).db.sessions() as session:
        payment = await BudgetQueries(session).payment_request(request_id)
    if payment is None:
        raise Problem(404, "not-found", f"payment request {request_id} does not exist")
    return payment


@router.get("/payment-requests/{request_id}", tags=["payouts"])
async def get_payment_request(
    request_id: Id, request: Request, principal: TeamReader
) -> dict[str, Any]:
    payment = await _payment(request, request_id)
    _own_team_only(principal, await _team(request, payment.team_id))
    return payment_request_out(payment)


@router.post("/payment-requests/{request_id}/approve", tags=["payouts"])
async def approve_payment_request(
    request_id: Id, request: Request, principal: Finance, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Four eyes: finance, not the one who requested it."""

    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        return payment_request_out(await payouts.approve_payment(uow, request_id, principal))

    return await run_command(request, principal, work, idempotency_key=idempotency_key)


@router.post("/payment-requests/{request_id}/cancel", tags=["payouts"])
async def cancel_payment_request(
    request_id: Id,
    body: RejectIn,
    request: Request,
    principal: StaffOrFinance,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Until it is exported; its expenses may be requested again."""

    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        return payment_request_out(
            await payouts.cancel_payment(uow, request_id, body.reason, principal)
        )

    return await run_command(
        request, principal, work, idempotency_key=idempotency_key, body=body.model_dump()
    )


@router.post("/payment-requests/{request_id}/paid", tags=["payouts"])
async def payment_request_paid(
    request_id: Id,
    body: PaidIn,
    request: Request,
    principal: Finance,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The bank executed the transfer on `value_date`: the money counts as paid."""

    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        return payment_request_out(
            await payouts.mark_paid(uow, request_id, body.value_date, principal)
        )

    return await run_command(
        request,
        principal,
        work,
        idempotency_key=idempotency_key,
        body=body.model_dump(mode="json"),
    )


@router.post("/payment-requests/{request_id}/returned", tags=["payouts"])
async def payment_request_returned(
    request_id: Id,
    body: RejectIn,
    request: Request,
    principal: Finance,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The bank sent the money back: approved and unpaid again, requestable again."""

    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        return payment_request_out(
            await payouts.mark_returned(uow, request_id, body.reason, principal)
        )

    return await run_command(
        request, principal, work, idempotency_key=idempotency_key, body=body.model_dump()
    )


def _debtor(request: Request) -> DebtorAccount:
    settings = _host(request).settings
    assert isinstance(settings, BudgetSettings)
    iban = settings.programme_iban
    if not iban:
        raise Problem(
            409,
            "programme-account-missing",
            "The programme's account is not configured (PROGRAMME_IBAN): no transfer file "
            "can be made.",
        )
    return DebtorAccount(settings.programme_account_name, iban, settings.programme_bic)


@router.post("/payment-runs", status_code=201, tags=["payouts"])
async def create_payment_run(
    body: PaymentRunIn,
    request: Request,
    principal: Finance,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Export every approved payment request in one SEPA credit transfer run; they become
    `exported`. None approved → 409 `nothing-to-export`."""
    _debtor(request)

    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        return payment_run_out(await payouts.export_payments(uow, body.execution_date, principal))

    return await run_command(
        request,
        principal,
        work,
        status=201,
        idempotency_key=idempotency_key,
        body=body.model_dump(mode="json"),
    )


@router.get("/payment-runs/{run_id}", tags=["payouts"])
async def get_payment_run(run_id: Id, request: Request, _: Finance) -> dict[str, Any]:
    async with _host(request).db.sessions() as session:
        found = await BudgetQueries(session).payment_run(run_id)
    if found is None:
        raise Problem(404, "not-found", f"payment run {run_id} does not exist")
    run, items = found
    return payment_run_out(run) | {"requests": [payment_request_out(p) for p in items]}


class SepaXmlResponse(Response):
    media_type = "application/xml"


@router.get(
    "/payment-runs/{run_id}/sepa.xml",
    tags=["payouts"],
    response_class=SepaXmlResponse,
    responses={200: {"description": "pain.001.001.09, validated; the same bytes every time."}},
)
async def payment_run_sepa(run_id: Id, request: Request, _: Finance) -> SepaXmlResponse:
    debtor = _debtor(request)
    async with _host(request).db.sessions() as session:
        repo = BudgetQueries(session)
        found = await repo.payment_run(run_id)
        if found is None:
            raise Problem(404, "not-found", f"payment run {run_id} does not exist")
        run, items = found
        titles = {}
        for team_id in sorted({p.team_id for p in items}):
            team = await repo.get_team(team_id)
            titles[team_id] = team.title if team else ""
    data = credit_transfer_xml(run, items, debtor, titles)
    name = f"sepa-{run.execution_date.isoformat()}-{run.id[:8]}.xml"
    return SepaXmlResponse(data, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/ledger", tags=["ledger"])
async def ledger(
    request: Request,
    _: Finance,
    team_id: Id | None = None,
    call_id: Id | None = None,
    since: Annotated[
        UtcMoment | None, Query(description="RFC 3339 with offset, e.g. 2026-03-01T00:00:00Z")
    ] = None,
    limit: Limit = 50,
    cursor: PositionCursor = None,
) -> dict[str, Any]:
    """The budget's transfers, oldest first; each moves money between two accounts."""
    after = decode_position_cursor(cursor) if cursor else None
    async with _host(request).db.sessions() as session:
        rows = await BudgetQueries(session).transfers(
            team_id=team_id, call_id=call_id, since=since, after_position=after, limit=limit
        )
    return {
        "items": [
            {
                "position": r.position,
                "id": r.transfer_id,
                "kind": r.kind,
                "call_id": r.call_id,
                "team_id": r.team_id,
                "expense_id": r.expense_id,
                "from_account": r.from_account,
                "to_account": r.to_account,
                "amount": format_eur(r.amount_cents),
                "booked_at": ts(r.booked_at),
                "cause": r.cause,
            }
            for r in rows
        ],
        "next_cursor": str(rows[-1].position) if len(rows) == limit else None,
    }


class CsvResponse(Response):
    """A CSV download; documented as ``text/csv`` rather than FastAPI's default JSON."""

    media_type = "text/csv"


_CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {"description": "UTF-8 with a byte order mark; `sep` and `decimal` as asked."}
}


ReceiptStatus = Literal["submitted", "approved", "rejected", "reversed", "all"]
_RECEIPTS_QUERY = (
    "`lang` (else `Accept-Language`; English by default) chooses the headers, labels and date "
    "format; German lists use `;` and a decimal comma unless `sep`/`decimal` say otherwise. "
    "`status` filters (default `approved`, `all` for every receipt)."
)


class XlsxResponse(Response):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _language(request: Request, lang: Language | None) -> Language:
    if lang is not None:
        return lang
    wanted = request.headers.get("accept-language", "").strip().lower()
    return "de" if wanted.startswith("de") else "en"


async def _receipts(
    request: Request, team_id: str, status: ReceiptStatus
) -> tuple[list[Expense], dict[str, date]]:
    """The team's receipts with ``status``, and the value date of each one paid out."""
    await _team(request, team_id)
    async with _host(request).db.sessions() as session:
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
    responses=_CSV_DOC,
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
    language = _language(request, lang)
    german = language == "de"
    receipts, paid_on = await _receipts(request, team_id, status)
    text = receipt_list_csv(
        receipts,
        language,
        paid_on=paid_on,
        sep=sep or (";" if german else ","),
        decimal=decimal or ("comma" if german else "point"),
    )
    return _csv(text, f"{'belegliste' if german else 'receipts'}-{team_id}.csv")


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
    language = _language(request, lang)
    team = await _team(request, team_id)
    title = f"{'Belegliste' if language == 'de' else 'Receipt list'}: {team.title}"
    receipts, paid_on = await _receipts(request, team_id, status)
    data = receipt_list_xlsx(receipts, language, title=title, paid_on=paid_on)
    name = f"{'belegliste' if language == 'de' else 'receipts'}-{team_id}.xlsx"
    return XlsxResponse(data, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get(
    "/calls/{call_id}/ledger.csv",
    tags=["exports"],
    response_class=CsvResponse,
    responses=_CSV_DOC,
)
async def call_ledger_csv(
    call_id: Id,
    request: Request,
    _: Finance,
    sep: Separator = ",",
    decimal: DecimalMark = "point",
) -> CsvResponse:
    async with _host(request).db.sessions() as session:
        repo = BudgetQueries(session)
        if await repo.get_pot(call_id) is None:
            raise Problem(404, "not-found", f"No budget for call {call_id}.")
        entries = await repo.entries_of_call(call_id)
    return _csv(exports.call_ledger(entries, sep=sep, decimal=decimal), f"ledger-{call_id}.csv")


def _csv(text: str, filename: str) -> CsvResponse:
    return CsvResponse(
        # A BOM lets spreadsheet programs detect UTF-8 (umlauts in payees and purposes).
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
