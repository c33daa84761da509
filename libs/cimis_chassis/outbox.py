"""The transactional outbox: events written with the state change, published by a relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.bulk import insert_rows
from cimis_chassis.clock import Clock
from cimis_chassis.database import Database
from cimis_chassis.envelope import CloudEvent
from cimis_chassis.faults import crash_point
from cimis_chassis.leases import acquire_lease, release_lease
from cimis_chassis.logs import ThrottledLog
from cimis_chassis.metrics import ServiceMetrics

log = logging.getLogger(__name__)

# Sends one record and returns a future that resolves once the broker confirmed it.
SendFn = Callable[[str, bytes, bytes, dict[str, str]], Awaitable["asyncio.Future[Any]"]]

# Pauses between attempts to mark rows the broker confirmed: short at first (a busy database
# frees up quickly), then a few seconds apart, for as long as the process lives.
MARK_RETRY_DELAYS_SECONDS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
# Once the relay is told to stop, a mark that keeps failing is given up after this long: the
# rows stay pending and go out again after the restart (at least once; consumers dedupe).
MARK_GRACE_AT_STOP_SECONDS = 5.0


def outbox_row(event: CloudEvent, *, topic: str, key: str) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "topic": topic,
        "key": key,
        "event_type": event.type,
        "payload": event.to_json_bytes().decode(),
        "created_at": event.time,
    }


@dataclass(frozen=True)
class OutboxRecord:
    """An outbox row as the relay sends it, known to the unit of work that wrote it."""

    position: int
    topic: str
    key: str
    event_type: str
    payload: str


async def write_outbox(
    session: AsyncSession, outbox: Table, rows: list[dict[str, Any]]
) -> list[OutboxRecord]:
    """Insert outbox rows (from :func:`outbox_row`) in one statement, keeping their order;
    returns them with the positions the database gave them."""
    inserted = await insert_rows(session, outbox, rows, returning=["event_id", "position"])
    if inserted is None:
        return []
    positions: dict[str, int] = dict(inserted.tuples().all())
    return [
        OutboxRecord(
            positions[row["event_id"]], row["topic"], row["key"], row["event_type"], row["payload"]
        )
        for row in rows
    ]


class OutboxRelay:
    """Publishes outbox rows in position order and marks them only after the broker confirmed.

    One relay instance at a time holds the ``outbox-relay`` lease, so that two service
    instances do not interleave one key's events.

    Rows the broker confirmed are never sent again by this process: their positions stay in
    memory until ``published_at`` is written, the write is retried with bounded backoff for
    as long as it takes, and the next batch skips them. Only a crash (or a stop while the
    database stays unwritable) between confirm and mark publishes rows again: consumers
    deduplicate by event id.

    Rows this process just committed are handed over by :meth:`offer` and sent from memory,
    without reading them back, as long as the last sweep found no backlog (older rows go
    first, or a key's events would overtake each other). The sweep, a query for unpublished
    rows, still runs at least every ``sweep_seconds`` and whenever the memory path stands
    down: after a restart, a failed send, or rows another process wrote.
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
        mark_retry_delays: Sequence[float] = MARK_RETRY_DELAYS_SECONDS,
        mark_grace_at_stop: float = MARK_GRACE_AT_STOP_SECONDS,
        sweep_seconds: float = 1.0,
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
        self._stop_requested_at: float | None = None
        self._stop_requested = asyncio.Event()
        self._mark_retry_delays = tuple(mark_retry_delays) or (0.0,)
        self._mark_grace_at_stop = mark_grace_at_stop
        # Confirmed by the broker, not yet marked published: position -> confirmation time.
        self._unmarked: dict[int, datetime] = {}
        self.last_progress_at: datetime | None = None
        # Committed by this process and not yet sent; trusted only while the backlog is clear.
        self._fresh: deque[OutboxRecord] = deque()
        self._backlog_clear = False
        self._sweep_seconds = sweep_seconds
        self._swept_at: float | None = None
        self._sent_up_to = 0
        self.sent_from_memory = 0

    def wake(self) -> None:
        """Publish now rather than at the next poll; call after committing outbox rows."""
        self._wakeup.set()

    def offer(self, records: Iterable[OutboxRecord]) -> None:
        """Rows a unit of work of this process has just committed: send them from memory."""
        self._fresh.extend(records)
        self._wakeup.set()

    async def run(self) -> None:
        """Relay until :meth:`stop`; errors are logged and retried with a growing pause."""
        failures = 0
        try:
            while not self._stopping:
                try:
                    published = 0
                    if await self._hold_lease():
                        published = await self.publish_fresh()
                        if self._sweep_due():
                            published += await self.publish_pending()
                    else:
                        # Another instance publishes; what this one committed, it will sweep.
                        self._fresh.clear()
                        self._backlog_clear = False
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
        if self._stop_requested_at is None:
            self._stop_requested_at = time.monotonic()
        self._stopping = True
        self._stop_requested.set()
        self._wakeup.set()

    @property
    def unmarked_positions(self) -> frozenset[int]:
        """Positions the broker confirmed whose ``published_at`` is not written yet."""
        return frozenset(self._unmarked)

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

    def _sweep_due(self) -> bool:
        now = time.monotonic()
        recently = self._swept_at is not None and now - self._swept_at < self._sweep_seconds
        if self._backlog_clear and recently:
            return False
        self._swept_at = now
        return True

    async def publish_fresh(self) -> int:
        """Send what this process committed since the last round, without reading it back."""
        if not self._fresh:
            return 0
        if not self._backlog_clear:
            self._fresh.clear()  # the sweep will find them, after the older rows
            return 0
        # A row at or below what was sent already either went out (the sweep read it too)
        # or committed late with a lower position: the next sweep sends it, in order.
        records = sorted(
            (r for r in self._take_fresh() if r.position > self._sent_up_to),
            key=lambda r: r.position,
        )
        if not records:
            return 0
        self.sent_from_memory += len(records)
        return await self._publish(records)

    def _take_fresh(self) -> list[OutboxRecord]:
        taken = list(self._fresh)
        self._fresh.clear()
        return taken

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns how many the broker confirmed.

        Confirmed rows are marked before this returns, retrying as long as it takes (see
        :meth:`_mark_confirmed`); rows left unmarked by an earlier call are marked first.
        """
        await self._mark_confirmed()
        # Rows committed from now on are newer than anything this sweep reads.
        self._fresh.clear()
        self._backlog_clear = False
        o = self._outbox
        query = (
            select(o.c.position, o.c.topic, o.c.key, o.c.event_type, o.c.payload)
            .where(o.c.published_at.is_(None))
            .order_by(o.c.position)
            .limit(self._batch_size)
        )
        if self._unmarked:  # only when a mark was given up at stop: never send them again
            query = query.where(o.c.position.not_in(list(self._unmarked)))
        async with self._db.sessions() as session:
            rows = (await session.execute(query)).all()
        published = await self._publish(rows) if rows else 0
        # Only a sweep that found less than a batch, all sent, has cleared the backlog.
        self._backlog_clear = len(rows) < self._batch_size
        return published

    async def _publish(self, rows: Sequence[Any]) -> int:
        """Send ``rows`` (position order), mark what the broker confirmed; raise on a failure."""
        await self._mark_confirmed()
        # Enqueue all sends before awaiting any: the producer keeps per-partition order and
        # batches them, which is many times faster than one round trip per record.
        futures = []
        self._sent_up_to = max(self._sent_up_to, rows[-1].position)
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
        # From here on the confirmed rows are published, whatever happens to the database.
        confirmed_at = self._clock.now()
        for position in confirmed:
            self._unmarked[position] = confirmed_at
        self._metrics.outbox_published.inc(len(confirmed))
        for row in rows:
            crash_point("outbox.after_publish", row.event_type)
        await self._mark_confirmed()
        if first_error is not None:
            self._backlog_clear = False
            self._fresh.clear()
            done = set(confirmed)
            failed = [row.position for row in rows if row.position not in done]
            async with self._db.transaction() as session:
                o = self._outbox
                await session.execute(
                    update(o)
                    .where(o.c.position.in_(failed))
                    .values(attempts=o.c.attempts + 1, last_error=repr(first_error)[:2000])
                )
            raise first_error
        return len(confirmed)

    async def _mark_confirmed(self) -> None:
        """Write ``published_at`` for every confirmed row, retrying until it is written.

        A failed mark is never a reason to publish again: the rows stay in memory, skipped by
        every later batch, and the write is retried with bounded backoff. Only once the relay
        is stopping is it given up, after a grace period, leaving the rows to the next run.
        """
        failures = 0
        while self._unmarked:
            try:
                await self._mark(dict(self._unmarked))
            except Exception as exc:
                failures += 1
                delay = self._mark_retry_delays[min(failures, len(self._mark_retry_delays)) - 1]
                grace_left = self._mark_grace_left()
                if grace_left is not None and grace_left <= 0:
                    log.error(
                        "outbox relay stopping: %d confirmed rows could not be marked "
                        "published (%r); they will be published again after the restart",
                        len(self._unmarked),
                        exc,
                    )
                    return
                self._problems.report(
                    "mark",
                    "outbox relay: marking %d confirmed rows published failed (%d in a row), "
                    "retrying: %r",
                    len(self._unmarked),
                    failures,
                    exc,
                    level=logging.ERROR if failures > 3 else logging.WARNING,
                )
                if grace_left is not None:
                    await asyncio.sleep(min(delay, grace_left))
                else:
                    # A stop cuts the pause short: the grace period counts from the stop.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop_requested.wait(), timeout=delay)
            else:
                if failures:
                    log.info("outbox relay: confirmed rows marked after %d failures", failures)
                    self._problems.resolve("mark")

    def _mark_grace_left(self) -> float | None:
        """Seconds left to mark confirmed rows after a stop; None while not stopping."""
        if self._stop_requested_at is None:
            return None
        return self._mark_grace_at_stop - (time.monotonic() - self._stop_requested_at)

    async def _mark(self, unmarked: dict[int, datetime]) -> None:
        o = self._outbox
        by_time: dict[datetime, list[int]] = {}
        for position, confirmed_at in unmarked.items():
            by_time.setdefault(confirmed_at, []).append(position)
        marks = [
            # Another instance may have published and marked them after our lease lapsed.
            update(o)
            .where(o.c.position.in_(positions), o.c.published_at.is_(None))
            .values(published_at=confirmed_at)
            for confirmed_at, positions in by_time.items()
        ]
        if len(marks) == 1:
            await self._db.execute_alone(marks[0])
        else:
            async with self._db.transaction() as session:
                for mark in marks:
                    await session.execute(mark)
        for position in unmarked:
            self._unmarked.pop(position, None)

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
