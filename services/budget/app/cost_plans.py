"""Handlers of the cost plan commands: set (or propose) a version, and approve a proposal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cimis_chassis.audit import snapshot
from cimis_chassis.auth import Principal
from cimis_contracts.budget import CostPlanChangedV1, CostPlanLine
from services.budget.app.ports import BudgetUnitOfWork
from services.budget.domain import cost_plans as rules
from services.budget.domain.budgets import TeamBudget, cost_plan_tolerance
from services.budget.domain.cost_plans import CostPlan, Decision
from services.budget.domain.errors import NotFound


@dataclass(frozen=True)
class CostPlanView:
    """A team's cost plan as the API shows it: the version in force, the one waiting for
    approval, what each line carries and the call's tolerance."""

    team: TeamBudget
    in_force: CostPlan | None
    pending: CostPlan | None
    committed: Mapping[str, int]
    tolerance_percent: int


async def _team(uow: BudgetUnitOfWork, team_id: str) -> TeamBudget:
    team = await uow.teams.get(team_id, lock=True)
    if team is None:
        raise NotFound("team budget", team_id)
    return team


async def _tolerance(uow: BudgetUnitOfWork, call_id: str) -> int:
    return cost_plan_tolerance(await uow.pots.get(call_id))


async def view(uow: BudgetUnitOfWork, team_id: str) -> CostPlanView:
    team = await _team(uow, team_id)
    history = await uow.cost_plans.of_team(team_id)
    return CostPlanView(
        team=team,
        in_force=rules.in_force(history),
        pending=rules.pending(history),
        committed=await uow.expenses.committed_by_position(team_id),
        tolerance_percent=await _tolerance(uow, team.call_id),
    )


async def set_cost_plan(
    uow: BudgetUnitOfWork,
    team_id: str,
    lines: Sequence[tuple[str, int]],
    reason: str,
    by: Principal,
) -> CostPlanView:
    team = await _team(uow, team_id)
    history = await uow.cost_plans.of_team(team_id, lock=True)
    decision = rules.propose(
        history,
        team,
        lines=lines,
        reason=reason,
        by=by.name,
        now=uow.clock.now(),
        tolerance_percent=await _tolerance(uow, team.call_id),
        committed=await uow.expenses.committed_by_position(team_id),
    )
    await _store(uow, history, decision, "cost_plan.proposed")
    return await view(uow, team_id)


async def approve_cost_plan(uow: BudgetUnitOfWork, team_id: str, by: Principal) -> CostPlanView:
    await _team(uow, team_id)
    history = await uow.cost_plans.of_team(team_id, lock=True)
    decision = rules.approve(
        history,
        by=by.name,
        now=uow.clock.now(),
        committed=await uow.expenses.committed_by_position(team_id),
    )
    await _store(uow, history, decision, "cost_plan.approved")
    return await view(uow, team_id)


async def _store(
    uow: BudgetUnitOfWork, history: list[CostPlan], decision: Decision, action: str
) -> None:
    known = {p.id: p for p in history}
    for plan in decision.changed:
        if plan.id in known:
            uow.cost_plans.put(plan)
        else:
            uow.cost_plans.add(plan)
    plan = decision.plan
    await uow.audit(
        action,
        "cost_plan",
        plan.id,
        before=snapshot(known[plan.id]) if plan.id in known else None,
        after={**snapshot(plan), "shifts": dict(decision.shifts)},
    )
    await uow.emit(
        CostPlanChangedV1(
            team_id=plan.team_id,
            call_id=plan.call_id,
            version=plan.version,
            status="in_force" if plan.status == rules.IN_FORCE else "pending_approval",
            lines=[CostPlanLine(position=p, planned_cents=cents) for p, cents in plan.lines],
            reason=plan.reason,
            proposed_by=plan.proposed_by,
            decided_by=plan.decided_by,
            changed_at=uow.clock.now(),
        )
    )
