"""A new notification's way out, whatever raised it (an event's alert, the weekly digest)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cimis_contracts.notify import NotificationDeliveredV1
from services.notify.app.ports import NotifyUnitOfWork
from services.notify.domain.delivery import INBOX, Route
from services.notify.domain.notifications import Delivery, Notification, plan_deliveries
from services.notify.domain.quiet_hours import QuietHours


async def deliver(
    uow: NotifyUnitOfWork,
    notification: Notification,
    routes: Sequence[Route],
    quiet_hours: QuietHours | None,
    **audited: Any,
) -> list[Delivery]:
    """Plan the notification's deliveries, audit it and announce its inbox entry.

    The inbox entry exists once this unit commits: that is its delivery. The other channels
    are the delivery worker's, after the recipient's quiet hours.
    """
    planned = plan_deliveries(notification, routes, quiet_hours, notification.created_at)
    await uow.deliveries.add(planned)
    await uow.audit(
        "notification.created",
        "notification",
        notification.id,
        before=None,
        after={
            "event_id": notification.event_id,
            "recipient": notification.recipient,
            "team_id": notification.team_id,
            "kind": notification.kind,
            **audited,
            "channels": [d.channel for d in planned],
        },
    )
    await uow.emit(
        NotificationDeliveredV1(
            notification_id=notification.id,
            recipient=notification.recipient,
            team_id=notification.team_id,
            kind=notification.kind,
            channel=INBOX,
            attempts=1,
            delivered_at=notification.created_at,
        )
    )
    return planned
