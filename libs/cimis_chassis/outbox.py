"""The transactional outbox: events written with the state change, published by a relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.clock import Clock
from cimis_chassis.database import Database
from cimis_chassis.envelope import CloudEvent, make_event
from cimis_chassis.faults import crash_point
from cimis_chassis.leases import acquire_lease, release_lease
from cimis_chassis.logs import ThrottledLog
from cimis_chassis.metrics import ServiceMetrics

log = logging.getLogger(__name__)

# Sends one record and returns a future that resolves once the broker confirmed it.
SendFn = Callable[[str, bytes, bytes, dict[str, str]], Awaitable["asyncio.Future[Any]"]]


def outbox_row(event: CloudEvent, *, topic: str, key: str) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "topic": topic,
        "key": key,
        "event_type": event.type,
        "payload": event.to_json_bytes().decode(),
        "created_at": event.time,
    }


async def write_outbox(session: AsyncSession, outbox: Table, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows (from :func:`outbox_row`) in one statement, keeping their order."""
    if rows:
        await session.execute(insert(outbox), rows)


async def add_to_outbox(
    session: AsyncSession,
    outbox: Table,
    *,
    source: str,
    type_: str,
    topic: str,
    key: str,
    data: dict[str, Any],
    time: datetime,
    correlation_id: str | None,
    causation_id: str | None,
    event_id: str | None = None,
) -> CloudEvent:
    """Write one event into the outbox inside the caller's transaction and return it."""
    event = make_event(
        source=source,
        type_=type_,
        subject=key,
        time=time,
        data=data,
        correlation_id=correlation_id,
        causation_id=causation_id,
        event_id=event_id,
    )
    await write_outbox(session, outbox, [outbox_row(event, topic=topic, key=key)])
    return event


class OutboxRelay:
    """Publishes outbox rows in position order and marks them only after the broker confirmed.

    One relay instance at a time holds the ``outbox-relay`` lease, so that two service
    instances do not interleave one key's events. A crash between confirm and mark means the
    rows are published again: consumers deduplicate by event id.
    """

    LEASE = "outbox-relay"

    def __init__(
        self,
        db: Database,
        outbox: Table,
        leases: Table,
        send: SendFn,
        clock: Clock,
        metrics: ServiceMetrics,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.2,
        lease_ttl: timedelta = timedelta(seconds=15),
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._leases = leases
        self._send = send
        self._clock = clock
        self._metrics = metrics
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._lease_ttl = lease_ttl
        self._holder = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._lease_until: datetime | None = None
        self._gauges_at: float | None = None
        self._wakeup = asyncio.Event()
        self._problems = ThrottledLog(log)
        self._stopping = False
        self.last_progress_at: datetime | None = None

    def wake(self) -> None:
        """Publish now rather than at the next poll; call after committing outbox rows."""
        self._wakeup.set()

    async def run(self) -> None:
        """Relay until :meth:`stop`; errors are logged and retried with a growing pause."""
        failures = 0
        try:
            while not self._stopping:
                try:
                    published = 0
                    if await self._hold_lease():
                        published = await self.publish_pending()
                    # Every instance reports the backlog, so a relay that waits for a dead
                    # holder's lease still shows the rows that wait with it.
                    await self._update_gauges()
                    self.last_progress_at = self._clock.now()
                    failures = 0
                    if published >= self._batch_size:
                        continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures += 1
                    # A broker outage fails a round every few seconds for as long as it lasts.
                    self._problems.report(
                        f"round:{type(exc).__name__}",
                        "outbox relay round failed (%d in a row): %r",
                        failures,
                        exc,
                        level=logging.ERROR,
                        exc_info=exc,
                    )
                await self._pause(min(self._poll_seconds * 2**failures, 5.0))
        finally:
            try:
                await release_lease(self._db, self._leases, name=self.LEASE, holder=self._holder)
            except Exception:
                log.warning("could not release the outbox lease", exc_info=True)

    def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        self._wakeup.clear()

    async def _hold_lease(self) -> bool:
        now = self._clock.now()
        # Renew at half-life rather than every poll: an idle relay should not write to the
        # database five times a second.
        if self._lease_until is not None and now < self._lease_until - self._lease_ttl / 2:
            return True
        held = await acquire_lease(
            self._db,
            self._leases,
            name=self.LEASE,
            holder=self._holder,
            now=now,
            ttl=self._lease_ttl,
        )
        self._lease_until = now + self._lease_ttl if held else None
        return held

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns how many were confirmed and marked."""
        o = self._outbox
        async with self._db.sessions() as session:
            rows = (
                await session.execute(
                    select(o.c.position, o.c.topic, o.c.key, o.c.event_type, o.c.payload)
                    .where(o.c.published_at.is_(None))
                    .order_by(o.c.position)
                    .limit(self._batch_size)
                )
            ).all()
        if not rows:
            return 0
        # Enqueue all sends before awaiting any: the producer keeps per-partition order and
        # batches them, which is many times faster than one round trip per record.
        futures = []
        for row in rows:
            crash_point("outbox.before_publish", row.event_type)
            headers = {"content-type": "application/cloudevents+json", "ce_type": row.event_type}
            futures.append(
                await self._send(row.topic, row.key.encode(), row.payload.encode(), headers)
            )
        # During a broker outage this waits for the producer's own retries rather than
        # resending: fewer duplicates. The producer's request timeout bounds the wait.
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        confirmed, first_error = self._confirmed_in_order(rows, outcomes)
        for row in rows:
            crash_point("outbox.after_publish", row.event_type)
        if confirmed:
            async with self._db.transaction() as session:
                await session.execute(
                    update(o)
                    .where(o.c.position.in_(confirmed))
                    .values(published_at=self._clock.now())
                )
            self._metrics.outbox_published.inc(len(confirmed))
        if first_error is not None:
            failed = [row.position for row in rows if row.position not in set(confirmed)]
            async with self._db.transaction() as session:
                await session.execute(
                    update(o)
                    .where(o.c.position.in_(failed))
                    .values(attempts=o.c.attempts + 1, last_error=repr(first_error)[:2000])
                )
            raise first_error
        return len(confirmed)

    @staticmethod
    def _confirmed_in_order(
        rows: Any, outcomes: list[Any]
    ) -> tuple[list[int], BaseException | None]:
        # A row counts as done only if every earlier row of its key was confirmed too; a later
        # row that got through is sent again after the earlier one, keeping the key's order.
        blocked_keys: set[str] = set()
        confirmed: list[int] = []
        first_error: BaseException | None = None
        for row, outcome in zip(rows, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                blocked_keys.add(row.key)
                first_error = first_error or outcome
            elif row.key not in blocked_keys:
                confirmed.append(row.position)
        return confirmed, first_error

    async def _update_gauges(self) -> None:
        # Throttled by the process's own monotonic time: a test clock may stand still.
        now = time.monotonic()
        if self._gauges_at is not None and now - self._gauges_at < 1.0:
            return
        self._gauges_at = now
        o = self._outbox
        async with self._db.sessions() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(o.c.created_at)).where(o.c.published_at.is_(None))
                )
            ).one()
        self._metrics.outbox_pending.set(count)
        if oldest is None:
            self._metrics.outbox_oldest_age.set(0)
        else:
            self._metrics.outbox_oldest_age.set(
                max(0.0, (self._clock.now() - oldest).total_seconds())
            )
