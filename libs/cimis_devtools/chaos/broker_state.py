"""The broker's side of the proof: record counts, consumer-group lag and the dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from cimis_chassis.kafka_client import KafkaClientConfig


@dataclass(frozen=True)
class DeadLetter:
    dlq: str
    origin: tuple[str, int, int] | None  # x-original-topic, -partition, -offset
    error: str


async def _partitions(admin: Any, topics: Sequence[str]) -> list[TopicPartition]:
    described = await admin.describe_topics(list(topics))
    return [
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if t["error_code"] == 0
        for p in t["partitions"]
    ]


async def end_offsets(
    client: KafkaClientConfig, topics: Sequence[str]
) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(**client.aiokafka(client_id="cimis-chaos"))
    consumer = AIOKafkaConsumer(**client.aiokafka(group_id=None, client_id="cimis-chaos"))
    await admin.start()
    await consumer.start()
    try:
        partitions = await _partitions(admin, topics)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()
        await admin.close()


async def group_lag(client: KafkaClientConfig, group: str, topics: Sequence[str]) -> dict[str, int]:
    """Records of ``topics`` not yet committed by ``group``, per topic."""
    ends = await end_offsets(client, topics)
    admin = AIOKafkaAdminClient(**client.aiokafka(client_id="cimis-chaos"))
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    lag: dict[str, int] = {}
    for tp, end in ends.items():
        meta = committed.get(tp)
        position = meta.offset if meta is not None and meta.offset >= 0 else 0
        lag[tp.topic] = lag.get(tp.topic, 0) + max(0, end - position)
    return lag


async def read_all(client: KafkaClientConfig, topic: str) -> list[Any]:
    """Every record of ``topic`` up to its end offsets now, without a consumer group."""
    ends = await end_offsets(client, [topic])
    consumer = AIOKafkaConsumer(
        **client.aiokafka(group_id=None, enable_auto_commit=False, client_id="cimis-chaos")
    )
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def dead_letters(client: KafkaClientConfig, dlq: str) -> list[DeadLetter]:
    letters = []
    for record in await read_all(client, dlq):
        headers = {k: v.decode(errors="replace") for k, v in record.headers}
        try:
            origin: tuple[str, int, int] | None = (
                headers["x-original-topic"],
                int(headers["x-original-partition"]),
                int(headers["x-original-offset"]),
            )
        except (KeyError, ValueError):
            origin = None
        letters.append(DeadLetter(dlq, origin, headers.get("x-error", "")[:200]))
    return letters
