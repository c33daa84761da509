"""The commands intake accepts, already parsed into domain units (cents, UTC times)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.calls import PhaseStep, TrancheRule
from services.intake.domain.eligibility import ApplicantFacts


@dataclass(frozen=True)
class OpenCall:
    title: str
    districts: list[str]
    opens_at: datetime
    closes_at: datetime
    total_budget_cents: int
    max_team_budget_cents: int
    tranches: list[TrancheRule] | None
    phase_plan: list[PhaseStep] | None
    settlement_days: int | None = None
    cost_plan_tolerance_percent: int | None = None
    escalation_days: int | None = None
    burn_rate_tolerance_percent: int | None = None
    max_undertaking_budget_cents: int | None = None


@dataclass(frozen=True)
class SubmitApplication:
    call_id: str
    name: str
    contact_email: str
    facts: ApplicantFacts
    # Staff entering an application that arrived earlier (by post or mail); None: now.
    received_at: datetime | None = None
    entered_by: str | None = None


@dataclass(frozen=True)
class ProposeTeam:
    call_id: str
    title: str
    challenge: str
    company_application_id: str
    creative_application_ids: list[str]
    agent_id: str
    budget_cents: int
    input_vat_deductible: bool


@dataclass(frozen=True)
class AcceptTeam:
    team_id: str


@dataclass(frozen=True)
class WithdrawTeam:
    team_id: str
    reason: str


@dataclass(frozen=True)
class ReassignTeam:
    team_id: str
    agent_id: str
    reason: str
    by: str  # the staff member's principal
