"""Intake's admin API (``/api/v1``): calls, applications and teams."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from cimis_chassis.api_commands import IdempotencyKey, run_command
from cimis_chassis.auth import READ_ALL, Principal, Role, require
from cimis_chassis.keyset import page_from
from cimis_chassis.pagination import Cursor, Limit, next_cursor
from cimis_chassis.problems import Problem
from cimis_chassis.service_host import ServiceHost
from cimis_chassis.text import comparison_key, same_ident
from services.intake.adapters.queries import IntakeQueries
from services.intake.app import applications, calls, teams
from services.intake.app.commands import (
    AcceptTeam,
    OpenCall,
    ProposeTeam,
    ReassignTeam,
    SubmitApplication,
    WithdrawTeam,
)
from services.intake.app.ports import IntakeUnitOfWork
from services.intake.domain.calls import PhaseStep, TrancheRule
from services.intake.domain.eligibility import ApplicantFacts
from services.intake.entrypoints.deminimis_notice import deminimis_notice_pdf
from services.intake.entrypoints.schemas import (
    ApplicationIn,
    BudgetIncreaseIn,
    CallIn,
    Id,
    ReassignIn,
    TeamIn,
    WithdrawIn,
    application_out,
    call_out,
    team_out,
)

router = APIRouter(prefix="/api/v1")

Staff = Annotated[Principal, Depends(require(Role.STAFF))]
Reader = Annotated[Principal, Depends(require(*READ_ALL))]
TeamReader = Annotated[Principal, Depends(require(*READ_ALL, Role.AGENT))]


def _host(request: Request) -> ServiceHost:
    return request.app.state.host  # type: ignore[no-any-return]


def agent_key(principal: Principal) -> str:
    """The agent's principal name as team records store agent ids (their comparison key)."""
    return comparison_key(principal.name)


@router.post("/calls", status_code=201, tags=["calls"])
async def open_call(
    body: CallIn, request: Request, principal: Staff, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    cmd = OpenCall(
        title=body.title,
        districts=body.districts,
        opens_at=body.opens_at,
        closes_at=body.closes_at,
        total_budget_cents=body.total_budget,
        max_team_budget_cents=body.max_team_budget,
        tranches=[TrancheRule(t.milestone, t.percent) for t in body.tranches]
        if body.tranches
        else None,
        phase_plan=[PhaseStep(p.key, p.title, p.days_after_acceptance) for p in body.phase_plan]
        if body.phase_plan
        else None,
        settlement_days=body.settlement_days,
        cost_plan_tolerance_percent=body.cost_plan_tolerance_percent,
        escalation_days=body.escalation_days,
        burn_rate_tolerance_percent=body.burn_rate_tolerance_percent,
        max_undertaking_budget_cents=body.max_undertaking_budget,
    )

    async def work(uow: IntakeUnitOfWork) -> dict[str, Any]:
        return call_out(await calls.open_call(uow, cmd), uow.clock.now())

    return await run_command(
        request,
        principal,
        work,
        status=201,
        idempotency_key=idempotency_key,
        body=body.model_dump(mode="json"),
    )


@router.post("/calls/{call_id}/budget-increase", tags=["calls"])
async def increase_call_budget(
    call_id: Id,
    body: BudgetIncreaseIn,
    request: Request,
    principal: Staff,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Add money to the call's budget (never take it away: teams hold it). Budget funds the
    teams on the call's waiting list that the larger pot can now carry, in acceptance order."""

    async def work(uow: IntakeUnitOfWork) -> dict[str, Any]:
        call = await calls.increase_call_budget(
            uow, call_id, body.amount, body.reason, principal.name
        )
        return call_out(call, uow.clock.now())

    return await run_command(
        request,
        principal,
        work,
        idempotency_key=idempotency_key,
        body=body.model_dump(mode="json"),
    )


@router.get("/calls", tags=["calls"])
async def list_calls(
    request: Request, _: TeamReader, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    host = _host(request)
    async with host.db.sessions() as session:
        items = await IntakeQueries(session).calls(page_from(limit, cursor))
    now = host.clock.now()
    return {
        "items": [call_out(c, now) for c in items],
        "next_cursor": next_cursor(items, limit, lambda c: (c.created_at, c.id)),  # type: ignore[arg-type, return-value]
    }


@router.get("/calls/{call_id}", tags=["calls"])
async def get_call(call_id: Id, request: Request, _: TeamReader) -> dict[str, Any]:
    host = _host(request)
    async with host.db.sessions() as session:
        call = await IntakeQueries(session).call(call_id)
    if call is None:
        raise Problem(404, "not-found", f"call {call_id} does not exist")
    return call_out(call, host.clock.now())


@router.post("/applications", status_code=201, tags=["applications"])
async def submit_application(
    body: ApplicationIn,
    request: Request,
    principal: Staff,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    cmd = SubmitApplication(
        call_id=body.call_id,
        name=body.name,
        contact_email=body.contact_email,
        facts=ApplicantFacts(
            kind=body.kind,
            district=body.district,
            employees=body.employees,
            annual_turnover_cents=body.annual_turnover,
            balance_sheet_total_cents=body.balance_sheet_total,
            de_minimis_prior_aid_cents=body.de_minimis_prior_aid,
            challenge=body.challenge,
            expertise=body.expertise,
            undertaking_id=body.undertaking_id,
        ),
        received_at=body.received_at,
        entered_by=principal.name,
    )

    async def work(uow: IntakeUnitOfWork) -> dict[str, Any]:
        return application_out(await applications.submit(uow, cmd))

    return await run_command(
        request,
        principal,
        work,
        status=201,
        idempotency_key=idempotency_key,
        body=body.model_dump(mode="json"),
    )


@router.get("/applications", tags=["applications"])
async def list_applications(
    request: Request,
    _: Reader,
    call_id: Id | None = None,
    status: Annotated[Literal["submitted", "ineligible"] | None, Query()] = None,
    kind: Annotated[Literal["company", "organisation", "creative"] | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    async with _host(request).db.sessions() as session:
        items = await IntakeQueries(session).applications(
            page_from(limit, cursor), call_id=call_id, status=status, kind=kind
        )
    return {
        "items": [application_out(a) for a in items],
        "next_cursor": next_cursor(items, limit, lambda a: (a.submitted_at, a.id)),
    }


@router.get("/applications/{application_id}", tags=["applications"])
async def get_application(application_id: Id, request: Request, _: Reader) -> dict[str, Any]:
    async with _host(request).db.sessions() as session:
        application = await IntakeQueries(session).application(application_id)
    if application is None:
        raise Problem(404, "not-found", f"application {application_id} does not exist")
    return application_out(application)


@router.post("/teams", status_code=201, tags=["teams"])
async def propose_team(
    body: TeamIn, request: Request, principal: Staff, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    cmd = ProposeTeam(
        call_id=body.call_id,
        title=body.title,
        challenge=body.challenge,
        company_application_id=body.company_application_id,
        creative_application_ids=body.creative_application_ids,
        agent_id=body.agent_id,
        budget_cents=body.budget,
        input_vat_deductible=body.input_vat_deductible,
    )

    async def work(uow: IntakeUnitOfWork) -> dict[str, Any]:
        return team_out(await teams.propose_team(uow, cmd))

    return await run_command(
        request,
        principal,
        work,
        status=201,
        idempotency_key=idempotency_key,
        body=body.model_dump(mode="json"),
    )


@router.post("/teams/{team_id}/accept", tags=["teams"])
async def accept_team(team_id: Id, request: Request, principal: Staff) -> JSONResponse:
    """Accept a proposed team: announced to every service as ``team_accepted``.

    Its agent must still be registered and active (one who retired since the proposal: 422
    ``unknown-agent``; reassign the team first).
    """

    async def work(uow: IntakeUnitOfWork) -> dict[str, Any]:
        return team_out(await teams.accept_team(uow, AcceptTeam(team_id)))

    return await run_command(request, principal, work)


@router.post("/teams/{team_id}/withdraw", tags=["teams"])
async def withdraw_team(
    team_id: Id, body: WithdrawIn, request: Request, principal: Staff
) -> JSONResponse:
    async def work(uow: IntakeUnitOfWork) -> dict[str, Any]:
        return team_out(await teams.withdraw_team(uow, WithdrawTeam(team_id, body.reason)))

    return await run_command(request, principal, work)


@router.post("/teams/{team_id}/reassign", tags=["teams"])
async def reassign_team(
    team_id: Id, body: ReassignIn, request: Request, principal: Staff
) -> JSONResponse:
    """Give a team another registered, active network agent (e.g. when its agent retires).

    Every service follows an accepted team's reassignment, so its alerts go to the new agent.
    Unknown or retired agent: 422 ``unknown-agent``; a withdrawn team: 409 ``team-withdrawn``.
    """

    async def work(uow: IntakeUnitOfWork) -> dict[str, Any]:
        cmd = ReassignTeam(team_id, body.agent_id, body.reason, principal.name)
        return team_out(await teams.reassign_team(uow, cmd))

    return await run_command(request, principal, work)


@router.get("/teams/{team_id}", tags=["teams"])
async def get_team(team_id: Id, request: Request, principal: TeamReader) -> dict[str, Any]:
    async with _host(request).db.sessions() as session:
        team = await IntakeQueries(session).team(team_id)
    if team is None:
        raise Problem(404, "not-found", f"team {team_id} does not exist")
    if principal.is_agent and not same_ident(team.agent_id, principal.name):
        raise Problem(403, "forbidden", "Agents may only see the teams they coach.")
    return team_out(team)


class PdfResponse(Response):
    media_type = "application/pdf"


@router.get(
    "/teams/{team_id}/de-minimis-notice.pdf",
    tags=["teams"],
    response_class=PdfResponse,
    responses={200: {"description": "A4; the same team gives the same bytes."}},
)
async def deminimis_notice(team_id: Id, request: Request, _: Staff) -> PdfResponse:
    """The de-minimis notice (De-minimis-Bescheinigung) the team's company keeps: the aid
    granted, the day of the acceptance and the regulation. 409 `team-not-accepted` before."""
    async with _host(request).db.sessions() as session:
        queries = IntakeQueries(session)
        team = await queries.team(team_id)
        if team is None:
            raise Problem(404, "not-found", f"team {team_id} does not exist")
        if team.accepted_at is None:
            raise Problem(409, "team-not-accepted", "The notice is issued on acceptance.")
        company = await queries.application(team.company_application_id)
        call = await queries.call(team.call_id)
    assert company is not None
    assert call is not None
    return PdfResponse(
        deminimis_notice_pdf(team, company, call),
        headers={
            "Content-Disposition": f'attachment; filename="de-minimis-bescheinigung-{team_id}.pdf"'
        },
    )


@router.get("/teams", tags=["teams"])
async def list_teams(
    request: Request,
    principal: TeamReader,
    call_id: Id | None = None,
    status: Annotated[Literal["proposed", "accepted", "withdrawn"] | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    # An agent's list is always narrowed to their own teams, whatever filters they send.
    agent_id = agent_key(principal) if principal.is_agent else None
    async with _host(request).db.sessions() as session:
        items = await IntakeQueries(session).teams(
            page_from(limit, cursor), call_id=call_id, status=status, agent_id=agent_id
        )
    return {
        "items": [team_out(t) for t in items],
        "next_cursor": next_cursor(items, limit, lambda t: (t.created_at, t.id)),
    }
