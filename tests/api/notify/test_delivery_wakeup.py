"""A commit that writes deliveries wakes the worker: an alert goes out without waiting a poll."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client import CollectorRegistry

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.migrations import upgrade_to_head
from cimis_chassis.unit_of_work import Cause
from services.notify.adapters.channels import OutgoingMessage
from services.notify.adapters.metrics import NotifyMetrics
from services.notify.adapters.unit_of_work import MemoryNotifyUnitOfWork
from services.notify.bootstrap import MIGRATIONS
from services.notify.domain.delivery import EMAIL, INBOX, RetryPolicy, Route
from services.notify.domain.notifications import plan_deliveries
from services.notify.entrypoints.delivery_worker import DeliveryWorker
from tests.unit.notify.builders import NOW, a_notification


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []
        self.arrived = asyncio.Event()

    async def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)
        self.arrived.set()

    async def close(self) -> None:
        pass


async def test_a_wake_after_the_commit_delivers_at_once_though_the_poll_is_an_hour(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    upgrade_to_head(MIGRATIONS, url)
    db = Database(url)  # the worker's gauges read it; the deliveries live in the fakes
    uow = MemoryNotifyUnitOfWork(clock=ManualClock(NOW))
    sender = RecordingSender()
    worker = DeliveryWorker(
        db=db,
        units=lambda _cause: uow,
        clock=uow.clock,
        senders={EMAIL: sender},
        policy=RetryPolicy(base_seconds=60, factor=2, max_seconds=3600, max_attempts=3),
        metrics=NotifyMetrics(CollectorRegistry()),
        poll_seconds=3600,
    )
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.05)  # the first round found nothing and sleeps for an hour
        notification = a_notification("n-1")
        async with uow:
            uow.caused_by(Cause("event:e-1", "corr"))
            await uow.notifications.add(notification)
            routes = [Route(INBOX, None), Route(EMAIL, "anna@example.org")]
            await uow.deliveries.add(plan_deliveries(notification, routes, None, NOW))
        worker.wake()

        await asyncio.wait_for(sender.arrived.wait(), timeout=5)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await db.dispose()
    assert [m.target for m in sender.sent] == ["anna@example.org"]
