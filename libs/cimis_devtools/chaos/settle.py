"""Waits until the platform is at rest: outboxes drained, groups caught up, mail sent."""

from __future__ import annotations

import asyncio
import time

from aiokafka.errors import KafkaError

from cimis_contracts.topics import CONSUMES
from cimis_devtools.chaos.broker_state import group_lag
from cimis_devtools.chaos.platform import Platform
from cimis_devtools.kafka_access import SERVICES

# Rest must hold for a few rounds in a row: an empty outbox and zero lag can both be true
# for a moment while an event is between a commit and the next service's poll.
STABLE_ROUNDS = 3


async def unsettled(platform: Platform) -> list[str]:
    """What is still moving; empty when the platform is at rest."""
    moving = []
    for service in SERVICES:
        [(pending,)] = await asyncio.to_thread(
            platform.query, service, "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
        if pending:
            moving.append(f"{service}: {pending} outbox rows unpublished")
    [(deliveries,)] = await asyncio.to_thread(
        platform.query, "notify", "SELECT count(*) FROM deliveries WHERE status = 'pending'"
    )
    if deliveries:
        moving.append(f"notify: {deliveries} deliveries pending")
    for service, topics in CONSUMES.items():
        try:
            lag = await group_lag(platform.kafka_client, f"cimis-{service}", topics)
        except (KafkaError, OSError) as exc:
            moving.append(f"cimis-{service}: lag unknown ({exc!r})")
            continue
        for topic, behind in sorted(lag.items()):
            if behind:
                moving.append(f"cimis-{service}: {behind} records behind on {topic}")
    return moving


async def settle(platform: Platform, timeout_seconds: float) -> list[str]:
    """Wait for rest; returns what still moved when ``timeout_seconds`` ran out, else []."""
    deadline = time.monotonic() + timeout_seconds
    calm = 0
    while True:
        moving = await unsettled(platform)
        calm = 0 if moving else calm + 1
        if calm >= STABLE_ROUNDS:
            return []
        if time.monotonic() >= deadline:
            return moving or ["the platform did not stay at rest"]
        await asyncio.sleep(1.0)
