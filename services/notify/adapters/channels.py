"""What a sender gets (one message for one channel) and how it reports failure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: str
    delivery_id: int
    recipient: str
    target: str  # an email address or a webhook URL
    team_id: str | None
    kind: str
    title: str
    body: str
    language: str
    created_at: datetime
    sent_at: datetime


class DeliveryError(Exception):
    """A send that did not go through; ``permanent`` ones are not retried.

    The message is published in NotificationFailedV1 and shown to staff, so it must never
    carry a secret (webhook URLs often hold a token: name the host only).
    """

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sender(Protocol):
    async def send(self, message: OutgoingMessage) -> None: ...

    async def close(self) -> None: ...
