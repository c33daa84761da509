"""Events the notify service publishes on ``cimis.notify.v1`` (keyed by team id, else recipient)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from cimis_contracts import topics
from cimis_contracts.base import EventData, Identifier, Reason, contract

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
