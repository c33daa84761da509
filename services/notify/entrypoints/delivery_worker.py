"""The delivery worker: claims due deliveries, sends them and records each outcome.

Exactly one instance sends a delivery at a time: each holds a lease on the row (claimed_by,
claimed_until) taken by a conditional UPDATE. Sending happens outside any transaction; the
outcome is recorded afterwards, guarded by the same claim. A crash between send and record
leaves the claim to expire and the delivery is sent again: at-least-once, never lost. Email
keeps its Message-ID and webhooks carry an Idempotency-Key, so a receiver can drop the copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError

from cimis_chassis.clock import Clock
from cimis_chassis.database import Database
from cimis_chassis.faults import crash_point
from cimis_chassis.logs import ThrottledLog
from cimis_chassis.unit_of_work import Cause
from services.notify.adapters.channels import DeliveryError, OutgoingMessage, Sender
from services.notify.adapters.metrics import NotifyMetrics
from services.notify.adapters.queries import NotifyQueries
from services.notify.app import deliveries
from services.notify.app.ports import DueDelivery, NotifyUnitOfWork, UnitFactory
from services.notify.domain.delivery import CHANNELS, RetryPolicy, due_at

log = logging.getLogger(__name__)

ACTOR = "worker:notify-delivery"
# Together well inside the default claim (120 s), so a recorded outcome is still ours.
RECORD_RETRY_DELAYS_SECONDS = (0.2, 0.5, 1.0, 2.0, 4.0)

# What to record about one delivery once its attempt is over; returns the outcome.
Work = Callable[[NotifyUnitOfWork], Awaitable[str]]


def _cause(due: DueDelivery) -> Cause:
    return Cause(
        actor=ACTOR,
        correlation_id=due.notification.correlation_id,
        causation_id=due.notification.event_id,
    )


class DeliveryWorker:
    def __init__(
        self,
        *,
        db: Database,
        units: UnitFactory,
        clock: Clock,
        senders: Mapping[str, Sender],
        policy: RetryPolicy,
        metrics: NotifyMetrics,
        poll_seconds: float = 1.0,
        batch_size: int = 50,
        concurrency: int = 10,
        claim_seconds: float = 120.0,
        on_committed: Callable[[], None] = lambda: None,
    ) -> None:
        # Reads (the gauges) go to the database directly; every change through a unit.
        self._db = db
        self._units = units
        self._clock = clock
        self._senders = dict(senders)
        self._policy = policy
        self._metrics = metrics
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._slots = asyncio.Semaphore(concurrency)
        self._claim = timedelta(seconds=claim_seconds)
        self._on_committed = on_committed
        self._holder = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._gauges_at: float | None = None
        # Claimed but not yet handed to a sender: safe to give back at shutdown.
        self._unsent: set[int] = set()
        self._wakeup = asyncio.Event()
        self._outcomes: list[tuple[DueDelivery, Work]] = []
        self._recording = asyncio.Lock()

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll (after a commit)."""
        self._wakeup.set()

    async def run(self) -> None:
        """Deliver until cancelled; a failing round is logged and retried after a pause."""
        failures = 0
        # A dead database fails a round every few seconds: one trace a minute, with a count.
        problems = ThrottledLog(log)
        try:
            while True:
                try:
                    handled = await self.run_once()
                    failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures += 1
                    handled = 0
                    problems.report(
                        f"round:{type(exc).__name__}",
                        "delivery round failed (%d in a row): %r",
                        failures,
                        exc,
                        level=logging.ERROR,
                        exc_info=exc,
                    )
                if handled < self._batch_size or failures:
                    # A commit of this process wakes the loop (new notifications); the poll
                    # finds retries falling due and what other instances wrote.
                    await self._pause(min(self._poll_seconds * 2**failures, 30.0))
        finally:
            await self._release_unsent()
            for sender in self._senders.values():
                with contextlib.suppress(Exception):
                    await sender.close()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        self._wakeup.clear()

    async def _release_unsent(self) -> None:
        # A delivery cancelled mid-send keeps its claim: it may have gone out, and the claim's
        # expiry is what turns that into one resend rather than two instances sending at once.
        unsent, self._unsent = sorted(self._unsent), set()
        if not unsent:
            return
        try:
            async with self._units(Cause(ACTOR, self._holder)) as uow:
                await uow.deliveries.release(unsent, holder=self._holder)
        except Exception:
            log.warning("could not release %d delivery claims", len(unsent), exc_info=True)

    async def run_once(self) -> int:
        """Claim one batch of due deliveries, send them concurrently; returns how many."""
        now = self._clock.now()
        async with self._units(Cause(ACTOR, self._holder)) as uow:
            claimed = await uow.deliveries.claim_due(
                holder=self._holder, now=now, until=now + self._claim, limit=self._batch_size
            )
        self._unsent.update(due.delivery.id for due in claimed if due.delivery.id is not None)
        if claimed:
            await asyncio.gather(*(self._deliver(due) for due in claimed))
        await self._update_gauges()
        return len(claimed)

    async def _deliver(self, due: DueDelivery) -> None:
        async with self._slots:
            work = await self._attempt(due)
        # Group commit: while one transaction records outcomes, those that finish meanwhile
        # queue and go together in the next. One send alone is recorded at once; ten at a
        # time take one transaction instead of ten.
        self._outcomes.append((due, work))
        async with self._recording:
            batch, self._outcomes = self._outcomes, []
            if batch:
                await self._record(batch)

    async def _attempt(self, due: DueDelivery) -> Work:
        """Send ``due`` (or defer it): what to record about it."""
        d, n = due.delivery, due.notification
        assert d.id is not None
        self._unsent.discard(d.id)
        now = self._clock.now()
        # Quiet hours may have been set since it was scheduled: defer, never drop.
        release = due_at(d.channel, now, due.quiet_hours)
        if release > now:
            return lambda uow: self._deferred(uow, due, release)
        sender = self._senders.get(d.channel)
        # Only email and webhook rows are ever pending, and both carry a target.
        assert sender is not None, d.channel
        assert d.target is not None
        message = OutgoingMessage(
            notification_id=n.id,
            delivery_id=d.id,
            recipient=n.recipient,
            target=d.target,
            team_id=n.team_id,
            kind=n.kind,
            title=n.title,
            body=n.body,
            language=n.language,
            created_at=n.created_at,
            sent_at=now,
        )
        try:
            await sender.send(message)
        except DeliveryError as exc:
            error, permanent = str(exc), exc.permanent
        except Exception:
            # An unexpected sender bug is retried like a transient error, never lost. Its
            # text stays in the log: last_error is shown to staff and published.
            log.exception("%s sender failed on delivery %s", d.channel, d.id)
            error, permanent = f"{d.channel} sender failed unexpectedly (see the log)", False
        else:
            crash_point("notify.after_send", d.channel)
            return lambda uow: deliveries.record_delivered(uow, due, holder=self._holder)
        log.warning(
            "%s delivery %s attempt %d failed%s: %s",
            d.channel,
            d.id,
            d.attempts + 1,
            " permanently" if permanent else "",
            error,
        )
        return lambda uow: deliveries.record_failure(
            uow, due, holder=self._holder, error=error, permanent=permanent, policy=self._policy
        )

    async def _deferred(self, uow: NotifyUnitOfWork, due: DueDelivery, until: datetime) -> str:
        await deliveries.record_deferred(uow, due, holder=self._holder, until=until)
        return "deferred"

    async def _record(self, batch: list[tuple[DueDelivery, Work]]) -> None:
        """Record outcomes in one unit, retrying a busy or unreachable database.

        Giving up here after a successful send would leave the claim to lapse and the message
        to go out again, so a transient database error is worth several tries first.
        """
        for delay in (*RECORD_RETRY_DELAYS_SECONDS, None):
            try:
                async with self._units(_cause(batch[0][0])) as uow:
                    outcomes = []
                    for due, work in batch:
                        uow.caused_by(_cause(due))
                        outcomes.append(await work(uow))
            except (DBAPIError, OSError, TimeoutError) as exc:
                ids = ", ".join(str(due.delivery.id) for due, _ in batch)
                if delay is None:
                    log.error(
                        "deliveries %s: outcomes not recorded, they will be retried after their "
                        "claims lapse: %s",
                        ids,
                        exc,
                    )
                    return
                log.warning("deliveries %s: recording failed, retrying: %s", ids, exc)
                await asyncio.sleep(delay)
            else:
                self._on_committed()
                for (due, _), outcome in zip(batch, outcomes, strict=True):
                    self._count(due, outcome)
                return

    def _count(self, due: DueDelivery, outcome: str) -> None:
        if outcome == "deferred":
            return
        if outcome == deliveries.LOST_CLAIM:
            # Our claim expired mid-send and another instance took the delivery over.
            log.warning("delivery %s: claim lost before recording", due.delivery.id)
            return
        self._metrics.deliveries.labels(due.delivery.channel, outcome).inc()

    async def _update_gauges(self) -> None:
        # Throttled by the process's monotonic time: a test clock may stand still.
        now = time.monotonic()
        if self._gauges_at is not None and now - self._gauges_at < 1.0:
            return
        self._gauges_at = now
        async with self._db.sessions() as session:
            queries = NotifyQueries(session)
            pending = await queries.pending_by_channel()
            parked = await queries.count_parked()
        for channel in CHANNELS:
            self._metrics.pending.labels(channel).set(pending.get(channel, 0))
        self._metrics.parked.set(parked)
