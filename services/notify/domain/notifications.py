"""A notification (one alert for one recipient) and its deliveries, one per channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from services.notify.domain.delivery import (
    DELIVERED,
    FAILED,
    INBOX,
    PENDING,
    Channel,
    Route,
    due_at,
)
from services.notify.domain.errors import Forbidden
from services.notify.domain.formatting import Language
from services.notify.domain.quiet_hours import QuietHours


@dataclass(frozen=True)
class Notification:
    id: str
    event_id: str  # the consumed event it was raised by: one notification per event and recipient
    recipient: str
    team_id: str | None
    kind: str
    title: str
    body: str
    language: Language
    correlation_id: str
    created_at: datetime
    read_at: datetime | None = None


@dataclass(frozen=True)
class Delivery:
    notification_id: str
    channel: Channel
    target: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    last_error: str | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    id: int | None = None


def plan_deliveries(
    notification: Notification,
    routes: Sequence[Route],
    quiet_hours: QuietHours | None,
    now: datetime,
) -> list[Delivery]:
    """The inbox entry is there at once; every other channel waits until it is due."""
    planned = []
    for route in routes:
        if route.channel == INBOX:
            planned.append(
                Delivery(
                    notification_id=notification.id,
                    channel=INBOX,
                    target=None,
                    status=DELIVERED,
                    attempts=1,
                    next_attempt_at=None,
                    created_at=now,
                    delivered_at=now,
                )
            )
        else:
            planned.append(
                Delivery(
                    notification_id=notification.id,
                    channel=route.channel,
                    target=route.target,
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=due_at(route.channel, now, quiet_hours),
                    created_at=now,
                )
            )
    return planned


def delivery_status(statuses: Sequence[str]) -> str:
    """One word for all channels: failed if any failed, else pending if any is, else delivered."""
    if FAILED in statuses:
        return FAILED
    if PENDING in statuses:
        return PENDING
    return DELIVERED


def mark_read(notification: Notification, *, acting_for: str | None, now: datetime) -> Notification:
    """Only the recipient marks a notification read (``acting_for`` None: an admin, anyone's).

    Marking it again keeps the first time it was read.
    """
    if acting_for is not None and acting_for != notification.recipient:
        raise Forbidden("Only its recipient may mark a notification as read.")
    if notification.read_at is not None:
        return notification
    return replace(notification, read_at=now)
