"""Dead letters: poison records are parked on ``cimis.<consumer>.dlq`` with where they came from."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from faststream.kafka import KafkaBroker

from cimis_chassis.metrics import ServiceMetrics
from cimis_contracts.topics import dead_letter_topic

log = logging.getLogger(__name__)

H_TOPIC = "x-original-topic"
H_PARTITION = "x-original-partition"
H_OFFSET = "x-original-offset"
H_ERROR = "x-error"
H_ERROR_CLASS = "x-error-class"
H_CONSUMER = "x-consumer"
H_FAILED_AT = "x-failed-at"


class DeadLetterPublisher:
    def __init__(self, broker: KafkaBroker, consumer: str, metrics: ServiceMetrics) -> None:
        self._broker = broker
        self._consumer = consumer
        self._metrics = metrics
        self.topic = dead_letter_topic(consumer)

    async def send(self, record: ConsumerRecord[Any, Any], error: BaseException) -> None:
        """Park ``record`` and wait for the broker's confirmation before its offset moves on."""
        headers = {
            H_TOPIC: record.topic,
            H_PARTITION: str(record.partition),
            H_OFFSET: str(record.offset),
            H_ERROR: str(error)[:4000],
            H_ERROR_CLASS: type(error).__name__,
            H_CONSUMER: self._consumer,
            H_FAILED_AT: datetime.now(UTC).isoformat(),
        }
        await self._broker.publish(record.value or b"", self.topic, key=record.key, headers=headers)
        self._metrics.dead_letters.labels(record.topic).inc()
        log.error(
            "dead-lettered %s[%d]@%d: %s",
            record.topic,
            record.partition,
            record.offset,
            headers[H_ERROR][:300],
        )


async def replay_dead_letters(
    bootstrap_servers: str, consumer: str, *, limit: int | None = None, dry_run: bool = False
) -> list[dict[str, str]]:
    """Send parked records back to their original topics, oldest first, and return what was sent.

    Replaying is safe because every consumer is idempotent; a record that is still poison simply
    returns to the dead-letter topic. Progress is kept by the consumer group
    ``cimis-<consumer>-dlq-replay``, so each parked record is replayed once.
    """
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    topic = dead_letter_topic(consumer)
    reader = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=f"cimis-{consumer}-dlq-replay",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    writer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True)
    await reader.start()
    await writer.start()
    replayed: list[dict[str, str]] = []
    try:
        # Only what was parked before we started: a record that is still poison comes back to
        # this topic, and chasing it would replay forever.
        partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
        end = await reader.end_offsets(partitions)
        pending = {tp for tp, offset in end.items() if offset > 0}
        while pending and (limit is None or len(replayed) < limit):
            batch = await reader.getmany(timeout_ms=2000, max_records=100)
            if not batch:
                for tp in list(pending):
                    if await reader.position(tp) >= end[tp]:
                        pending.discard(tp)
                continue
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= end[tp] or (limit is not None and len(replayed) >= limit):
                        pending.discard(tp)
                        break
                    headers = {k: v.decode() for k, v in record.headers}
                    target = headers.get(H_TOPIC)
                    if target and not dry_run:
                        await writer.send_and_wait(target, record.value, key=record.key)
                    if not target:
                        log.warning(
                            "dead letter at offset %d has no origin; skipped", record.offset
                        )
                    else:
                        replayed.append(
                            {
                                "to": target,
                                "offset": str(record.offset),
                                "error": headers.get(H_ERROR, "")[:200],
                            }
                        )
                    if not dry_run:
                        await reader.commit({tp: record.offset + 1})
                    if record.offset + 1 >= end[tp]:
                        pending.discard(tp)
    finally:
        await reader.stop()
        await writer.stop()
    return replayed
