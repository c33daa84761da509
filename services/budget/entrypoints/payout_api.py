"""Budget's API for payouts: bank accounts, payment requests, SEPA runs."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cimis_chassis.api_commands import IdempotencyKey, run_command
from cimis_chassis.keyset import page_from
from cimis_chassis.pagination import (
    Cursor,
    Limit,
    next_cursor,
)
from cimis_chassis.problems import Problem
from services.budget.adapters.queries import BudgetQueries
from services.budget.app import payouts
from services.budget.app.ports import BudgetUnitOfWork
from services.budget.domain.payouts import PaymentRequest
from services.budget.entrypoints.api_support import (
    Finance,
    Staff,
    StaffOrAgent,
    StaffOrFinance,
    TeamReader,
    host,
    known_team,
    own_team_only,
)
from services.budget.entrypoints.schemas import (
    BankAccountIn,
    Id,
    PaidIn,
    PaymentRunIn,
    RejectIn,
    bank_account_out,
    payment_request_out,
    payment_run_out,
)
from services.budget.entrypoints.sepa import DebtorAccount, credit_transfer_xml
from services.budget.settings import BudgetSettings

router = APIRouter(prefix="/api/v1")


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
    await known_team(request, team_id)
    async with host(request).db.sessions() as session:
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
    own_team_only(principal, await known_team(request, team_id))

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
        own_team_only(principal, await known_team(request, team_id))
    page = page_from(limit, cursor)
    async with host(request).db.sessions() as session:
        items = await BudgetQueries(session).page_of_payment_requests(
            team_id=team_id, status=status, page=page
        )
    return {
        "items": [payment_request_out(p) for p in items],
        "next_cursor": next_cursor(items, limit, lambda p: (p.requested_at, p.id)),
    }


async def _payment(request: Request, request_id: str) -> PaymentRequest:
    async with host(request).db.sessions() as session:
        payment = await BudgetQueries(session).payment_request(request_id)
    if payment is None:
        raise Problem(404, "not-found", f"payment request {request_id} does not exist")
    return payment


@router.get("/payment-requests/{request_id}", tags=["payouts"])
async def get_payment_request(
    request_id: Id, request: Request, principal: TeamReader
) -> dict[str, Any]:
    payment = await _payment(request, request_id)
    own_team_only(principal, await known_team(request, payment.team_id))
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
    settings = host(request).settings
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
    async with host(request).db.sessions() as session:
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
    async with host(request).db.sessions() as session:
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
