"""Events the outcomes service publishes on ``cimis.outcomes.v1``: a blueprint's review.

Keyed by team id: a team has one blueprint, and its steps arrive in order.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from cimis_contracts import topics
from cimis_contracts.base import EventData, Identifier, Reason, Title, contract


class _BlueprintEvent(EventData):
    TOPIC: ClassVar[str] = topics.OUTCOMES

    blueprint_id: Identifier
    team_id: Identifier
    call_id: Identifier
    title: Title

    def subject(self) -> str:
        return self.team_id


@contract
class BlueprintSubmittedV1(_BlueprintEvent):
    """The team's agent (or staff) submitted the blueprint, or resubmitted it after changes."""

    TYPE: ClassVar[str] = "de.cimis.outcomes.blueprint_submitted.v1"

    version: int = Field(ge=1)
    submitted_by: Identifier
    submitted_at: AwareDatetime


@contract
class BlueprintChangesRequestedV1(_BlueprintEvent):
    TYPE: ClassVar[str] = "de.cimis.outcomes.blueprint_changes_requested.v1"

    comment: Reason
    requested_by: Identifier
    requested_at: AwareDatetime


@contract
class BlueprintPublishedV1(_BlueprintEvent):
    """The blueprint is in the public catalogue from now on."""

    TYPE: ClassVar[str] = "de.cimis.outcomes.blueprint_published.v1"

    published_by: Identifier
    published_at: AwareDatetime


@contract
class BlueprintWithdrawnV1(_BlueprintEvent):
    """Staff took the blueprint back: it leaves the public catalogue at once."""

    TYPE: ClassVar[str] = "de.cimis.outcomes.blueprint_withdrawn.v1"

    reason: Reason
    withdrawn_by: Identifier
    withdrawn_at: AwareDatetime


@contract
class TeamSpendingOffPlanV1(EventData):
    """A team's approved spending strayed from its plan's curve beyond the call's tolerance,
    or came back within it (``on_track``): the agent coaches, the office may move money."""

    TYPE: ClassVar[str] = "de.cimis.outcomes.team_spending_off_plan.v1"
    TOPIC: ClassVar[str] = topics.OUTCOMES

    team_id: Identifier
    call_id: Identifier
    status: Literal["ahead", "behind", "on_track"]
    spent_cents: int
    expected_cents: int = Field(ge=0)
    forecast_unspent_cents: int = Field(ge=0)
    allocated_cents: int = Field(ge=0)
    plan_ends_on: date  # the last milestone's due day
    as_of: date
    detected_at: AwareDatetime
    # The end of the spending period ``forecast_unspent_cents`` is forecast to: the plan's end,
    # or the end of the call's settlement period after it when the last tranche is released at
    # the plan's end (absent on events from before it was sent).
    spending_ends_on: date | None = None

    def subject(self) -> str:
        return self.team_id
