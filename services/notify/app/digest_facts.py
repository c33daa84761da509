"""Consumed events to the weekly digest's read model: budgets, waiting expenses, milestones.

Facts are kept by team, expense or milestone id alone, so an event that overtakes its team's
team_accepted (another topic) is simply recorded; the digest joins them to the agent's teams
when it is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cimis_chassis.consumer import Handler
from cimis_chassis.envelope import CloudEvent
from cimis_contracts.base import EventData
from cimis_contracts.budget import (
    BudgetAllocatedV1,
    BudgetClosedV1,
    ExpenseApprovedV1,
    ExpenseRejectedV1,
    ExpenseReversedV1,
    ExpenseSubmittedV1,
)
from cimis_contracts.intake import TeamWithdrawnV1
from cimis_contracts.milestones import (
    MilestoneCompletedV1,
    MilestoneReopenedV1,
    MilestoneReportedV1,
    MilestoneRescheduledV1,
    MilestoneWaivedV1,
    PlanCancelledV1,
    PlanCreatedV1,
)
from services.notify.app.ports import NotifyUnitOfWork
from services.notify.domain.digest import DONE, OPEN, REPORTED, TrackedMilestone, WaitingExpense


async def record_fact(uow: NotifyUnitOfWork, payload: EventData, event: CloudEvent) -> None:
    facts = uow.digest_facts
    match payload:
        case BudgetAllocatedV1():
            await facts.allocate(payload.team_id, payload.allocated_cents)
        case ExpenseApprovedV1():
            await facts.approve_total(payload.team_id, payload.approved_total_cents)
            await facts.expense_decided(payload.expense_id)
        case ExpenseReversedV1():
            await facts.approve_total(payload.team_id, payload.approved_total_cents)
        case ExpenseRejectedV1():
            await facts.expense_decided(payload.expense_id)
        case ExpenseSubmittedV1():
            await facts.expense_waiting(
                WaitingExpense(
                    expense_id=payload.expense_id,
                    team_id=payload.team_id,
                    fundable_cents=payload.fundable_cents,
                    submitted_at=payload.submitted_at,
                )
            )
        case BudgetClosedV1():
            await facts.close_budget(payload.team_id)
        case TeamWithdrawnV1():
            await facts.withdraw_team(payload.team_id)
        case PlanCreatedV1():
            await facts.plan(
                [
                    TrackedMilestone(
                        milestone_id=m.milestone_id,
                        team_id=payload.team_id,
                        key=m.key,
                        title=m.title,
                        due_date=m.due_date,
                        status=OPEN,
                    )
                    for m in payload.milestones
                ]
            )
        case MilestoneRescheduledV1():
            await facts.reschedule(payload.milestone_id, payload.due_date)
        case MilestoneReportedV1():
            await facts.set_status(payload.milestone_id, REPORTED)
        case MilestoneCompletedV1() | MilestoneWaivedV1():
            await facts.set_status(payload.milestone_id, DONE)
        case MilestoneReopenedV1():
            await facts.set_status(payload.milestone_id, OPEN)
        case PlanCancelledV1():
            await facts.cancel_plan(payload.team_id)
        case _:
            raise ValueError(f"{type(payload).__name__} is no fact of the weekly digest")


DIGEST_FACT_EVENTS: tuple[type[EventData], ...] = (
    BudgetAllocatedV1,
    ExpenseApprovedV1,
    ExpenseReversedV1,
    ExpenseRejectedV1,
    ExpenseSubmittedV1,
    BudgetClosedV1,
    TeamWithdrawnV1,
    PlanCreatedV1,
    MilestoneRescheduledV1,
    MilestoneReportedV1,
    MilestoneCompletedV1,
    MilestoneWaivedV1,
    MilestoneReopenedV1,
    PlanCancelledV1,
)


def with_digest_facts(
    handlers: Mapping[type[EventData], Handler],
) -> dict[type[EventData], Handler]:
    """``handlers`` plus the read model's: where an event also raises an alert, both run."""
    combined = dict(handlers)
    for contract in DIGEST_FACT_EVENTS:
        alert = combined.get(contract)
        combined[contract] = record_fact if alert is None else _both(alert, record_fact)
    return combined


def _both(first: Handler, second: Handler) -> Handler:
    async def handle(uow: Any, payload: Any, event: CloudEvent) -> None:
        await first(uow, payload, event)
        await second(uow, payload, event)

    return handle
