"""The idempotent batch consumer: records in, effects and outgoing events out, in one transaction.

Delivery rules (ARCHITECTURE.md §2): offsets are committed only after the database commit, so a
crash means redelivery, and the inbox turns redelivery into a no-op. The poison rule is total:
whatever a record holds, it is either applied or parked once on the dead-letter topic, and the
partition moves on. Only infrastructure failures (database or broker unreachable) are retried,
with bounded backoff, and then the batch is read again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from cimis_chassis.dead_letters import DeadLetterPublisher, Origin
from cimis_chassis.envelope import CloudEvent, EnvelopeError, parse_event
from cimis_chassis.errors import DomainError
from cimis_chassis.faults import crash_point
from cimis_chassis.lag_monitor import ConsumerLagMonitor
from cimis_chassis.logs import ThrottledLog, correlation_id_var
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.base import EventData, decode_data, provenance_problem, registered_types

if TYPE_CHECKING:
    from cimis_chassis.service_host import ServiceHost

log = logging.getLogger(__name__)

# Handlers take the service's own unit of work (with its repositories), hence Any.
Handler = Callable[[Any, Any, CloudEvent], Awaitable[None]]
# Loads what a batch of (payload, event) needs before its handlers run, one by one, in order.
BatchPreparer = Callable[[Any, list[tuple[Any, CloudEvent]]], Awaitable[None]]
T = TypeVar("T")

RETRY_DELAYS_SECONDS = (0.2, 0.5, 1.0, 2.0, 4.0)
# One fetch takes at most one broker-sized batch per partition, and the whole fetch stays a
# few MiB: memory per consumer is bounded whatever producers write.
MAX_PARTITION_FETCH_BYTES = 1024 * 1024
FETCH_MAX_BYTES = 8 * 1024 * 1024
# A repeated failure is written to the log once per interval, with a count.
PROBLEM_LOG_INTERVAL_SECONDS = 60.0


class PoisonEvent(Exception):
    """An event this consumer can never apply: it belongs in the dead-letter topic."""


class InfrastructureDown(Exception):
    """The database or the broker stayed unreachable through every retry: read the batch again."""


def is_infrastructure_failure(exc: BaseException) -> bool:
    """True for failures of the database or the broker, which retrying may cure.

    Everything else a record causes is a property of the record, and retrying it forever would
    stop its partition.
    """
    if isinstance(exc, TimeoutError | OSError | PoolTimeoutError):
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, KafkaConnectionError | KafkaTimeoutError):
        return True
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))


@dataclass(frozen=True)
class _Decoded:
    record: ConsumerRecord[Any, Any]
    event: CloudEvent
    payload: EventData


class EventConsumer:
    """Subscribes a service to topics and applies events through its handlers.

    ``handlers`` maps a contract class to the coroutine that applies it. Known event types
    without a handler are skipped (counted as ``ignored``); unknown types are poison.
    """

    def __init__(
        self,
        host: ServiceHost,
        *,
        topics: Sequence[str],
        handlers: dict[type[EventData], Handler],
        prepare: BatchPreparer | None = None,
        max_records: int = 500,
        retry_delays: Sequence[float] = RETRY_DELAYS_SECONDS,
    ) -> None:
        self.host = host
        self.name = host.name
        self.group_id = host.settings.consumer_group
        self.topics = tuple(topics)
        self._handlers = {model.TYPE: handler for model, handler in handlers.items()}
        self._prepare = prepare
        self._max_records = max_records
        self._retry_delays = tuple(retry_delays)
        self._max_event_bytes = host.settings.max_event_bytes
        self._problems = ThrottledLog(log, PROBLEM_LOG_INTERVAL_SECONDS)
        self.dead_letters = DeadLetterPublisher(
            host.broker,
            host.name,
            host.metrics,
            kafka=host.kafka,
        )
        host.closers.append(self.dead_letters.close)

    def register(self, broker: KafkaBroker) -> None:
        if not self.host.settings.consume_events:
            log.warning("%s: consuming events is switched off (CONSUME_EVENTS=false)", self.name)
            return
        # Watched from the broker's side, so that a consumer stuck on anything is seen.
        monitor = ConsumerLagMonitor(
            self.host.kafka,
            group_id=self.group_id,
            topics=self.topics,
            metrics=self.host.metrics,
            clock=self.host.clock,
            stall_after_seconds=self.host.settings.consumer_stall_seconds,
        )

        async def watch_consumer_lag() -> None:
            await monitor.run()

        self.host.background.append(watch_consumer_lag)
        subscriber = broker.subscriber(
            *self.topics,
            group_id=self.group_id,
            batch=True,
            max_records=self._max_records,
            batch_timeout_ms=100,
            auto_offset_reset="earliest",
            fetch_max_bytes=FETCH_MAX_BYTES,
            max_partition_fetch_bytes=MAX_PARTITION_FETCH_BYTES,
            # Success commits after our transaction; NackMessage seeks back for a re-read.
            ack_policy=AckPolicy.NACK_ON_ERROR,
            # We parse the raw records ourselves; FastStream's per-record JSON decode is waste.
            decoder=_skip_decoding,
            title=f"{self.group_id}:Consume",
            description=f"{self.name} applies these events idempotently (inbox).",
        )

        async def consume(_body: Any) -> None:
            message = broker.context.get_local("message")
            records = message.raw_message
            if not isinstance(records, tuple):
                records = (records,)
            await self.consume_batch(records)

        subscriber(consume)

    async def consume_batch(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Process a batch, turning any failure into a quiet seek-back with a throttled log.

        FastStream would log a stack trace for every re-read of a failing batch; NackMessage
        seeks back just the same without one.
        """
        try:
            await self.process(records)
        except InfrastructureDown as exc:
            self._problems.report(
                "infrastructure-down",
                "%s: %s; the batch will be read again",
                self.name,
                exc,
                level=logging.ERROR,
            )
            raise NackMessage() from exc
        except Exception as exc:
            self._problems.report(
                f"unexpected:{type(exc).__name__}",
                "%s: a batch failed unexpectedly (%r); it will be read again",
                self.name,
                exc,
                level=logging.ERROR,
                exc_info=exc,
            )
            # Nothing retried this: pause so that a bug cannot turn into a hot loop.
            await asyncio.sleep(self._retry_delays[-1] if self._retry_delays else 1.0)
            raise NackMessage() from exc

    async def process(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Apply a batch; returns once every record is applied, skipped or dead-lettered."""
        decoded: list[_Decoded] = []
        for record in records:
            try:
                decoded.append(self._decode(record))
            except Exception as exc:
                # Whatever a record does to the decoder (RecursionError included) is the
                # record's fault: it is parked, and the partition moves on.
                await self._park(record, exc, "unknown")
        if not decoded:
            return
        try:
            await self._with_retries(partial(self._apply, decoded), what=f"{len(decoded)} events")
        except _PoisonInBatch:
            # One bad event must not hold back the others: apply them one by one. The batch
            # was retried already, so an error that is not the infrastructure's is final now.
            for item in decoded:
                try:
                    await self._with_retries(
                        partial(self._apply, [item]), what=item.event.id, attempts_for_errors=1
                    )
                except _PoisonInBatch as exc:
                    await self._park(item.record, exc.__cause__ or exc, item.event.type)
        self.host.relay.wake()

    def _decode(self, record: ConsumerRecord[Any, Any]) -> _Decoded:
        if record.value is None:
            raise EnvelopeError("record has no value (a tombstone or a header-only record)")
        size = len(record.value)
        if size > self._max_event_bytes:
            raise PoisonEvent(
                f"record value of {size} bytes is larger than an event may be "
                f"({self._max_event_bytes} bytes)"
            )
        event = parse_event(record.value)
        problem = provenance_problem(record.topic, event)
        if problem is not None:
            raise PoisonEvent(problem)
        return _Decoded(record, event, decode_data(event))

    async def _park(
        self, record: ConsumerRecord[Any, Any], error: BaseException, type_: str
    ) -> None:
        origin = Origin.of(record)
        try:
            parked = await self._with_retries(
                partial(self.dead_letters.park, record, error),
                what=f"parking {origin.topic}[{origin.partition}]@{origin.offset}",
                attempts_for_errors=1,
            )
        except _PoisonInBatch as exc:
            # Parking failed for a reason other than the broker's health: a bug, not data.
            raise exc.__cause__ or exc from None
        self.host.metrics.events_consumed.labels(
            type_, "dead_lettered" if parked else "duplicate"
        ).inc()

    async def _apply(self, batch: list[_Decoded]) -> None:
        host = self.host
        handled = [item for item in batch if item.event.type in self._handlers]
        outcomes: dict[int, str] = {id(item): "ignored" for item in batch}
        try:
            batch_cause = Cause(actor=f"consumer:{self.name}", correlation_id=batch[0].event.id)
            async with host.unit_of_work(batch_cause) as uow:
                fresh = await uow.inbox.claim(
                    self.name,
                    [(item.event.id, item.event.type) for item in handled],
                    received_at=host.clock.now(),
                )
                applying: list[_Decoded] = []
                for item in handled:
                    if item.event.id not in fresh:
                        outcomes[id(item)] = "duplicate"
                        continue
                    fresh.discard(item.event.id)  # a second copy inside this batch is one too
                    applying.append(item)
                if applying and self._prepare is not None:
                    # The state the whole batch needs, loaded (and locked) in a few queries.
                    await self._prepare(uow, [(item.payload, item.event) for item in applying])
                for item in applying:
                    event = item.event
                    correlation_id_var.set(event.correlationid or event.id)
                    uow.caused_by(
                        Cause(
                            actor=f"event:{event.id}",
                            correlation_id=event.correlationid or event.id,
                            causation_id=event.id,
                        )
                    )
                    await self._handlers[event.type](uow, item.payload, event)
                    outcomes[id(item)] = "applied"
                await uow.flush()
                crash_point("consumer.before_commit", self.name)
        except (DomainError, ValidationError, PoisonEvent) as exc:
            raise _PoisonInBatch() from exc
        now = host.clock.now()
        # Counted per kind, not per event: a label lookup per event was a measurable share
        # of a large batch's CPU.
        counted = Counter((item.event.type, outcomes[id(item)]) for item in batch)
        for (type_, outcome), number in counted.items():
            host.metrics.events_consumed.labels(type_, outcome).inc(number)
        lags: dict[str, Any] = {}
        for item in batch:
            if outcomes[id(item)] == "applied":
                type_ = item.event.type
                if type_ not in lags:
                    lags[type_] = host.metrics.end_to_end_lag.labels(type_)
                lags[type_].observe(max(0.0, (now - item.event.time).total_seconds()))

    async def _with_retries(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        what: str,
        attempts_for_errors: int | None = None,
    ) -> T:
        """Run ``attempt``, retrying the infrastructure's failures with bounded backoff.

        Other errors are retried ``attempts_for_errors`` times in all (default: as often as
        infrastructure failures) and then raised as :class:`_PoisonInBatch`; infrastructure
        that stays down raises :class:`InfrastructureDown`.
        """
        delays = (*self._retry_delays, None)
        for number, delay in enumerate(delays, start=1):
            try:
                return await attempt()
            except _PoisonInBatch:
                raise
            except Exception as exc:
                infrastructure = is_infrastructure_failure(exc)
                if not infrastructure and (
                    delay is None
                    or (attempts_for_errors is not None and number >= attempts_for_errors)
                ):
                    raise _PoisonInBatch() from exc
                if delay is None:
                    raise InfrastructureDown(f"{what}: {exc!r}") from exc
                self._problems.report(
                    f"retry:{type(exc).__name__}",
                    "%s: attempt %d on %s failed, retrying: %r",
                    self.name,
                    number,
                    what,
                    exc,
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last delay is None")


async def _skip_decoding(_message: Any) -> None:
    return None


class _PoisonInBatch(Exception):
    """Raised out of a unit when its failure is in the data, not the infrastructure."""


def known_event_types() -> frozenset[str]:
    return frozenset(registered_types())
