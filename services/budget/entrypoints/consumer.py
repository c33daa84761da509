"""Subscribes the budget service to intake's and milestones' events (calls, teams, milestones)."""

from __future__ import annotations

from cimis_chassis.consumer import EventConsumer, Handler
from cimis_chassis.service_host import ServiceHost
from cimis_contracts import topics
from cimis_contracts.base import EventData
from cimis_contracts.intake import (
    CallBudgetIncreasedV1,
    CallOpenedV1,
    TeamAcceptedV1,
    TeamReassignedV1,
    TeamWithdrawnV1,
)
from cimis_contracts.milestones import (
    MilestoneCompletedV1,
    MilestoneReopenedV1,
    MilestoneRescheduledV1,
    MilestoneWaivedV1,
    PlanCreatedV1,
)
from services.budget.app.events import (
    load_batch,
    on_call_budget_increased,
    on_call_opened,
    on_milestone_completed,
    on_milestone_reopened,
    on_milestone_rescheduled,
    on_milestone_waived,
    on_plan_created,
    on_team_accepted,
    on_team_reassigned,
    on_team_withdrawn,
)

CONSUMED_TOPICS = topics.CONSUMES["budget"]

HANDLERS: dict[type[EventData], Handler] = {
    CallOpenedV1: on_call_opened,
    CallBudgetIncreasedV1: on_call_budget_increased,
    TeamAcceptedV1: on_team_accepted,
    TeamWithdrawnV1: on_team_withdrawn,
    TeamReassignedV1: on_team_reassigned,
    MilestoneCompletedV1: on_milestone_completed,
    MilestoneWaivedV1: on_milestone_waived,
    MilestoneReopenedV1: on_milestone_reopened,
    PlanCreatedV1: on_plan_created,
    MilestoneRescheduledV1: on_milestone_rescheduled,
}


def budget_consumer(host: ServiceHost) -> EventConsumer:
    return EventConsumer(host, topics=CONSUMED_TOPICS, handlers=HANDLERS, prepare=load_batch)
