"""Handlers that keep what a team's burn-rate forecast follows: its call's tranche plan and
settlement period, its milestones with their latest due days and waivers, its cost plan in
force."""

from __future__ import annotations

from cimis_chassis.envelope import CloudEvent
from cimis_contracts.budget import CostPlanChangedV1
from cimis_contracts.intake import CallOpenedV1
from cimis_contracts.milestones import (
    MilestoneReopenedV1,
    MilestoneRescheduledV1,
    MilestoneWaivedV1,
    PlanCreatedV1,
)
from services.outcomes.app.ports import OutcomesUnitOfWork
from services.outcomes.domain.forecast import Milestone, Tranche


async def on_call_opened(uow: OutcomesUnitOfWork, payload: CallOpenedV1, event: CloudEvent) -> None:
    await uow.forecast_plans.call_plan(
        payload.call_id,
        [Tranche(t.milestone, t.percent) for t in payload.tranches],
        payload.settlement_days,
    )


async def on_plan_created(
    uow: OutcomesUnitOfWork, payload: PlanCreatedV1, event: CloudEvent
) -> None:
    await uow.forecast_plans.milestones(
        payload.team_id,
        [(m.milestone_id, Milestone(m.key, m.due_date)) for m in payload.milestones],
    )


async def on_milestone_rescheduled(
    uow: OutcomesUnitOfWork, payload: MilestoneRescheduledV1, event: CloudEvent
) -> None:
    await uow.forecast_plans.reschedule(payload.team_id, payload.milestone_id, payload.due_date)


async def on_milestone_waived(
    uow: OutcomesUnitOfWork, payload: MilestoneWaivedV1, event: CloudEvent
) -> None:
    # Budget never releases a waived milestone's tranche: the curve leaves it out.
    await uow.forecast_plans.waive(payload.team_id, payload.milestone_id, waived=True)


async def on_milestone_reopened(
    uow: OutcomesUnitOfWork, payload: MilestoneReopenedV1, event: CloudEvent
) -> None:
    # Open again, whatever it was: a waived one's tranche is expected once more.
    await uow.forecast_plans.waive(payload.team_id, payload.milestone_id, waived=False)


async def on_cost_plan_changed(
    uow: OutcomesUnitOfWork, payload: CostPlanChangedV1, event: CloudEvent
) -> None:
    # A version waiting for a second person's approval is not the plan yet.
    if payload.status == "in_force":
        lines: dict[str, int] = {line.position: line.planned_cents for line in payload.lines}
        await uow.forecast_plans.cost_plan(payload.team_id, payload.version, lines)
