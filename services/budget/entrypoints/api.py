"""Budget's admin API (``/api/v1``): team and call budgets, expenses and the ledger."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from cimis_chassis.api_commands import IdempotencyKey, run_command
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
from cimis_chassis.times import UtcMoment
from services.budget.adapters.queries import BudgetQueries
from services.budget.app import expenses as handlers
from services.budget.app import funding_period
from services.budget.app.ports import BudgetUnitOfWork
from services.budget.domain import budgets
from services.budget.domain.budgets import (
    WAITING,
    FundingPeriod,
    Pot,
    TeamBudget,
)
from services.budget.entrypoints.api_support import (
    Finance,
    Reader,
    Staff,
    StaffOrFinance,
    Submitter,
    TeamReader,
    host,
    known_team,
    own_team_only,
)
from services.budget.entrypoints.schemas import (
    ExpenseIn,
    FundingStartIn,
    Id,
    RejectIn,
    call_budget_out,
    expense_out,
    team_budget_out,
    ts,
)

router = APIRouter(prefix="/api/v1")


@router.get("/teams/{team_id}/budget", tags=["budgets"])
async def team_budget(team_id: Id, request: Request, principal: TeamReader) -> dict[str, Any]:
    team = await known_team(request, team_id)
    own_team_only(principal, team)
    async with host(request).db.sessions() as session:
        expenses = await BudgetQueries(session).expenses_of_team(team_id)
    return team_budget_out(team, expenses)


async def _pot_and_teams(request: Request, call_id: str) -> tuple[Pot, list[TeamBudget]]:
    async with host(request).db.sessions() as session:
        repo = BudgetQueries(session)
        pot = await repo.get_pot(call_id)
        teams = await repo.teams_of_call(call_id)
    if pot is None:
        raise Problem(404, "not-found", f"No budget for call {call_id} (not opened yet?).")
    return pot, teams


def _period_out(team_id: str, period: FundingPeriod) -> dict[str, Any]:
    return {
        "team_id": team_id,
        "starts_on": period.starts_on.isoformat(),
        # Open while budget has not yet heard of the team's plan.
        "ends_on": period.ends_on.isoformat() if period.ends_on else None,
    }


@router.get("/teams/{team_id}/funding-period", tags=["budgets"])
async def get_funding_period(
    team_id: Id, request: Request, principal: TeamReader
) -> dict[str, Any]:
    """The days whose costs count: from acceptance (or the start staff set) to the plan's end
    plus the call's settlement period."""
    team = await known_team(request, team_id)
    own_team_only(principal, team)
    async with host(request).db.sessions() as session:
        pot = await BudgetQueries(session).get_pot(team.call_id)
    return _period_out(team_id, budgets.funding_period(team, pot))


@router.put("/teams/{team_id}/funding-period", tags=["budgets"])
async def set_funding_start(
    team_id: Id,
    body: FundingStartIn,
    request: Request,
    principal: Staff,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Staff set the first day whose costs count (an agreed earlier or later start); receipts
    already submitted or approved must stay inside the period (else 422
    `funding-start-excludes-expenses`)."""

    async def work(uow: BudgetUnitOfWork) -> dict[str, Any]:
        period = await funding_period.set_funding_start(
            uow, team_id, body.starts_on, body.reason, principal
        )
        return _period_out(team_id, period)

    return await run_command(
        request,
        principal,
        work,
        idempotency_key=idempotency_key,
        body=body.model_dump(mode="json"),
    )


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


@router.post("/teams/{team_id}/expenses", status_code=201, tags=["expenses"])
async def submit_expense(
    team_id: Id,
    body: ExpenseIn,
    request: Request,
    principal: Submitter,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    own_team_only(principal, await known_team(request, team_id))
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
    own_team_only(principal, await known_team(request, team_id))
    page = page_from(limit, cursor)
    async with host(request).db.sessions() as session:
        items = await BudgetQueries(session).page_of_expenses(team_id, page)
    return {
        "items": [expense_out(e) for e in items],
        "next_cursor": next_cursor(items, limit, lambda e: (e.submitted_at, e.id)),
    }


@router.get("/expenses/{expense_id}", tags=["expenses"])
async def get_expense(expense_id: Id, request: Request, principal: TeamReader) -> dict[str, Any]:
    async with host(request).db.sessions() as session:
        expense = await BudgetQueries(session).get_expense(expense_id)
    if expense is None:
        raise Problem(404, "not-found", f"expense {expense_id} does not exist")
    own_team_only(principal, await known_team(request, expense.team_id))
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
    async with host(request).db.sessions() as session:
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
