"""Events the milestones service publishes on ``cimis.milestones.v1`` (keyed by team id)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cimis_contracts import topics
from cimis_contracts.base import MAX_LIST_ITEMS, EventData, Identifier, Reason, Title, Url, contract

MilestoneKey = Literal["kickoff", "workshop", "prototype", "test", "final"]


class _TeamEvent(EventData):
    TOPIC: ClassVar[str] = topics.MILESTONES

    team_id: Identifier

    def subject(self) -> str:
        return self.team_id


class PlannedMilestone(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    milestone_id: Identifier
    key: MilestoneKey
    title: Title
    due_date: dt.date  # a calendar day in Europe/Berlin


@contract
class PlanCreatedV1(_TeamEvent):
    TYPE: ClassVar[str] = "de.cimis.milestones.plan_created.v1"

    call_id: Identifier
    agent_id: Identifier
    milestones: list[PlannedMilestone] = Field(max_length=MAX_LIST_ITEMS)
    created_at: AwareDatetime


@contract
class MilestoneReportedV1(_TeamEvent):
    """The team's agent (or staff) reported a milestone done; staff are to confirm it."""

    TYPE: ClassVar[str] = "de.cimis.milestones.milestone_reported.v1"

    call_id: Identifier
    milestone_id: Identifier
    key: MilestoneKey
    reported_by: Identifier
    reported_at: AwareDatetime
    note: Reason | None = None
    evidence_url: Url | None = None


@contract
class MilestoneCompletedV1(_TeamEvent):
    """A staff member other than the reporter confirmed the milestone (four eyes)."""

    TYPE: ClassVar[str] = "de.cimis.milestones.milestone_completed.v1"

    call_id: Identifier
    milestone_id: Identifier
    key: MilestoneKey
    completed_by: Identifier
    completed_at: AwareDatetime
    note: Reason | None = None
    evidence_url: Url | None = None
    # Who reported it (absent on completions from before reports needed a confirmation).
    reported_by: Identifier | None = None


@contract
class MilestoneReopenedV1(_TeamEvent):
    """Staff undid a report, a confirmation or a waiver made by mistake: the milestone is open
    again. Budget withdraws a tranche that no longer has its milestones, if the money is still
    unspent."""

    TYPE: ClassVar[str] = "de.cimis.milestones.milestone_reopened.v1"

    call_id: Identifier
    milestone_id: Identifier
    key: MilestoneKey
    previous_status: Literal["reported", "completed", "waived"]
    reason: Reason
    reopened_by: Identifier
    reopened_at: AwareDatetime


@contract
class MilestoneWaivedV1(_TeamEvent):
    """Staff released the plan from a milestone, with a reason: it counts as done for the plan
    and for the tranches after it, and releases no money of its own."""

    TYPE: ClassVar[str] = "de.cimis.milestones.milestone_waived.v1"

    call_id: Identifier
    milestone_id: Identifier
    key: MilestoneKey
    reason: Reason
    waived_by: Identifier
    waived_at: AwareDatetime


@contract
class MilestoneRescheduledV1(_TeamEvent):
    TYPE: ClassVar[str] = "de.cimis.milestones.milestone_rescheduled.v1"

    call_id: Identifier
    milestone_id: Identifier
    key: MilestoneKey
    previous_due_date: dt.date
    due_date: dt.date
    reason: Reason
    rescheduled_by: Identifier
    rescheduled_at: AwareDatetime


@contract
class MilestoneOverdueV1(_TeamEvent):
    """Published once per milestone and due date; a reschedule re-arms it."""

    TYPE: ClassVar[str] = "de.cimis.milestones.milestone_overdue.v1"

    call_id: Identifier
    milestone_id: Identifier
    key: MilestoneKey
    title: Title
    due_date: dt.date
    detected_at: AwareDatetime


@contract
class MilestoneEscalatedV1(_TeamEvent):
    """Still open ``overdue_days`` after its due date (its call's escalation period): the
    programme office hears of it too, once per milestone and due date."""

    TYPE: ClassVar[str] = "de.cimis.milestones.milestone_escalated.v1"

    call_id: Identifier
    milestone_id: Identifier
    key: MilestoneKey
    title: Title
    due_date: dt.date
    overdue_days: int = Field(ge=1)
    escalated_at: AwareDatetime


@contract
class PlanCompletedV1(_TeamEvent):
    TYPE: ClassVar[str] = "de.cimis.milestones.plan_completed.v1"

    call_id: Identifier
    completed_at: AwareDatetime


@contract
class PlanCancelledV1(_TeamEvent):
    """The plan closed (withdrawal, budget refusal or closure); open milestones were cancelled."""

    TYPE: ClassVar[str] = "de.cimis.milestones.plan_cancelled.v1"

    call_id: Identifier
    cancelled_milestones: int
    cancelled_at: AwareDatetime
