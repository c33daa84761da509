"""The idempotent batch consumer: records in, effects and outgoing events out, in one transaction.

Delivery rules (ARCHITECTURE.md §2): offsets are committed only after the database commit, so a
crash means redelivery, and the inbox turns redelivery into a no-op. Poison records go to the
dead-letter topic at once; other failures are retried with bounded backoff and then re-read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from aiokafka import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from cimis_chassis.dead_letters import DeadLetterPublisher
from cimis_chassis.envelope import CloudEvent, EnvelopeError, parse_event
from cimis_chassis.errors import DomainError
from cimis_chassis.faults import crash_point
from cimis_chassis.inbox import claim_events
from cimis_chassis.logs import correlation_id_var
from cimis_chassis.outbox import write_outbox
from cimis_chassis.unit_of_work import Cause, UnitOfWork
from cimis_contracts.base import EventData, UnknownEventType, decode_data, registered_types

if TYPE_CHECKING:
    from cimis_chassis.service_host import ServiceHost

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, Any, CloudEvent], Awaitable[None]]

RETRY_DELAYS_SECONDS = (0.2, 0.5, 1.0, 2.0, 4.0)


class PoisonEvent(Exception):
    """An event this consumer can never apply: it belongs in the dead-letter topic."""


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
        max_records: int = 500,
        retry_delays: Sequence[float] = RETRY_DELAYS_SECONDS,
    ) -> None:
        self.host = host
        self.name = host.name
        self.group_id = host.settings.consumer_group
        self.topics = tuple(topics)
        self._handlers = {model.TYPE: handler for model, handler in handlers.items()}
        self._max_records = max_records
        self._retry_delays = tuple(retry_delays)
        self.dead_letters = DeadLetterPublisher(host.broker, host.name, host.metrics)
        self._subscriber: Any = None

    def register(self, broker: KafkaBroker) -> None:
        if not self.host.settings.consume_events:
            log.warning("%s: consuming events is switched off (CONSUME_EVENTS=false)", self.name)
            return
        subscriber = broker.subscriber(
            *self.topics,
            group_id=self.group_id,
            batch=True,
            max_records=self._max_records,
            batch_timeout_ms=100,
            auto_offset_reset="earliest",
            # Success commits after our transaction; an exception seeks back for a re-read.
            ack_policy=AckPolicy.NACK_ON_ERROR,
            # We parse the raw records ourselves; FastStream's per-record JSON decode is waste.
            decoder=_skip_decoding,
            title=f"{self.group_id}:Consume",
            description=f"{self.name} applies these events idempotently (inbox).",
        )
        self._subscriber = subscriber

        async def consume(_body: Any) -> None:
            message = broker.context.get_local("message")
            records = message.raw_message
            if not isinstance(records, tuple):
                records = (records,)
            await self.process(records)
            await self._observe_lag()

        subscriber(consume)

    async def process(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Apply a batch; returns once every record is applied, skipped or dead-lettered."""
        decoded: list[_Decoded] = []
        for record in records:
            try:
                decoded.append(self._decode(record))
            except (EnvelopeError, PoisonEvent) as exc:
                await self.dead_letters.send(record, exc)
                self.host.metrics.events_consumed.labels("unknown", "dead_lettered").inc()
        if not decoded:
            return
        try:
            await self._with_retries(partial(self._apply, decoded), what=f"{len(decoded)} events")
        except _PoisonInBatch:
            # One bad event must not hold back the others: apply them one by one.
            for item in decoded:
                try:
                    await self._with_retries(partial(self._apply, [item]), what=item.event.id)
                except _PoisonInBatch as exc:
                    await self.dead_letters.send(item.record, exc.__cause__ or exc)
                    self.host.metrics.events_consumed.labels(item.event.type, "dead_lettered").inc()
        self.host.relay.wake()

    def _decode(self, record: ConsumerRecord[Any, Any]) -> _Decoded:
        if record.value is None:
            raise EnvelopeError("record has no value")
        event = parse_event(record.value)
        try:
            payload = decode_data(event)
        except UnknownEventType as exc:
            raise PoisonEvent(str(exc)) from exc
        return _Decoded(record, event, payload)

    async def _apply(self, batch: list[_Decoded]) -> None:
        host = self.host
        handled = [item for item in batch if item.event.type in self._handlers]
        outcomes: dict[int, str] = {id(item): "ignored" for item in batch}
        try:
            async with host.db.transaction() as session:
                fresh = await claim_events(
                    session,
                    host.tables.inbox,
                    consumer=self.name,
                    events=[(item.event.id, item.event.type) for item in handled],
                    received_at=host.clock.now(),
                )
                # One outbox INSERT for the whole batch, in the order the events were applied.
                outbox_rows: list[dict[str, Any]] = []
                for item in handled:
                    event = item.event
                    if event.id not in fresh:
                        outcomes[id(item)] = "duplicate"
                        continue
                    fresh.discard(event.id)  # a second copy inside this batch is a duplicate
                    correlation_id_var.set(event.correlationid or event.id)
                    cause = Cause(
                        actor=f"event:{event.id}",
                        correlation_id=event.correlationid or event.id,
                        causation_id=event.id,
                    )
                    uow = UnitOfWork(
                        session,
                        host.tables,
                        host.clock,
                        f"cimis/{self.name}",
                        cause,
                        _unwritten=outbox_rows,
                    )
                    await self._handlers[event.type](uow, item.payload, event)
                    outcomes[id(item)] = "applied"
                await write_outbox(session, host.tables.outbox, outbox_rows)
                crash_point("consumer.before_commit", self.name)
        except (DomainError, ValidationError, PoisonEvent) as exc:
            raise _PoisonInBatch() from exc
        now = host.clock.now()
        for item in batch:
            outcome = outcomes[id(item)]
            host.metrics.events_consumed.labels(item.event.type, outcome).inc()
            if outcome == "applied":
                host.metrics.end_to_end_lag.labels(item.event.type).observe(
                    max(0.0, (now - item.event.time).total_seconds())
                )

    async def _with_retries(self, attempt: Callable[[], Awaitable[None]], *, what: str) -> None:
        for number, delay in enumerate((*self._retry_delays, None), start=1):
            try:
                await attempt()
                return
            except _PoisonInBatch:
                raise
            except (TimeoutError, DBAPIError, OSError) as exc:
                if delay is None:
                    # Infrastructure is down: re-read later instead of dead-lettering good data.
                    log.error("%s: giving up on %s for now, will re-read: %s", self.name, what, exc)
                    raise
                log.warning("%s: attempt %d on %s failed: %s", self.name, number, what, exc)
                await asyncio.sleep(delay)
            except Exception as exc:
                if delay is None:
                    raise _PoisonInBatch() from exc
                log.warning("%s: attempt %d on %s failed: %r", self.name, number, what, exc)
                await asyncio.sleep(delay)

    async def _observe_lag(self) -> None:
        consumer = getattr(self._subscriber, "consumer", None)
        if consumer is None:
            return
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            position = await consumer.position(TopicPartition(tp.topic, tp.partition))
            self.host.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(
                max(0, highwater - position)
            )


async def _skip_decoding(_message: Any) -> None:
    return None


class _PoisonInBatch(Exception):
    """Raised out of a unit when its failure is in the data, not the infrastructure."""


def known_event_types() -> frozenset[str]:
    return frozenset(registered_types())
