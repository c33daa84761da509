"""Consumer lag and stalled partitions, read from the broker rather than from the consumer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from cimis_chassis.clock import Clock
from cimis_chassis.kafka_client import KafkaClientConfig, as_client_config
from cimis_chassis.metrics import ServiceMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionLag:
    """One partition as the last successful sample saw it."""

    topic: str
    partition: int
    end_offset: int
    committed: int | None
    lag: int
    stalled: bool
    progress_age_seconds: float


@dataclass(frozen=True)
class _Progress:
    committed: int | None
    since: datetime


class ConsumerLagMonitor:
    """Samples a consumer group's lag per partition from the broker and flags stalled partitions.

    Every ``interval_seconds`` it reads the end offset of each partition of ``topics`` and the
    committed offset of ``group_id``, and sets ``cimis_consumer_lag_records``,
    ``cimis_consumer_stalled`` and ``cimis_consumer_last_progress_age_seconds`` (labels group,
    topic, partition). A partition is stalled when it has lag and the group's committed offset
    has not moved for ``stall_after_seconds`` of ``clock`` time. The monitor never joins the
    group: it reads offsets through an admin client and a consumer without a group.
    ``partitions`` holds what the last successful round saw; ``failed_rounds`` counts the
    rounds that have failed since.
    """

    def __init__(
        self,
        kafka: str | KafkaClientConfig,
        *,
        group_id: str,
        topics: Sequence[str],
        metrics: ServiceMetrics,
        clock: Clock,
        interval_seconds: float = 5.0,
        stall_after_seconds: float = 30.0,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.kafka = as_client_config(kafka)
        self.group_id = group_id
        self.topics = tuple(topics)
        self.interval_seconds = interval_seconds
        self.stall_after_seconds = stall_after_seconds
        self.timeout_seconds = timeout_seconds
        self.partitions: dict[TopicPartition, PartitionLag] = {}
        self.failed_rounds = 0
        self._metrics = metrics
        self._clock = clock
        self._progress: dict[TopicPartition, _Progress] = {}
        self._admin: Any = None
        self._offsets: Any = None

    async def run(self) -> None:
        """Sample every ``interval_seconds`` until cancelled; broker outages do not end it."""
        try:
            while True:
                try:
                    await self.sample()
                except Exception:
                    # sample() handles the broker's failures; this is a bug, and a monitor that
                    # silently stopped would hide exactly the stalls it exists to show.
                    log.exception("lag monitor of group %s: sampling failed", self.group_id)
                await asyncio.sleep(self.interval_seconds)
        finally:
            await self.close()

    async def sample(self) -> None:
        """One round: read offsets and set the gauges; on a broker failure keep the last values."""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                offsets = await self._read_offsets()
        except Exception as exc:
            self.failed_rounds += 1
            # One line per round, no traceback: an outage lasting hours must not flood the log.
            log.warning(
                "lag monitor of group %s: cannot read offsets (%d failed rounds in a row), "
                "keeping the last values: %s: %s",
                self.group_id,
                self.failed_rounds,
                type(exc).__name__,
                exc,
            )
            await self.close()
            return
        if self.failed_rounds:
            log.info(
                "lag monitor of group %s: reading offsets again after %d failed rounds",
                self.group_id,
                self.failed_rounds,
            )
            self.failed_rounds = 0
        self._publish(offsets, self._clock.now())

    async def close(self) -> None:
        """Disconnect from the broker; the next sample connects again."""
        admin, offsets = self._admin, self._offsets
        self._admin = self._offsets = None
        closers = [client for client in (admin and admin.close, offsets and offsets.stop) if client]
        for close in closers:
            try:
                async with asyncio.timeout(self.timeout_seconds):
                    await close()
            except Exception as exc:
                log.debug("lag monitor of group %s: closing a client: %r", self.group_id, exc)

    async def _connect(self) -> tuple[Any, Any]:
        if self._admin is None:
            admin = AIOKafkaAdminClient(
                **self.kafka.aiokafka(
                    client_id=f"cimis-lag-monitor-{self.group_id}",
                    request_timeout_ms=int(self.timeout_seconds * 1000),
                )
            )
            self._admin = admin
            await admin.start()
        if self._offsets is None:
            # No group_id: this consumer only asks for offsets and never joins the service's
            # group, so it cannot trigger a rebalance or take a partition away.
            offsets = AIOKafkaConsumer(
                **self.kafka.aiokafka(),
                client_id=f"cimis-lag-monitor-{self.group_id}",
                group_id=None,
                enable_auto_commit=False,
                request_timeout_ms=int(self.timeout_seconds * 1000),
            )
            self._offsets = offsets
            await offsets.start()
        return self._admin, self._offsets

    async def _read_offsets(
        self,
    ) -> dict[TopicPartition, tuple[int, int, int | None]]:
        admin, consumer = await self._connect()
        # All topics rather than ours by name: naming a missing topic lets a broker with
        # auto.create.topics.enable create it with the wrong partition count.
        described = {t["topic"]: t for t in await admin.describe_topics()}
        partitions = [
            TopicPartition(topic, p["partition"])
            for topic in self.topics
            if (info := described.get(topic)) is not None and info["error_code"] == 0
            for p in info["partitions"]
        ]
        if not partitions:
            return {}
        committed = await admin.list_consumer_group_offsets(self.group_id, partitions=partitions)
        beginning = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
        result: dict[TopicPartition, tuple[int, int, int | None]] = {}
        for tp in partitions:
            meta = committed.get(tp)
            offset = meta.offset if meta is not None and meta.offset >= 0 else None
            result[tp] = (beginning[tp], end[tp], offset)
        return result

    def _publish(
        self, offsets: dict[TopicPartition, tuple[int, int, int | None]], now: datetime
    ) -> None:
        metrics = self._metrics
        for tp, (beginning, end, committed) in offsets.items():
            # Without a commit the group starts at the beginning (auto_offset_reset=earliest);
            # a commit older than the retained log resumes at the beginning too.
            start = beginning if committed is None else max(committed, beginning)
            lag = max(0, end - start)
            progress = self._progress.get(tp)
            # Being caught up counts as progress: otherwise the first record after an idle
            # hour would find its partition "stalled" before anyone could consume it.
            if progress is None or progress.committed != committed or lag == 0:
                progress = _Progress(committed, now)
                self._progress[tp] = progress
            age = max(0.0, (now - progress.since).total_seconds())
            stalled = lag > 0 and age >= self.stall_after_seconds
            labels = (self.group_id, tp.topic, str(tp.partition))
            metrics.consumer_lag.labels(*labels).set(lag)
            metrics.consumer_stalled.labels(*labels).set(1 if stalled else 0)
            metrics.consumer_progress_age.labels(*labels).set(age)
            self.partitions[tp] = PartitionLag(
                tp.topic, tp.partition, end, committed, lag, stalled, age
            )
        for tp in set(self._progress) - set(offsets):
            # A deleted topic must not leave a stall alert behind that nothing can clear.
            labels = (self.group_id, tp.topic, str(tp.partition))
            for gauge in (
                metrics.consumer_lag,
                metrics.consumer_stalled,
                metrics.consumer_progress_age,
            ):
                with contextlib.suppress(KeyError):
                    gauge.remove(*labels)
            del self._progress[tp]
            self.partitions.pop(tp, None)
