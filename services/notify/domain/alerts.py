"""Which consumed events become alerts, for whom, and what each alert says (its facts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cimis_chassis.text import comparison_key
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
from services.notify.domain.agents import STAFF

TEAM_ASSIGNED = "team_assigned"
THRESHOLD_CROSSED = "threshold_crossed"
EXPENSE_REJECTED = "expense_rejected"
MILESTONE_OVERDUE = "milestone_overdue"
PLAN_COMPLETED = "plan_completed"
ALLOCATION_REFUSED = "allocation_refused"
BUDGET_WAITING = "budget_waiting"
BUDGET_ALLOCATED = "budget_allocated"
MILESTONE_REPORTED = "milestone_reported"
MILESTONE_ESCALATED = "milestone_escalated"
PAYMENT_PAID = "payment_paid"
TEAM_REASSIGNED = "team_reassigned"
BLUEPRINT_SUBMITTED = "blueprint_submitted"
BLUEPRINT_RECEIVED = "blueprint_received"
BLUEPRINT_CHANGES_REQUESTED = "blueprint_changes_requested"
BLUEPRINT_PUBLISHED = "blueprint_published"
BLUEPRINT_WITHDRAWN = "blueprint_withdrawn"
SPENDING_OFF_PLAN = "spending_off_plan"
TRANCHE_KEPT = "tranche_kept"
KINDS = (
    TEAM_ASSIGNED,
    THRESHOLD_CROSSED,
    EXPENSE_REJECTED,
    MILESTONE_OVERDUE,
    PLAN_COMPLETED,
    ALLOCATION_REFUSED,
    BUDGET_WAITING,
    BUDGET_ALLOCATED,
    MILESTONE_REPORTED,
    MILESTONE_ESCALATED,
    PAYMENT_PAID,
    TEAM_REASSIGNED,
    BLUEPRINT_SUBMITTED,
    BLUEPRINT_RECEIVED,
    BLUEPRINT_CHANGES_REQUESTED,
    BLUEPRINT_PUBLISHED,
    BLUEPRINT_WITHDRAWN,
    SPENDING_OFF_PLAN,
    TRANCHE_KEPT,
)

# Events about a team that are alerted once notify knows the team (from its team_accepted).
TEAM_ALERT_EVENTS: tuple[type[EventData], ...] = (
    ThresholdCrossedV1,
    ExpenseRejectedV1,
    MilestoneOverdueV1,
    PlanCompletedV1,
    AllocationRefusedV1,
    BudgetAllocatedV1,
    MilestoneReportedV1,
    MilestoneEscalatedV1,
    PaymentRequestChangedV1,
    BlueprintSubmittedV1,
    BlueprintChangesRequestedV1,
    BlueprintPublishedV1,
    BlueprintWithdrawnV1,
    TeamSpendingOffPlanV1,
    TrancheKeptV1,
)


@dataclass(frozen=True)
class TeamContact:
    """What notify keeps of an accepted team: whose it is and what it is called."""

    team_id: str
    call_id: str
    title: str
    agent_id: str


@dataclass(frozen=True)
class Alert:
    kind: str
    recipient: str  # an agent id, or STAFF
    team_id: str
    facts: dict[str, Any]  # the template's variables, in domain units (cents, UTC, dates)


def team_of(accepted: TeamAcceptedV1) -> TeamContact:
    return TeamContact(
        team_id=accepted.team_id,
        call_id=accepted.call_id,
        title=accepted.title,
        # Ids compare in any case and Unicode form: kept as their comparison key.
        agent_id=comparison_key(accepted.agent_id),
    )


def raises_alerts(event: EventData) -> bool:
    """Whether ``event`` is one notify tells anyone about (an ordinary allocation is not, nor
    a payment request on its way to the bank)."""
    if isinstance(event, BudgetAllocatedV1):
        return event.from_waiting_list
    if isinstance(event, PaymentRequestChangedV1):
        return event.status == "paid"
    return True


def alerts_for(event: EventData, team: TeamContact) -> list[Alert]:
    """The alerts an event raises: agents hear about their own teams, staff about the rest
    and about money the programme office has to act on."""
    base = {"team_title": team.title, "team_id": team.team_id, "call_id": team.call_id}
    match event:
        case AllocationRefusedV1() if event.team_waits:
            facts = _refusal_facts(event, team)
            return [
                Alert(ALLOCATION_REFUSED, STAFF, team.team_id, base | facts),
                Alert(BUDGET_WAITING, team.agent_id, team.team_id, base | facts),
            ]
        case BudgetAllocatedV1() if event.from_waiting_list:
            facts = {"allocated_cents": event.allocated_cents, "allocated_at": event.allocated_at}
            return [
                Alert(BUDGET_ALLOCATED, team.agent_id, team.team_id, base | facts),
                Alert(BUDGET_ALLOCATED, STAFF, team.team_id, base | facts),
            ]
        case BudgetAllocatedV1():
            return []
        case PaymentRequestChangedV1() if event.status != "paid":
            return []
        case BlueprintSubmittedV1():
            # The office reviews it; the agent hears it arrived, also when staff submitted it
            # on the team's behalf, so that every step of a blueprint reaches the agent.
            office = alert_for(event, team)
            return [office, Alert(BLUEPRINT_RECEIVED, team.agent_id, team.team_id, office.facts)]
        case TeamSpendingOffPlanV1() if event.status == "behind" and event.forecast_unspent_cents:
            # Money would be left: the office may move it to the waiting list in time.
            agent = alert_for(event, team)
            return [agent, Alert(SPENDING_OFF_PLAN, STAFF, team.team_id, agent.facts)]
    return [alert_for(event, team)]


def _refusal_facts(event: AllocationRefusedV1, team: TeamContact) -> dict[str, Any]:
    return {
        "agent_id": team.agent_id,
        "requested_cents": event.requested_cents,
        "pot_available_cents": event.pot_available_cents,
        "reason_code": event.reason_code,
        "max_team_budget_cents": event.max_team_budget_cents,
        "reason": event.reason,
        "refused_at": event.refused_at,
    }


def alert_for(event: EventData, team: TeamContact) -> Alert:
    """The one alert most events raise (see :func:`alerts_for` for all of them)."""
    base = {"team_title": team.title, "team_id": team.team_id, "call_id": team.call_id}
    match event:
        case TeamAcceptedV1():
            kind, recipient = TEAM_ASSIGNED, team.agent_id
            facts = {"budget_cents": event.budget_cents, "accepted_at": event.accepted_at}
        case ThresholdCrossedV1():
            kind, recipient = THRESHOLD_CROSSED, team.agent_id
            facts = {
                "threshold_percent": event.threshold_percent,
                "approved_cents": event.approved_cents,
                "allocated_cents": event.allocated_cents,
                "crossed_at": event.crossed_at,
            }
        case ExpenseRejectedV1():
            kind, recipient = EXPENSE_REJECTED, team.agent_id
            facts = {
                "receipt_number": event.receipt_number,
                "position": event.position,
                "fundable_cents": event.fundable_cents,
                "reason": event.reason,
                "rejected_at": event.rejected_at,
            }
        case MilestoneOverdueV1():
            kind, recipient = MILESTONE_OVERDUE, team.agent_id
            facts = {
                "milestone_title": event.title,
                "milestone_key": event.key,
                "due_date": event.due_date,
                "detected_at": event.detected_at,
            }
        case PlanCompletedV1():
            kind, recipient = PLAN_COMPLETED, team.agent_id
            facts = {"completed_at": event.completed_at}
        case MilestoneEscalatedV1():
            # The agent heard of it when it became overdue; now the office steps in.
            kind, recipient = MILESTONE_ESCALATED, STAFF
            facts = {
                "agent_id": team.agent_id,
                "milestone_title": event.title,
                "milestone_key": event.key,
                "due_date": event.due_date,
                "overdue_days": event.overdue_days,
                "escalated_at": event.escalated_at,
            }
        case MilestoneReportedV1():
            # Only a second person may confirm it: the programme office has to act.
            kind, recipient = MILESTONE_REPORTED, STAFF
            facts = {
                "milestone_key": event.key,
                "milestone_id": event.milestone_id,
                "reported_by": event.reported_by,
                "reported_at": event.reported_at,
                "note": event.note,
                "evidence_url": event.evidence_url,
            }
        case PaymentRequestChangedV1():
            kind, recipient = PAYMENT_PAID, team.agent_id
            facts = {
                "amount_cents": event.amount_cents,
                "value_date": event.value_date,
                "paid_total_cents": event.paid_total_cents,
            }
        case BlueprintSubmittedV1():
            # Staff review every blueprint before it is public.
            kind, recipient = BLUEPRINT_SUBMITTED, STAFF
            facts = {
                "blueprint_title": event.title,
                "blueprint_id": event.blueprint_id,
                "version": event.version,
                "submitted_by": event.submitted_by,
                "submitted_at": event.submitted_at,
            }
        case BlueprintChangesRequestedV1():
            kind, recipient = BLUEPRINT_CHANGES_REQUESTED, team.agent_id
            facts = {
                "blueprint_title": event.title,
                "comment": event.comment,
                "requested_at": event.requested_at,
            }
        case BlueprintPublishedV1():
            kind, recipient = BLUEPRINT_PUBLISHED, team.agent_id
            facts = {
                "blueprint_title": event.title,
                "blueprint_id": event.blueprint_id,
                "published_at": event.published_at,
            }
        case BlueprintWithdrawnV1():
            kind, recipient = BLUEPRINT_WITHDRAWN, team.agent_id
            facts = {
                "blueprint_title": event.title,
                "reason": event.reason,
                "withdrawn_at": event.withdrawn_at,
            }
        case TeamSpendingOffPlanV1():
            kind, recipient = SPENDING_OFF_PLAN, team.agent_id
            facts = {
                "status": event.status,
                "spent_cents": event.spent_cents,
                "expected_cents": event.expected_cents,
                "forecast_unspent_cents": event.forecast_unspent_cents,
                "allocated_cents": event.allocated_cents,
                "plan_ends_on": event.plan_ends_on,
                "spending_ends_on": event.spending_ends_on,
                "as_of": event.as_of,
            }
        case TeamReassignedV1():
            # ``team`` names the new agent already: the team is theirs from now on.
            kind, recipient = TEAM_REASSIGNED, team.agent_id
            facts = {
                "previous_agent_id": event.previous_agent_id,
                "reason": event.reason,
                "reassigned_at": event.reassigned_at,
            }
        case TrancheKeptV1():
            # A reopened milestone's money stays with the team: the office decides what follows.
            kind, recipient = TRANCHE_KEPT, STAFF
            facts = {
                "agent_id": team.agent_id,
                "trigger": event.trigger,
                "milestone_key": event.milestone_key,
                "amount_cents": event.amount_cents,
                "unspent_cents": event.unspent_cents,
                "kept_at": event.kept_at,
            }
        case AllocationRefusedV1():
            # No agent owns a refusal: the programme office has to act on it.
            kind, recipient = ALLOCATION_REFUSED, STAFF
            facts = _refusal_facts(event, team)
        case _:
            raise ValueError(f"{type(event).__name__} raises no alert")
    return Alert(kind=kind, recipient=recipient, team_id=team.team_id, facts=base | facts)
