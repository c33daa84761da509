"""Events the notify service publishes on ``cimis.notify.v1``.

Deliveries are keyed by team id, else recipient; the agent directory's events by agent id.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from cimis_contracts import topics
from cimis_contracts.base import EventData, Identifier, Reason, Title, contract

Channel = Literal["email", "webhook", "inbox"]


class _DeliveryEvent(EventData):
    TOPIC: ClassVar[str] = topics.NOTIFY

    notification_id: Identifier
    recipient: Identifier  # an agent id, or "staff" for the programme office mailbox
    team_id: Identifier | None
    kind: Identifier
    channel: Channel
    attempts: int = Field(ge=1)

    def subject(self) -> str:
        return self.team_id or self.recipient


@contract
class NotificationDeliveredV1(_DeliveryEvent):
    TYPE: ClassVar[str] = "de.cimis.notify.notification_delivered.v1"

    delivered_at: AwareDatetime


@contract
class NotificationFailedV1(_DeliveryEvent):
    TYPE: ClassVar[str] = "de.cimis.notify.notification_failed.v1"

    error: Reason
    failed_at: AwareDatetime


class _AgentEvent(EventData):
    """The programme's directory of network agents, which notify keeps and intake follows."""

    TOPIC: ClassVar[str] = topics.NOTIFY

    agent_id: Identifier
    name: Title

    def subject(self) -> str:
        return self.agent_id


@contract
class AgentRegisteredV1(_AgentEvent):
    TYPE: ClassVar[str] = "de.cimis.notify.agent_registered.v1"

    registered_at: AwareDatetime


@contract
class AgentUpdatedV1(_AgentEvent):
    TYPE: ClassVar[str] = "de.cimis.notify.agent_updated.v1"

    updated_at: AwareDatetime


@contract
class AgentRetiredV1(_AgentEvent):
    """The agent left the programme: no new team may name them, and their teams need another."""

    TYPE: ClassVar[str] = "de.cimis.notify.agent_retired.v1"

    retired_at: AwareDatetime
