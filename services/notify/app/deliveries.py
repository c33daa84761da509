"""Records what happened to one claimed delivery, with its event, in one unit of work."""

from __future__ import annotations

from datetime import datetime

from cimis_contracts.notify import NotificationDeliveredV1, NotificationFailedV1
from services.notify.app.ports import DueDelivery, NotifyUnitOfWork
from services.notify.domain.delivery import DELIVERED, FAILED, GiveUp, RetryPolicy, after_failure

DELIVERED_OUTCOME, RETRIED, FAILED_OUTCOME, LOST_CLAIM = "delivered", "retried", "failed", "lost"

_ERROR_LIMIT = 2000


async def record_delivered(uow: NotifyUnitOfWork, due: DueDelivery, *, holder: str) -> str:
    d, n = due.delivery, due.notification
    assert d.id is not None
    now = uow.clock.now()
    attempts = d.attempts + 1
    if not await uow.deliveries.settle(
        d.id, holder=holder, status=DELIVERED, attempts=attempts, delivered_at=now, last_error=None
    ):
        return LOST_CLAIM
    await uow.audit(
        "delivery.delivered",
        "notification",
        n.id,
        before={"channel": d.channel, "status": d.status},
        after={"channel": d.channel, "status": DELIVERED, "attempts": attempts},
    )
    await uow.emit(
        NotificationDeliveredV1(
            notification_id=n.id,
            recipient=n.recipient,
            team_id=n.team_id,
            kind=n.kind,
            channel=d.channel,
            attempts=attempts,
            delivered_at=now,
        )
    )
    return DELIVERED_OUTCOME


async def record_failure(
    uow: NotifyUnitOfWork,
    due: DueDelivery,
    *,
    holder: str,
    error: str,
    permanent: bool,
    policy: RetryPolicy,
) -> str:
    d, n = due.delivery, due.notification
    assert d.id is not None
    now = uow.clock.now()
    attempts = d.attempts + 1
    error = error[:_ERROR_LIMIT]
    decision = after_failure(
        channel=d.channel,
        attempts=attempts,
        permanent=permanent,
        now=now,
        policy=policy,
        quiet_hours=due.quiet_hours,
    )
    if not isinstance(decision, GiveUp):
        settled = await uow.deliveries.settle(
            d.id, holder=holder, attempts=attempts, next_attempt_at=decision.at, last_error=error
        )
        return RETRIED if settled else LOST_CLAIM
    if not await uow.deliveries.settle(
        d.id, holder=holder, status=FAILED, attempts=attempts, failed_at=now, last_error=error
    ):
        return LOST_CLAIM
    await uow.audit(
        "delivery.failed",
        "notification",
        n.id,
        before={"channel": d.channel, "status": d.status},
        after={"channel": d.channel, "status": FAILED, "attempts": attempts, "error": error},
    )
    await uow.emit(
        NotificationFailedV1(
            notification_id=n.id,
            recipient=n.recipient,
            team_id=n.team_id,
            kind=n.kind,
            channel=d.channel,
            attempts=attempts,
            error=error[:2000],  # the contract's bound; a receiver's answer can be long
            failed_at=now,
        )
    )
    return FAILED_OUTCOME


async def record_deferred(
    uow: NotifyUnitOfWork, due: DueDelivery, *, holder: str, until: datetime
) -> bool:
    """Quiet hours began (or changed) since it was scheduled: not an attempt, just later."""
    assert due.delivery.id is not None
    return await uow.deliveries.settle(due.delivery.id, holder=holder, next_attempt_at=until)
