"""Subscribes the milestones service to intake's events (call opened, team accepted, reassigned,
withdrawn)
and budget's (allocated, allocation refused, closed; tranches released and withdrawn, payment
requests), in one consumer group with one inbox."""

from __future__ import annotations

from cimis_chassis.consumer import EventConsumer, Handler
from cimis_chassis.service_host import ServiceHost
from cimis_contracts import topics
from cimis_contracts.base import EventData
from cimis_contracts.budget import (
    AllocationRefusedV1,
    BudgetAllocatedV1,
    BudgetClosedV1,
    PaymentRequestChangedV1,
    TrancheReleasedV1,
    TrancheWithdrawnV1,
)
from cimis_contracts.intake import (
    CallOpenedV1,
    TeamAcceptedV1,
    TeamReassignedV1,
    TeamWithdrawnV1,
)
from services.milestones.app.budget_events import (
    on_allocation_refused,
    on_budget_allocated,
    on_budget_closed,
    on_payment_request_changed,
    on_tranche_released,
    on_tranche_withdrawn,
)
from services.milestones.app.intake_events import (
    on_call_opened,
    on_team_accepted,
    on_team_reassigned,
    on_team_withdrawn,
    prepare_batch,
)

CONSUMED_TOPICS = topics.CONSUMES["milestones"]

HANDLERS: dict[type[EventData], Handler] = {
    CallOpenedV1: on_call_opened,
    TeamAcceptedV1: on_team_accepted,
    TeamWithdrawnV1: on_team_withdrawn,
    TeamReassignedV1: on_team_reassigned,
    BudgetAllocatedV1: on_budget_allocated,
    AllocationRefusedV1: on_allocation_refused,
    BudgetClosedV1: on_budget_closed,
    TrancheReleasedV1: on_tranche_released,
    TrancheWithdrawnV1: on_tranche_withdrawn,
    PaymentRequestChangedV1: on_payment_request_changed,
}


def event_consumer(host: ServiceHost) -> EventConsumer:
    return EventConsumer(host, topics=CONSUMED_TOPICS, handlers=HANDLERS, prepare=prepare_batch)
