"""Budget's API for the cost plan (Kostenplan) of a team."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cimis_chassis.api_commands import IdempotencyKey, run_command
from services.budget.adapters.queries import BudgetQueries
from services.budget.app import cost_plans
from services.budget.app.ports import BudgetUnitOfWork
from services.budget.domain.budgets import (
    cost_plan_tolerance,
)
from services.budget.domain.cost_plans import in_force, pending
from services.budget.domain.expenses import committed_by_position
from services.budget.entrypoints.api_support import (
    Staff,
    TeamReader,
    host,
    known_team,
    own_team_only,
)
from services.budget.entrypoints.schemas import (
    CostPlanIn,
    Id,
    cost_plan_out,
)

router = APIRouter(prefix="/api/v1")


def _cost_plan_body(view: cost_plans.CostPlanView) -> dict[str, Any]:
    return cost_plan_out(
        view.team, view.in_force, view.pending, dict(view.committed), view.tolerance_percent
    )


@router.get("/teams/{team_id}/cost-plan", tags=["cost plans"])
async def get_cost_plan(team_id: Id, request: Request, principal: TeamReader) -> dict[str, Any]:
    """The cost plan (Kostenplan) in force, what each line carries, and a change waiting
    for approval; `status` is `none` until staff set a plan."""
    team = await known_team(request, team_id)
    own_team_only(principal, team)
    async with host(request).db.sessions() as session:
        repo = BudgetQueries(session)
        history = await repo.cost_plans_of_team(team_id)
        committed = committed_by_position(await repo.expenses_of_team(team_id))
        pot = await repo.get_pot(team.call_id)
    tolerance = cost_plan_tolerance(pot)
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
