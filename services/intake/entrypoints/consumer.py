"""Subscribes the intake service to budget's team events and notify's agent directory."""

from __future__ import annotations

from cimis_chassis.consumer import EventConsumer, Handler
from cimis_chassis.service_host import ServiceHost
from cimis_contracts import topics
from cimis_contracts.base import EventData
from cimis_contracts.budget import AllocationRefusedV1, BudgetAllocatedV1, BudgetClosedV1
from cimis_contracts.notify import AgentRegisteredV1, AgentRetiredV1, AgentUpdatedV1
from services.intake.app.agents import on_agent_registered, on_agent_retired, on_agent_updated
from services.intake.app.budget_events import (
    on_allocation_refused,
    on_budget_allocated,
    on_budget_closed,
)

CONSUMED_TOPICS = topics.CONSUMES["intake"]

# Everything else on these topics (expenses, deliveries, ...) is skipped.
HANDLERS: dict[type[EventData], Handler] = {
    BudgetAllocatedV1: on_budget_allocated,
    AllocationRefusedV1: on_allocation_refused,
    BudgetClosedV1: on_budget_closed,
    AgentRegisteredV1: on_agent_registered,
    AgentUpdatedV1: on_agent_updated,
    AgentRetiredV1: on_agent_retired,
}


def intake_consumer(host: ServiceHost) -> EventConsumer:
    return EventConsumer(host, topics=CONSUMED_TOPICS, handlers=HANDLERS)
