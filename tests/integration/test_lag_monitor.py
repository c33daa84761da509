"""The lag monitor on a real broker: lag per partition, stalls, and outages it outlives."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import generate_latest

from cimis_chassis.clock import ManualClock
from cimis_chassis.kafka import ensure_topics
from cimis_chassis.kafka_client import aiokafka_options
from cimis_chassis.lag_monitor import ConsumerLagMonitor
from cimis_chassis.metrics import ServiceMetrics
from cimis_devtools.kafka_local import find_free_port
from tests.ops.support import promtool

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
STALL_AFTER = timedelta(seconds=30)


@dataclass
class Setup:
    bootstrap: str
    topic: str
    group: str
    clock: ManualClock
    metrics: ServiceMetrics
    monitor: ConsumerLagMonitor

    def value(self, name: str, partition: int) -> float | None:
        labels = {"group": self.group, "topic": self.topic, "partition": str(partition)}
        return self.metrics.registry.get_sample_value(name, labels)

    def lag(self, partition: int) -> float | None:
        return self.value("cimis_consumer_lag_records", partition)

    def stalled(self, partition: int) -> float | None:
        return self.value("cimis_consumer_stalled", partition)

    async def produce(self, counts: dict[int, int]) -> None:
        producer = AIOKafkaProducer(**aiokafka_options(self.bootstrap))
        await producer.start()
        try:
            for partition, count in counts.items():
                for number in range(count):
                    await producer.send_and_wait(self.topic, b"%d" % number, partition=partition)
        finally:
            await producer.stop()

    async def commit(self, offsets: dict[int, int]) -> None:
        """Commit as the group would, without joining it (manual assignment)."""
        consumer = AIOKafkaConsumer(
            **aiokafka_options(self.bootstrap), group_id=self.group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = {TopicPartition(self.topic, p): o for p, o in offsets.items()}
            consumer.assign(list(partitions))
            await consumer.commit(partitions)
        finally:
            await consumer.stop()


@pytest.fixture
async def setup(kafka_bootstrap: str) -> AsyncIterator[Setup]:
    topic = f"cimis.test.lag{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, {topic: 3})
    group = f"lag-{uuid.uuid4().hex[:8]}"
    clock = ManualClock(AT)
    metrics = ServiceMetrics("lagprobe")
    monitor = ConsumerLagMonitor(
        kafka_bootstrap,
        group_id=group,
        topics=[topic],
        metrics=metrics,
        clock=clock,
        stall_after_seconds=STALL_AFTER.total_seconds(),
    )
    try:
        yield Setup(kafka_bootstrap, topic, group, clock, metrics, monitor)
    finally:
        await monitor.close()


async def test_lag_is_end_minus_committed_and_a_partition_without_commits_counts_whole(
    setup: Setup,
) -> None:
    await setup.produce({0: 5, 1: 3, 2: 4})
    await setup.commit({0: 2, 1: 3})  # partition 2: never committed

    await setup.monitor.sample()

    assert [setup.lag(p) for p in range(3)] == [3, 0, 4]
    assert [setup.stalled(p) for p in range(3)] == [0, 0, 0]
    assert setup.monitor.failed_rounds == 0


async def test_a_partition_with_lag_and_no_commit_for_the_stall_time_is_stalled_until_it_moves(
    setup: Setup,
) -> None:
    await setup.produce({0: 5, 1: 3, 2: 4})
    await setup.commit({0: 2, 1: 3})
    await setup.monitor.sample()

    setup.clock.advance(STALL_AFTER - timedelta(seconds=1))
    await setup.monitor.sample()
    assert [setup.stalled(p) for p in range(3)] == [0, 0, 0]

    setup.clock.advance(timedelta(seconds=2))
    await setup.monitor.sample()
    assert [setup.stalled(p) for p in range(3)] == [1, 0, 1]
    assert setup.value("cimis_consumer_last_progress_age_seconds", 0) == 31
    assert setup.value("cimis_consumer_last_progress_age_seconds", 1) == 0

    await setup.commit({0: 4})
    await setup.monitor.sample()
    assert [setup.lag(p) for p in range(3)] == [1, 0, 4]
    assert [setup.stalled(p) for p in range(3)] == [0, 0, 1]

    # Partition 1 was caught up until now: a new record finds it idle, not stalled.
    await setup.produce({1: 1})
    setup.clock.advance(timedelta(seconds=5))
    await setup.monitor.sample()
    assert setup.lag(1) == 1
    assert setup.stalled(1) == 0

    await setup.commit({0: 5, 2: 4})
    await setup.monitor.sample()
    assert [setup.lag(p) for p in range(3)] == [0, 1, 0]
    assert [setup.stalled(p) for p in range(3)] == [0, 0, 0]


async def test_the_monitor_never_joins_the_group(setup: Setup) -> None:
    await setup.produce({0: 1})
    await setup.commit({0: 0})

    await setup.monitor.sample()

    admin = AIOKafkaAdminClient(**aiokafka_options(setup.bootstrap))
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([setup.group])
    finally:
        await admin.close()
    [group] = response.to_object()["groups"]
    assert group["members"] == []
    assert setup.lag(0) == 1


async def test_the_metrics_pass_promtools_lint(setup: Setup) -> None:
    await setup.produce({0: 2})
    await setup.monitor.sample()

    checked = promtool("check", "metrics", stdin=generate_latest(setup.metrics.registry))

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == checked.stderr.strip() == ""


async def test_an_unreachable_broker_keeps_the_last_values_and_logs_one_line_per_round(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    await setup.produce({0: 5})
    await setup.monitor.sample()
    setup.clock.advance(STALL_AFTER)
    await setup.monitor.sample()
    assert (setup.lag(0), setup.stalled(0)) == (5, 1)
    await setup.monitor.close()
    reachable = setup.monitor.kafka
    setup.monitor.kafka = replace(reachable, bootstrap_servers=f"127.0.0.1:{find_free_port()}")

    with caplog.at_level(logging.WARNING, logger="cimis_chassis.lag_monitor"):
        await setup.monitor.sample()
        await setup.monitor.sample()

    assert setup.monitor.failed_rounds == 2
    assert (setup.lag(0), setup.stalled(0)) == (5, 1)
    warnings = [r for r in caplog.records if r.name == "cimis_chassis.lag_monitor"]
    assert [r.levelno for r in warnings] == [logging.WARNING, logging.WARNING]
    assert "2 failed rounds in a row" in warnings[1].getMessage()
    assert all(r.exc_info is None for r in warnings)

    setup.monitor.kafka = replace(setup.monitor.kafka, bootstrap_servers=setup.bootstrap)
    await setup.monitor.sample()
    assert setup.monitor.failed_rounds == 0
    assert setup.lag(0) == 5


async def test_run_outlives_an_unreachable_broker_until_cancelled() -> None:
    monitor = ConsumerLagMonitor(
        f"127.0.0.1:{find_free_port()}",
        group_id="nobody",
        topics=["cimis.test.nowhere"],
        metrics=ServiceMetrics("lagprobe"),
        clock=ManualClock(AT),
        interval_seconds=0.05,
    )
    task = asyncio.create_task(monitor.run())
    deadline = asyncio.get_running_loop().time() + 10
    while monitor.failed_rounds < 3:
        assert not task.done(), task
        assert asyncio.get_running_loop().time() < deadline, "no rounds attempted"
        await asyncio.sleep(0.05)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
