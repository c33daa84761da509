"""Events the intake service publishes on ``cimis.intake.v1``."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cimis_contracts import topics
from cimis_contracts.base import EventData, contract

MilestoneKey = Literal["kickoff", "workshop", "prototype", "test", "final"]


class TrancheRule(BaseModel):
    """A share of the team budget released on acceptance (milestone None) or on a milestone."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    milestone: MilestoneKey | None
    percent: int = Field(gt=0, le=100)


class PhaseStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    key: MilestoneKey
    title: str
    days_after_acceptance: int = Field(gt=0, le=3650)


@contract
class CallOpenedV1(EventData):
    TYPE: ClassVar[str] = "de.cimis.intake.call_opened.v1"
    TOPIC: ClassVar[str] = topics.INTAKE

    call_id: str
    title: str
    districts: list[str]
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    total_budget_cents: int = Field(ge=0)
    max_team_budget_cents: int = Field(ge=0)
    tranches: list[TrancheRule]
    phase_plan: list[PhaseStep]

    def subject(self) -> str:
        return self.call_id


@contract
class TeamAcceptedV1(EventData):
    TYPE: ClassVar[str] = "de.cimis.intake.team_accepted.v1"
    TOPIC: ClassVar[str] = topics.INTAKE

    team_id: str
    call_id: str
    title: str
    agent_id: str
    budget_cents: int = Field(gt=0)
    input_vat_deductible: bool
    company_application_id: str
    creative_application_ids: list[str]
    accepted_at: AwareDatetime

    def subject(self) -> str:
        return self.team_id


@contract
class TeamWithdrawnV1(EventData):
    TYPE: ClassVar[str] = "de.cimis.intake.team_withdrawn.v1"
    TOPIC: ClassVar[str] = topics.INTAKE

    team_id: str
    call_id: str
    reason: str
    was_accepted: bool
    withdrawn_at: AwareDatetime

    def subject(self) -> str:
        return self.team_id
