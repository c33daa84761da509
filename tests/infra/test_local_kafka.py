"""The local Kafka broker serves idempotent producers and consumers; ensure_topics works."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from cimis_chassis.kafka_client import aiokafka_options
from cimis_devtools.kafka_local import LocalKafka, ensure_topics

pytestmark = [pytest.mark.kafka]


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> int:
    producer = AIOKafkaProducer(**aiokafka_options(bootstrap), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        metadata = await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()
    offset: int = metadata.offset
    return offset


async def _consume_one(bootstrap: str, topic: str) -> tuple[bytes | None, bytes | None, int]:
    consumer = AIOKafkaConsumer(
        topic,
        **aiokafka_options(bootstrap),
        group_id=_unique("test-group"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()
    return record.key, record.value, record.offset


@pytest.mark.asyncio
async def test_idempotent_produce_then_consume(kafka_bootstrap: str) -> None:
    topic = _unique("infra-roundtrip")
    await ensure_topics(kafka_bootstrap, {topic: 1})

    offset = await _produce(kafka_bootstrap, topic, b"key-1", b"hello")

    assert await _consume_one(kafka_bootstrap, topic) == (b"key-1", b"hello", offset)


@pytest.mark.asyncio
async def test_ensure_topics_creates_six_partitions_idempotently(kafka_bootstrap: str) -> None:
    topic = _unique("infra-six")

    await ensure_topics(kafka_bootstrap, {topic: 6})
    await ensure_topics(kafka_bootstrap, {topic: 6})

    admin = AIOKafkaAdminClient(**aiokafka_options(kafka_bootstrap))
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert len(described) == 1
    assert described[0]["error_code"] == 0
    partitions = sorted(p["partition"] for p in described[0]["partitions"])
    assert partitions == list(range(6))
    assert all(p["leader"] >= 0 for p in described[0]["partitions"])


@pytest.mark.slow
@pytest.mark.reliability
@pytest.mark.asyncio
async def test_restart_keeps_data_and_address(kafka_broker_process: LocalKafka) -> None:
    broker = kafka_broker_process
    bootstrap = broker.bootstrap_servers
    topic = _unique("infra-restart")
    await ensure_topics(bootstrap, {topic: 1})
    offset = await _produce(bootstrap, topic, b"k", b"before-restart")

    # Blocks the event loop for a few seconds; nothing else runs in it meanwhile.
    broker.restart()

    assert broker.is_running
    assert broker.bootstrap_servers == bootstrap
    assert await _consume_one(bootstrap, topic) == (b"k", b"before-restart", offset)


async def test_new_topics_keep_their_records_for_ever(kafka_bootstrap: str) -> None:
    topic = _unique("cimis-retention")
    await ensure_topics(kafka_bootstrap, {topic: 1})

    admin = AIOKafkaAdminClient(**aiokafka_options(kafka_bootstrap))
    await admin.start()
    try:
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {"retention.ms": None})]
        )
    finally:
        await admin.close()
    entries = {entry[0]: entry[1] for resource in response.resources for entry in resource[4]}
    assert entries["retention.ms"] == "-1"
