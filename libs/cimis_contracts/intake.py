"""Events the intake service publishes on ``cimis.intake.v1``."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from cimis_contracts import topics
from cimis_contracts.base import MAX_LIST_ITEMS, EventData, Identifier, Reason, Title, contract

MilestoneKey = Literal["kickoff", "workshop", "prototype", "test", "final"]


class TrancheRule(BaseModel):
    """A share of the team budget released on acceptance (milestone None) or on a milestone."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    milestone: MilestoneKey | None
    percent: int = Field(gt=0, le=100)


class PhaseStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    key: MilestoneKey
    title: Title
    days_after_acceptance: int = Field(gt=0, le=3650)


def _well_formed(steps: list[PhaseStep]) -> list[PhaseStep]:
    # Consumers build a team's milestones from the plan as it comes: one per key, in this
    # order, and completing "final" completes the plan.
    keys = [step.key for step in steps]
    if len(set(keys)) != len(keys):
        raise ValueError("each milestone appears once in a phase plan")
    if any(b.days_after_acceptance <= a.days_after_acceptance for a, b in pairwise(steps)):
        raise ValueError("a phase plan's milestones are due on strictly increasing days")
    if keys[-1] != "final":
        raise ValueError("a phase plan ends with 'final'")
    return steps


PhasePlan = Annotated[
    list[PhaseStep],
    Field(min_length=1, max_length=MAX_LIST_ITEMS),
    AfterValidator(_well_formed),
]
"""A call's milestones, never empty: intake fills in the programme default when none is given."""


@contract
class CallOpenedV1(EventData):
    TYPE: ClassVar[str] = "de.cimis.intake.call_opened.v1"
    TOPIC: ClassVar[str] = topics.INTAKE

    call_id: Identifier
    title: Title
    districts: list[Title] = Field(max_length=MAX_LIST_ITEMS)
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    total_budget_cents: int = Field(ge=0)
    max_team_budget_cents: int = Field(ge=0)
    tranches: list[TrancheRule] = Field(max_length=MAX_LIST_ITEMS)
    phase_plan: PhasePlan
    # Costs count from a team's acceptance to its plan's end plus these days (Abrechnungsfrist).
    settlement_days: int = Field(default=90, ge=0, le=730)
    # A team may shift this share of a cost plan line without a second staff member's approval.
    cost_plan_tolerance_percent: int = Field(default=20, ge=0, le=100)
    # An overdue milestone still open this many days later goes to the programme office too.
    escalation_days: int = Field(default=14, ge=1, le=365)
    # How far a team's spending may stray from its plan's curve before anyone is told.
    burn_rate_tolerance_percent: int = Field(default=25, ge=1, le=100)

    def subject(self) -> str:
        return self.call_id


@contract
class TeamAcceptedV1(EventData):
    TYPE: ClassVar[str] = "de.cimis.intake.team_accepted.v1"
    TOPIC: ClassVar[str] = topics.INTAKE

    team_id: Identifier
    call_id: Identifier
    title: Title
    agent_id: Identifier
    budget_cents: int = Field(gt=0)
    input_vat_deductible: bool
    company_application_id: Identifier
    creative_application_ids: list[Identifier] = Field(max_length=MAX_LIST_ITEMS)
    accepted_at: AwareDatetime
    # The company's seat: where the team works, for the catalogue and the funder's report.
    district: Title | None = None
    district_code: Identifier | None = None

    def subject(self) -> str:
        return self.team_id


@contract
class CallBudgetIncreasedV1(EventData):
    """Staff added money to a call's budget; teams on its waiting list may be funded now."""

    TYPE: ClassVar[str] = "de.cimis.intake.call_budget_increased.v1"
    TOPIC: ClassVar[str] = topics.INTAKE

    call_id: Identifier
    added_cents: int = Field(gt=0)
    total_budget_cents: int = Field(gt=0)
    reason: Reason
    increased_by: Identifier
    increased_at: AwareDatetime

    def subject(self) -> str:
        return self.call_id


@contract
class TeamWithdrawnV1(EventData):
    TYPE: ClassVar[str] = "de.cimis.intake.team_withdrawn.v1"
    TOPIC: ClassVar[str] = topics.INTAKE

    team_id: Identifier
    call_id: Identifier
    reason: Reason
    was_accepted: bool
    withdrawn_at: AwareDatetime

    def subject(self) -> str:
        return self.team_id


@contract
class TeamReassignedV1(EventData):
    """Staff gave an accepted team another network agent: from now on the team is theirs."""

    TYPE: ClassVar[str] = "de.cimis.intake.team_reassigned.v1"
    TOPIC: ClassVar[str] = topics.INTAKE

    team_id: Identifier
    call_id: Identifier
    agent_id: Identifier
    previous_agent_id: Identifier
    reason: Reason
    reassigned_by: Identifier
    reassigned_at: AwareDatetime

    def subject(self) -> str:
        return self.team_id


ApplicantKind = Literal["company", "organisation", "creative"]


@contract
class ApplicationSubmittedV1(EventData):
    """An application reached the office, eligible or not: what the funder's report counts.

    Names and contacts stay in intake; the event carries only what is reported.
    """

    TYPE: ClassVar[str] = "de.cimis.intake.application_submitted.v1"
    TOPIC: ClassVar[str] = topics.INTAKE

    application_id: Identifier
    call_id: Identifier
    kind: ApplicantKind
    district: Title
    district_code: Identifier | None = None
    eligible: bool
    # The codes of the reasons it is not eligible (none when eligible).
    reason_codes: list[Identifier] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    received_at: AwareDatetime

    def subject(self) -> str:
        return self.call_id


@contract
class TeamProposedV1(EventData):
    """Staff formed a team from applications; its acceptance is a team_accepted later."""

    TYPE: ClassVar[str] = "de.cimis.intake.team_proposed.v1"
    TOPIC: ClassVar[str] = topics.INTAKE

    team_id: Identifier
    call_id: Identifier
    budget_cents: int = Field(gt=0)
    proposed_at: AwareDatetime

    def subject(self) -> str:
        return self.team_id
