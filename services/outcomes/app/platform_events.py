"""Handlers of the platform's events: which teams exist, whose they are, how far their plans
are and what their work cost. A team's events come on three topics, so each fact is kept
on its own and joined when read."""

from __future__ import annotations

from cimis_chassis.envelope import CloudEvent
from cimis_chassis.text import comparison_key
from cimis_contracts.budget import ExpenseApprovedV1, ExpenseReversedV1
from cimis_contracts.intake import TeamAcceptedV1, TeamReassignedV1, TeamWithdrawnV1
from cimis_contracts.milestones import MilestoneReopenedV1, PlanCancelledV1, PlanCompletedV1
from services.outcomes.app.ports import OutcomesUnitOfWork
from services.outcomes.domain.teams import CANCELLED, COMPLETED, RUNNING, TeamRecord


async def on_team_accepted(
    uow: OutcomesUnitOfWork, payload: TeamAcceptedV1, event: CloudEvent
) -> None:
    await uow.teams.add(
        TeamRecord(
            id=payload.team_id,
            call_id=payload.call_id,
            title=payload.title,
            agent_id=comparison_key(payload.agent_id),
            accepted_at=payload.accepted_at,
            district=payload.district,
            district_code=payload.district_code,
        )
    )


async def on_team_reassigned(
    uow: OutcomesUnitOfWork, payload: TeamReassignedV1, event: CloudEvent
) -> None:
    await uow.teams.reassign(payload.team_id, comparison_key(payload.agent_id))


async def on_team_withdrawn(
    uow: OutcomesUnitOfWork, payload: TeamWithdrawnV1, event: CloudEvent
) -> None:
    await uow.teams.withdraw(payload.team_id, payload.withdrawn_at)


async def on_plan_completed(
    uow: OutcomesUnitOfWork, payload: PlanCompletedV1, event: CloudEvent
) -> None:
    await uow.teams.set_plan_status(payload.team_id, COMPLETED)


async def on_milestone_reopened(
    uow: OutcomesUnitOfWork, payload: MilestoneReopenedV1, event: CloudEvent
) -> None:
    # A milestone open again means the plan is not complete, whatever it was.
    await uow.teams.set_plan_status(payload.team_id, RUNNING)


async def on_plan_cancelled(
    uow: OutcomesUnitOfWork, payload: PlanCancelledV1, event: CloudEvent
) -> None:
    await uow.teams.set_plan_status(payload.team_id, CANCELLED)


async def on_expense_approved(
    uow: OutcomesUnitOfWork, payload: ExpenseApprovedV1, event: CloudEvent
) -> None:
    await uow.costs.add(payload.team_id, payload.position, payload.fundable_cents)


async def on_expense_reversed(
    uow: OutcomesUnitOfWork, payload: ExpenseReversedV1, event: CloudEvent
) -> None:
    await uow.costs.add(payload.team_id, payload.position, -payload.fundable_cents)
