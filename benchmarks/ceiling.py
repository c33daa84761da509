"""The raw aiokafka ceiling: consume -> produce with no framework, no database, no parsing.

A consumer reads batches from a 6-partition topic and, for every record, sends ``fan_out``
records of the same size to a second topic (acks=all, idempotent producer), waits for every
send to be confirmed and commits the batch. That is the least work any event-driven service
of the platform does per event, so it bounds what a service can reach on the same broker.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from cimis_chassis.kafka import ensure_topics
from cimis_chassis.kafka_client import aiokafka_options

PARTITIONS = 6
RECORD_BYTES = 960
# The chassis consumer takes at most 500 records per batch; the ceiling reads the same.
MAX_RECORDS = 500


@dataclass(frozen=True)
class CeilingResult:
    fan_out: int
    events: int
    measured_events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.measured_events / self.seconds if self.seconds > 0 else 0.0


async def preload(bootstrap: str, topic: str, events: int, value: bytes) -> None:
    """Write ``events`` records of ``value`` onto ``topic``, keys spread over the partitions."""
    producer = AIOKafkaProducer(
        **aiokafka_options(bootstrap), acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        for i in range(events):
            await producer.send(topic, value, key=f"key-{i:08d}".encode())
        await producer.flush()
    finally:
        await producer.stop()


async def consume_produce(bootstrap: str, events: int, fan_out: int) -> CeilingResult:
    """Relay ``events`` pre-loaded records 1:``fan_out``; timed from the first committed batch."""
    run = uuid.uuid4().hex[:8]
    source, sink = f"cimis.bench.ceiling.{run}.in", f"cimis.bench.ceiling.{run}.out"
    await ensure_topics(bootstrap, {source: PARTITIONS, sink: PARTITIONS})
    value = os.urandom(RECORD_BYTES // 2).hex().encode()
    await preload(bootstrap, source, events, value)

    consumer = AIOKafkaConsumer(
        source,
        **aiokafka_options(bootstrap),
        group_id=f"bench-ceiling-{run}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(
        **aiokafka_options(bootstrap), acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    await consumer.start()
    try:
        consumed = 0
        first = 0
        started = 0.0
        while consumed < events:
            batches = await consumer.getmany(timeout_ms=100, max_records=MAX_RECORDS)
            sends = []
            for records in batches.values():
                for record in records:
                    for _ in range(fan_out):
                        sends.append(await producer.send(sink, record.value, key=record.key))
                consumed += len(records)
            if not sends:
                continue
            await asyncio.gather(*sends)
            await consumer.commit()
            if not first:
                first, started = consumed, time.perf_counter()
        seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()
    return CeilingResult(
        fan_out=fan_out, events=events, measured_events=consumed - first, seconds=seconds
    )
