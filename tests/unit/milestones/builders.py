"""Small builders for milestones tests: intake's and budget's events and plans, stating only
what matters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cimis_chassis.envelope import CloudEvent, make_event
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
    PhaseStep,
    TeamAcceptedV1,
    TeamReassignedV1,
    TeamWithdrawnV1,
)
from cimis_contracts.topics import OWNERS
from services.milestones.domain import plans
from services.milestones.domain.plans import Completion, Plan, confirm, create_plan, report, start

# 10:00 in Berlin (CEST) on 1 August 2024.
ACCEPTED_AT = datetime(2024, 8, 1, 8, 0, tzinfo=UTC)

# The programme's default plan, as intake fills it into a call opened without one.
FIVE_STEPS = [
    PhaseStep(key="kickoff", title="Kick-off", days_after_acceptance=14),
    PhaseStep(key="workshop", title="Co-Creation-Workshop", days_after_acceptance=42),
    PhaseStep(key="prototype", title="Prototyp", days_after_acceptance=120),
    PhaseStep(key="test", title="Test mit Nutzerinnen und Nutzern", days_after_acceptance=150),
    PhaseStep(key="final", title="Abschlusspräsentation und Blaupause", days_after_acceptance=180),
]
SHORT_PLAN = [
    PhaseStep(key="kickoff", title="Auftakt", days_after_acceptance=7),
    PhaseStep(key="prototype", title="Prototyp", days_after_acceptance=60),
    PhaseStep(key="final", title="Abschluss", days_after_acceptance=90),
]


def call_opened(
    call_id: str = "call-1", phase_plan: list[PhaseStep] | None = None, escalation_days: int = 14
) -> CallOpenedV1:
    return CallOpenedV1(
        call_id=call_id,
        title="CIMIS II",
        districts=["Erzgebirgskreis"],
        opens_at=datetime(2024, 6, 1, tzinfo=UTC),
        closes_at=datetime(2024, 9, 20, 21, 59, tzinfo=UTC),
        total_budget_cents=500_000_00,
        max_team_budget_cents=50_000_00,
        tranches=[],
        phase_plan=phase_plan if phase_plan is not None else SHORT_PLAN,
        escalation_days=escalation_days,
    )


def team_accepted(
    team_id: str = "team-1",
    *,
    call_id: str = "call-1",
    agent_id: str = "agent-anna",
    accepted_at: datetime = ACCEPTED_AT,
) -> TeamAcceptedV1:
    return TeamAcceptedV1(
        team_id=team_id,
        call_id=call_id,
        title=f"Team {team_id}",
        agent_id=agent_id,
        budget_cents=45_000_00,
        input_vat_deductible=False,
        company_application_id="co-1",
        creative_application_ids=["cr-1"],
        accepted_at=accepted_at,
    )


def team_withdrawn(team_id: str = "team-1", *, call_id: str = "call-1") -> TeamWithdrawnV1:
    return TeamWithdrawnV1(
        team_id=team_id,
        call_id=call_id,
        reason="Unternehmen insolvent",
        was_accepted=True,
        withdrawn_at=datetime(2024, 9, 1, 8, 0, tzinfo=UTC),
    )


def allocated(
    team_id: str = "team-1",
    *,
    call_id: str = "call-1",
    allocated_at: datetime = ACCEPTED_AT,
    from_waiting_list: bool = False,
) -> BudgetAllocatedV1:
    return BudgetAllocatedV1(
        team_id=team_id,
        call_id=call_id,
        allocated_cents=45_000_00,
        pot_available_cents=100_000_00,
        allocated_at=allocated_at,
        from_waiting_list=from_waiting_list,
    )


def refused(
    team_id: str = "team-1", *, call_id: str = "call-1", code: str = "pot-exhausted"
) -> AllocationRefusedV1:
    """Budget's refusal: ``pot-exhausted`` and ``waiting-list`` keep the team waiting."""
    return AllocationRefusedV1(
        team_id=team_id,
        call_id=call_id,
        requested_cents=45_000_00,
        pot_available_cents=5_000_00,
        reason_code=code,
        max_team_budget_cents=50_000_00,
        reason="x",
        refused_at=ACCEPTED_AT,
    )


def budget_closed(team_id: str = "team-1", *, call_id: str = "call-1") -> BudgetClosedV1:
    return BudgetClosedV1(
        team_id=team_id,
        call_id=call_id,
        returned_cents=45_000_00,
        approved_cents=0,
        closed_at=datetime(2024, 9, 1, 8, 0, tzinfo=UTC),
    )


def envelope(payload: EventData, **overrides: Any) -> CloudEvent:
    """The CloudEvent the payload's producer (intake or budget) would publish."""
    return make_event(
        source=OWNERS[payload.TOPIC],
        type_=payload.TYPE,
        subject=payload.subject(),
        time=overrides.pop("time", ACCEPTED_AT),
        data=payload.model_dump(mode="json"),
        **overrides,
    )


def a_plan(
    team_id: str = "team-1",
    *,
    accepted_at: datetime = ACCEPTED_AT,
    funded: bool = True,
    **overrides: Any,
) -> Plan:
    """A plan on the five-step template; running, as budget allocated on acceptance, unless
    ``funded`` is False (then it waits for budget)."""
    counter = iter(range(1, 100))
    terms: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "call-1",
        "agent_id": "agent-anna",
        "team_title": f"Team {team_id}",
        "accepted_at": accepted_at,
        "steps": [plans.PhaseStep(s.key, s.title, s.days_after_acceptance) for s in FIVE_STEPS],
        "now": accepted_at,
        "new_id": lambda: f"{team_id}-m{next(counter)}",
    }
    terms.update(overrides)
    plan = create_plan(**terms)
    if not funded:
        return plan
    return start(plan, allocated_at=accepted_at, from_waiting_list=False).plan


CONFIRMER = "sven-staff"


def report_and_confirm(
    plan: Plan,
    milestone_id: str,
    *,
    by: str,
    now: datetime,
    note: str | None = "Protokoll liegt vor",
    evidence_url: str | None = None,
) -> Completion:
    """A completion as the office makes it: ``by`` reports it, another staff member confirms."""
    reported = report(plan, milestone_id, by=by, now=now, note=note, evidence_url=evidence_url)
    return confirm(reported.plan, milestone_id, by=CONFIRMER, now=now)


def team_reassigned(
    team_id: str = "team-1", *, agent_id: str = "Agent-Ben", call_id: str = "call-1"
) -> TeamReassignedV1:
    return TeamReassignedV1(
        team_id=team_id,
        call_id=call_id,
        agent_id=agent_id,
        previous_agent_id="agent-anna",
        reason="Elternzeit",
        reassigned_by="sabine",
        reassigned_at=ACCEPTED_AT,
    )


def tranche_released(
    trigger: str, amount_cents: int, team_id: str = "team-1", *, call_id: str = "call-1"
) -> TrancheReleasedV1:
    return TrancheReleasedV1(
        team_id=team_id,
        call_id=call_id,
        trigger=trigger,
        percent=40,
        amount_cents=amount_cents,
        released_total_cents=amount_cents,
        released_at=ACCEPTED_AT,
    )


def tranche_withdrawn(
    trigger: str, amount_cents: int, team_id: str = "team-1", *, call_id: str = "call-1"
) -> TrancheWithdrawnV1:
    return TrancheWithdrawnV1(
        team_id=team_id,
        call_id=call_id,
        trigger=trigger,
        amount_cents=amount_cents,
        released_total_cents=0,
        withdrawn_at=ACCEPTED_AT,
    )


def payment_changed(
    paid_total_cents: int,
    team_id: str = "team-1",
    *,
    status: str = "paid",
    call_id: str = "call-1",
) -> PaymentRequestChangedV1:
    return PaymentRequestChangedV1(
        team_id=team_id,
        call_id=call_id,
        request_id="request-1",
        status=status,
        amount_cents=5_000_00,
        positions=[{"position": "material", "amount_cents": 5_000_00}],
        expense_count=1,
        paid_total_cents=paid_total_cents,
        changed_by="finance",
        changed_at=ACCEPTED_AT,
    )
