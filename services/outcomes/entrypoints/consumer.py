"""Subscribes outcomes to the platform's events: intake's teams, milestones' plans, budget's
approved expenses. Every other event type on these topics is skipped."""

from __future__ import annotations

from cimis_chassis.consumer import EventConsumer, Handler
from cimis_chassis.service_host import ServiceHost
from cimis_contracts import topics
from cimis_contracts.base import EventData
from cimis_contracts.budget import ExpenseApprovedV1, ExpenseReversedV1
from cimis_contracts.intake import TeamAcceptedV1, TeamReassignedV1, TeamWithdrawnV1
from cimis_contracts.milestones import MilestoneReopenedV1, PlanCancelledV1, PlanCompletedV1
from services.outcomes.app import platform_events as on

CONSUMED_TOPICS = topics.CONSUMES["outcomes"]

HANDLERS: dict[type[EventData], Handler] = {
    TeamAcceptedV1: on.on_team_accepted,
    TeamReassignedV1: on.on_team_reassigned,
    TeamWithdrawnV1: on.on_team_withdrawn,
    PlanCompletedV1: on.on_plan_completed,
    MilestoneReopenedV1: on.on_milestone_reopened,
    PlanCancelledV1: on.on_plan_cancelled,
    ExpenseApprovedV1: on.on_expense_approved,
    ExpenseReversedV1: on.on_expense_reversed,
}


def outcomes_consumer(host: ServiceHost) -> EventConsumer:
    return EventConsumer(host, topics=CONSUMED_TOPICS, handlers=HANDLERS)
