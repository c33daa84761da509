"""Kafka glue: the broker every service uses, the relay's send function, and topic creation."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry

log = logging.getLogger(__name__)


def make_broker(
    bootstrap_servers: str, *, client_id: str, registry: CollectorRegistry, service: str
) -> KafkaBroker:
    """A broker whose producer is idempotent (``acks=all``), with FastStream's RED metrics.

    Subscribers get no default ack policy here on purpose: each consumer states its own.
    """
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        linger_ms=5,
        allow_auto_create_topics=False,
        middlewares=(KafkaPrometheusMiddleware(registry=registry, app_name=service),),
        graceful_timeout=15.0,
        logger=logging.getLogger(f"cimis.{service}.broker"),
    )


def broker_sender(broker: KafkaBroker) -> Any:
    """The outbox relay's send function: enqueue without awaiting, return the confirmation."""

    async def send(
        topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        return await broker.publish(value, topic, key=key, headers=headers, no_confirm=True)

    return send


async def ensure_topics(
    bootstrap_servers: str, topics: dict[str, int], *, replication: int = 1, timeout: float = 30
) -> None:
    """Create missing topics with their partition counts; existing ones are left alone."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=n, replication_factor=replication)
            for name, n in topics.items()
            if name not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing, timeout_ms=int(timeout * 1000))
            except TopicAlreadyExistsError:
                pass
            log.info("created topics %s", ", ".join(t.name for t in missing))
        deadline = asyncio.get_running_loop().time() + timeout
        while set(topics) - set(await admin.list_topics()):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"topics not visible after {timeout}s: {sorted(topics)}")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
