"""Subscribes outcomes to the platform's events: intake's calls, applications and teams,
milestones' plans and budget's money. Every other event type on these topics is skipped."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from cimis_chassis.consumer import EventConsumer, Handler
from cimis_chassis.envelope import CloudEvent
from cimis_chassis.service_host import ServiceHost
from cimis_contracts import topics
from cimis_contracts.base import EventData
from cimis_contracts.budget import (
    BudgetAllocatedV1,
    BudgetClosedV1,
    CostPlanChangedV1,
    ExpenseApprovedV1,
    ExpenseReversedV1,
    PaymentRequestChangedV1,
    TrancheReleasedV1,
    TrancheWithdrawnV1,
)
from cimis_contracts.intake import (
    ApplicationSubmittedV1,
    CallBudgetIncreasedV1,
    CallOpenedV1,
    TeamAcceptedV1,
    TeamProposedV1,
    TeamReassignedV1,
    TeamWithdrawnV1,
)
from cimis_contracts.milestones import (
    MilestoneCompletedV1,
    MilestoneReopenedV1,
    MilestoneReportedV1,
    MilestoneRescheduledV1,
    MilestoneWaivedV1,
    PlanCancelledV1,
    PlanCompletedV1,
    PlanCreatedV1,
)
from services.outcomes.app import forecast_events as forecast
from services.outcomes.app import platform_events as team
from services.outcomes.app import report_events as report
from services.outcomes.app.ports import OutcomesUnitOfWork

CONSUMED_TOPICS = topics.CONSUMES["outcomes"]

# Each event type with every handler it feeds: the teams' copy (blueprints), the report and
# the burn-rate forecast.
SUBSCRIPTIONS: Sequence[tuple[type[EventData], Handler]] = (
    (CallOpenedV1, report.on_call_opened),
    (CallOpenedV1, forecast.on_call_opened),
    (CallBudgetIncreasedV1, report.on_call_budget_increased),
    (ApplicationSubmittedV1, report.on_application_submitted),
    (TeamProposedV1, report.on_team_proposed),
    (TeamAcceptedV1, team.on_team_accepted),
    (TeamAcceptedV1, report.on_team_accepted),
    (TeamReassignedV1, team.on_team_reassigned),
    (TeamWithdrawnV1, team.on_team_withdrawn),
    (TeamWithdrawnV1, report.on_team_withdrawn),
    (PlanCreatedV1, report.on_plan_created),
    (PlanCreatedV1, forecast.on_plan_created),
    (PlanCompletedV1, team.on_plan_completed),
    (MilestoneRescheduledV1, report.on_milestone_rescheduled),
    (MilestoneRescheduledV1, forecast.on_milestone_rescheduled),
    (MilestoneReportedV1, report.on_milestone_reported),
    (MilestoneCompletedV1, report.on_milestone_completed),
    (MilestoneWaivedV1, report.on_milestone_waived),
    (MilestoneWaivedV1, forecast.on_milestone_waived),
    (MilestoneReopenedV1, team.on_milestone_reopened),
    (MilestoneReopenedV1, report.on_milestone_reopened),
    (MilestoneReopenedV1, forecast.on_milestone_reopened),
    (PlanCancelledV1, team.on_plan_cancelled),
    (PlanCancelledV1, report.on_plan_cancelled),
    (BudgetAllocatedV1, report.on_budget_allocated),
    (TrancheReleasedV1, report.on_tranche_released),
    (TrancheWithdrawnV1, report.on_tranche_withdrawn),
    (ExpenseApprovedV1, team.on_expense_approved),
    (ExpenseApprovedV1, report.on_expense_approved),
    (ExpenseReversedV1, team.on_expense_reversed),
    (ExpenseReversedV1, report.on_expense_reversed),
    (CostPlanChangedV1, report.on_cost_plan_changed),
    (PaymentRequestChangedV1, report.on_payment_request_changed),
    (BudgetClosedV1, report.on_budget_closed),
    (CostPlanChangedV1, forecast.on_cost_plan_changed),
)


def _in_turn(handlers: list[Handler]) -> Handler:
    async def handle(uow: OutcomesUnitOfWork, payload: EventData, event: CloudEvent) -> None:
        for handler in handlers:
            await handler(uow, payload, event)

    return handle


def _handlers() -> dict[type[EventData], Handler]:
    by_type: dict[type[EventData], list[Handler]] = defaultdict(list)
    for contract, handler in SUBSCRIPTIONS:
        by_type[contract].append(handler)
    return {c: hs[0] if len(hs) == 1 else _in_turn(hs) for c, hs in by_type.items()}


HANDLERS = _handlers()


def outcomes_consumer(host: ServiceHost) -> EventConsumer:
    return EventConsumer(host, topics=CONSUMED_TOPICS, handlers=HANDLERS)
