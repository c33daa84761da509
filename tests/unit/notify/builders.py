"""Builders for the events notify consumes and the agents it knows, for notify's tests."""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from datetime import UTC, datetime
from typing import Any

from cimis_chassis.envelope import CloudEvent, make_event
from cimis_contracts.base import EventData
from cimis_contracts.budget import (
    AllocationRefusedV1,
    BudgetAllocatedV1,
    ExpenseRejectedV1,
    PaymentRequestChangedV1,
    ThresholdCrossedV1,
    TrancheKeptV1,
)
from cimis_contracts.intake import TeamAcceptedV1, TeamReassignedV1
from cimis_contracts.milestones import (
    MilestoneEscalatedV1,
    MilestoneOverdueV1,
    MilestoneReportedV1,
    PlanCompletedV1,
)
from cimis_contracts.outcomes import (
    BlueprintChangesRequestedV1,
    BlueprintPublishedV1,
    BlueprintSubmittedV1,
    BlueprintWithdrawnV1,
    TeamSpendingOffPlanV1,
)
from services.notify.adapters.resolver import ResolutionFailed
from services.notify.domain.agents import Agent
from services.notify.domain.notifications import Notification
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.webhooks import IPAddress, literal_address

NOW = datetime(2025, 3, 4, 10, 15, tzinfo=UTC)  # 11:15 in Berlin


def team_accepted(team_id: str, **overrides: Any) -> TeamAcceptedV1:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "title": "Terminbuchung 2.0",
        "agent_id": "agent-anna",
        "budget_cents": 45_000_00,
        "input_vat_deductible": False,
        "company_application_id": "app-company",
        "creative_application_ids": ["app-creative"],
        "accepted_at": NOW,
    }
    return TeamAcceptedV1(**(fields | overrides))


def threshold_crossed(team_id: str, **overrides: Any) -> ThresholdCrossedV1:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "threshold_percent": 80,
        "approved_cents": 36_000_00,
        "allocated_cents": 45_000_00,
        "crossed_at": NOW,
    }
    return ThresholdCrossedV1(**(fields | overrides))


def expense_rejected(team_id: str, **overrides: Any) -> ExpenseRejectedV1:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "expense_id": "exp-1",
        "position": "external_services",
        "receipt_number": "RE-2025-017",
        "fundable_cents": 1_234_56,
        "reason": "Rechnung nicht auf das Unternehmen ausgestellt",
        "rejected_by": "finance",
        "rejected_at": NOW,
    }
    return ExpenseRejectedV1(**(fields | overrides))


def milestone_overdue(team_id: str, **overrides: Any) -> MilestoneOverdueV1:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "milestone_id": "ms-1",
        "key": "prototype",
        "title": "Prototyp",
        "due_date": dt.date(2025, 3, 1),
        "detected_at": NOW,
    }
    return MilestoneOverdueV1(**(fields | overrides))


def plan_completed(team_id: str, **overrides: Any) -> PlanCompletedV1:
    fields: dict[str, Any] = {"team_id": team_id, "call_id": "call-1", "completed_at": NOW}
    return PlanCompletedV1(**(fields | overrides))


def allocation_refused(team_id: str, **overrides: Any) -> AllocationRefusedV1:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "requested_cents": 45_000_00,
        "pot_available_cents": 12_500_00,
        "reason_code": "pot-exhausted",
        "reason": "Der Topf des Aufrufs reicht nicht.",
        "refused_at": NOW,
    }
    return AllocationRefusedV1(**(fields | overrides))


def tranche_kept(team_id: str, **overrides: Any) -> TrancheKeptV1:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "trigger": "prototype",
        "milestone_key": "workshop",
        "amount_cents": 18_000_00,
        "unspent_cents": 4_500_00,
        "reason_code": "money-spent",
        "reason": "The prototype tranche of 18,000.00 EUR is spent: it stays with the team.",
        "kept_at": NOW,
    }
    return TrancheKeptV1(**(fields | overrides))


def budget_allocated(team_id: str, **overrides: Any) -> BudgetAllocatedV1:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "allocated_cents": 45_000_00,
        "pot_available_cents": 5_000_00,
        "allocated_at": NOW,
        "from_waiting_list": True,
    }
    return BudgetAllocatedV1(**(fields | overrides))


def envelope(payload: EventData, *, event_id: str | None = None, at: datetime = NOW) -> CloudEvent:
    source = "cimis/" + payload.TOPIC.split(".")[1]
    return make_event(
        source=source,
        type_=payload.TYPE,
        subject=payload.subject(),
        time=at,
        data=payload.model_dump(mode="json"),
        event_id=event_id or str(uuid.uuid4()),
    )


def an_agent(agent_id: str = "agent-anna", **overrides: Any) -> Agent:
    fields: dict[str, Any] = {
        "id": agent_id,
        "name": "Anna Berger",
        "email": f"{agent_id}@example.org",
        "webhook_url": None,
        "quiet_hours": None,
        "language": "de",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Agent(**(fields | overrides))


def a_notification(ident: str, **overrides: Any) -> Notification:
    fields: dict[str, Any] = {
        "id": ident,
        "event_id": f"event-{ident}",
        "recipient": "anna",
        "team_id": "team-1",
        "kind": "threshold_crossed",
        "title": f"Titel {ident}",
        "body": "Text mit Umlauten: äöü ß €",
        "language": "de",
        "correlation_id": f"corr-{ident}",
        "created_at": NOW,
    }
    return Notification(**(fields | overrides))


def quiet(start: str, end: str) -> QuietHours:
    return QuietHours.parse(start, end)


class FakeResolver:
    """DNS as a test says it is: names map to addresses; any other name does not resolve."""

    def __init__(self, names: dict[str, list[str]] | None = None) -> None:
        self.names = dict(names or {})
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        literal = literal_address(host)
        if literal is not None:
            return [literal]
        if host not in self.names:
            raise ResolutionFailed(host)
        return [ipaddress.ip_address(a) for a in self.names[host]]


# Public addresses of documentation-free ranges, so the checks admit them.
PUBLIC_V4, PUBLIC_V6 = "93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


def milestone_reported(team_id: str, **overrides: Any) -> MilestoneReportedV1:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "milestone_id": f"{team_id}-prototype",
        "key": "prototype",
        "reported_by": "agent-anna",
        "reported_at": NOW,
        "note": "Prototyp läuft beim Kunden",
        "evidence_url": "https://example.org/demo",
    }
    return MilestoneReportedV1(**(fields | overrides))


def payment_request_changed(team_id: str, **overrides: Any) -> PaymentRequestChangedV1:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "request_id": "p-1",
        "status": "paid",
        "amount_cents": 14_875_00,
        "positions": [{"position": "external_services", "amount_cents": 14_875_00}],
        "expense_count": 3,
        "run_id": "r-1",
        "value_date": dt.date(2025, 3, 7),
        "paid_total_cents": 14_875_00,
        "changed_by": "frank",
        "changed_at": NOW,
    }
    return PaymentRequestChangedV1(**(fields | overrides))


def milestone_escalated(team_id: str, **overrides: Any) -> MilestoneEscalatedV1:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "milestone_id": f"{team_id}-kickoff",
        "key": "kickoff",
        "title": "Kick-off",
        "due_date": dt.date(2025, 3, 1),
        "overdue_days": 15,
        "escalated_at": NOW,
    }
    return MilestoneEscalatedV1(**(fields | overrides))


def team_reassigned(team_id: str, **overrides: Any) -> TeamReassignedV1:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "agent_id": "Agent-Ben",
        "previous_agent_id": "agent-anna",
        "reason": "Frau Berger ist in Elternzeit.",
        "reassigned_by": "sabine",
        "reassigned_at": NOW,
    }
    return TeamReassignedV1(**(fields | overrides))


def blueprint_event(kind: str, team_id: str, **overrides: Any) -> EventData:
    """One of outcomes' blueprint events (``submitted``, ``changes_requested``, ...)."""
    contracts: dict[str, tuple[type[EventData], dict[str, Any]]] = {
        "submitted": (
            BlueprintSubmittedV1,
            {"version": 2, "submitted_by": "agent-anna", "submitted_at": NOW},
        ),
        "changes_requested": (
            BlueprintChangesRequestedV1,
            {"comment": "Bitte Kosten je Position.", "requested_by": "sabine", "requested_at": NOW},
        ),
        "published": (BlueprintPublishedV1, {"published_by": "sabine", "published_at": NOW}),
        "withdrawn": (
            BlueprintWithdrawnV1,
            {"reason": "Einwilligung widerrufen.", "withdrawn_by": "sabine", "withdrawn_at": NOW},
        ),
    }
    contract, fields = contracts[kind]
    identity = {
        "blueprint_id": "bp-1",
        "team_id": team_id,
        "call_id": "call-1",
        "title": "Online-Terminbuchung",
    }
    return contract(**(identity | fields | overrides))


def spending_off_plan(team_id: str, **overrides: Any) -> TeamSpendingOffPlanV1:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "status": "behind",
        "spent_cents": 8_500_00,
        "expected_cents": 20_000_00,
        "forecast_unspent_cents": 23_000_00,
        "allocated_cents": 40_000_00,
        "plan_ends_on": dt.date(2025, 8, 29),
        "as_of": dt.date(2025, 5, 1),
        "detected_at": NOW,
    }
    return TeamSpendingOffPlanV1(**(fields | overrides))
