"""Small builders for milestones tests: intake's events and plans, stating only what matters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cimis_chassis.envelope import CloudEvent, make_event
from cimis_contracts.base import EventData
from cimis_contracts.intake import CallOpenedV1, PhaseStep, TeamAcceptedV1, TeamWithdrawnV1
from services.milestones.domain import plans
from services.milestones.domain.plans import Plan, create_plan

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


def call_opened(call_id: str = "call-1", phase_plan: list[PhaseStep] | None = None) -> CallOpenedV1:
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


def envelope(payload: EventData, **overrides: Any) -> CloudEvent:
    """The CloudEvent intake would publish for ``payload``."""
    return make_event(
        source="cimis/intake",
        type_=payload.TYPE,
        subject=payload.subject(),
        time=overrides.pop("time", ACCEPTED_AT),
        data=payload.model_dump(mode="json"),
        **overrides,
    )


def a_plan(
    team_id: str = "team-1", *, accepted_at: datetime = ACCEPTED_AT, **overrides: Any
) -> Plan:
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
    return create_plan(**terms)
