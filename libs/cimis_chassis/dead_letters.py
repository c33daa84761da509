"""Dead letters: poison records are parked once on ``cimis.<consumer>.dlq`` with their origin."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from faststream.kafka import KafkaBroker

from cimis_chassis.kafka import PRODUCER_MAX_REQUEST_BYTES
from cimis_chassis.kafka_client import KafkaClientConfig, as_client_config
from cimis_chassis.metrics import ServiceMetrics
from cimis_contracts.topics import dead_letter_topic

log = logging.getLogger(__name__)

H_TOPIC = "x-original-topic"
H_PARTITION = "x-original-partition"
H_OFFSET = "x-original-offset"
H_TIMESTAMP = "x-original-timestamp"
H_SIZE = "x-original-size"
H_DIGEST = "x-original-sha256"
H_TRUNCATED = "x-truncated"
H_ERROR = "x-error"
H_ERROR_CLASS = "x-error-class"
H_CONSUMER = "x-consumer"
H_FAILED_AT = "x-failed-at"
# The record's own headers travel along under this prefix, so ours can never clash with them.
H_ORIGINAL_HEADER = "x-original-header-"

# The broker's default message.max.bytes; used when the topic's own limit cannot be read.
DEFAULT_MAX_MESSAGE_BYTES = 1_048_588
# Room for the record batch framing and our headers beside the value.
FRAMING_BYTES = 32 * 1024
# A parked summary keeps this much of a value too large to forward whole.
PREFIX_BYTES = 16 * 1024
ERROR_CHARS = 2000
ORIGINAL_HEADERS_BYTES = 16 * 1024
KEY_BYTES = 1024
INDEX_CATCH_UP_SECONDS = 30.0


@dataclass(frozen=True)
class Origin:
    """Where a parked record came from: enough to find it again at its offset."""

    topic: str
    partition: int
    offset: int

    @classmethod
    def of(cls, record: ConsumerRecord[Any, Any]) -> Origin:
        return cls(record.topic, record.partition, record.offset)

    @classmethod
    def from_headers(cls, headers: dict[str, str]) -> Origin | None:
        try:
            return cls(headers[H_TOPIC], int(headers[H_PARTITION]), int(headers[H_OFFSET]))
        except (KeyError, ValueError):
            return None


def decode_headers(raw: Iterable[tuple[str, bytes]] | None) -> dict[str, str]:
    """Kafka header bytes as text; bytes that are not UTF-8 are kept as escapes, not dropped."""
    return {name: value.decode("utf-8", "backslashreplace") for name, value in raw or ()}


@dataclass(frozen=True)
class DeadLetter:
    """One record as it will stand on the dead-letter topic."""

    value: bytes
    key: bytes | None
    headers: dict[str, str]
    truncated: bool


def dead_letter_for(
    record: ConsumerRecord[Any, Any],
    error: BaseException,
    *,
    consumer: str,
    failed_at: datetime,
    max_bytes: int,
) -> DeadLetter:
    """Build the parked copy of ``record``: whole when it fits ``max_bytes``, else a summary.

    A summary keeps the origin, the size, a SHA-256 digest and a bounded prefix; the original
    stays on its topic at its offset, where ``cimis dlq show`` reads it.
    """
    value: bytes = record.value or b""
    key: bytes | None = record.key
    headers = {
        H_TOPIC: record.topic,
        H_PARTITION: str(record.partition),
        H_OFFSET: str(record.offset),
        H_TIMESTAMP: str(record.timestamp),
        H_SIZE: str(len(value)),
        H_DIGEST: hashlib.sha256(value).hexdigest(),
        H_ERROR: _bounded(str(error) or repr(error), ERROR_CHARS),
        H_ERROR_CLASS: type(error).__name__,
        H_CONSUMER: consumer,
        H_FAILED_AT: failed_at.isoformat(),
    }
    budget = ORIGINAL_HEADERS_BYTES
    for name, text in decode_headers(record.headers).items():
        entry = _bounded(text, 1024)
        budget -= len(name) + len(entry.encode())
        if budget < 0:
            break
        headers[H_ORIGINAL_HEADER + name[:200]] = entry
    whole = len(value) + len(key or b"") + sum(len(k) + len(v) for k, v in headers.items())
    if whole + FRAMING_BYTES <= max_bytes:
        return DeadLetter(value, key, headers, truncated=False)
    headers[H_TRUNCATED] = "true"
    short_key = key[:KEY_BYTES] if key is not None else None
    return DeadLetter(value[:PREFIX_BYTES], short_key, headers, truncated=True)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


class ParkedIndex:
    """The origins a consumer has already parked, read back from its dead-letter topic.

    The topic itself is the record of truth: a process killed after parking a record but
    before committing its offset reads the record again, finds it here and does not park it
    twice. Nothing is read until the first poison record, and then only what is new.
    """

    def __init__(self, kafka: KafkaClientConfig, topic: str) -> None:
        self._kafka = kafka
        self._topic = topic
        self._reader: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._origins: set[Origin] = set()

    async def contains(self, origin: Origin) -> bool:
        if origin in self._origins:
            return True
        await self._catch_up()
        return origin in self._origins

    def add(self, origin: Origin) -> None:
        self._origins.add(origin)

    async def close(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            await reader.stop()

    async def _catch_up(self) -> None:
        reader = await self._open()
        async with asyncio.timeout(INDEX_CATCH_UP_SECONDS):
            end = await reader.end_offsets(self._partitions)
            while await _behind(reader, self._partitions, end):
                batches = await reader.getmany(timeout_ms=500, max_records=1000)
                for records in batches.values():
                    for parked in records:
                        origin = Origin.from_headers(decode_headers(parked.headers))
                        if origin is not None:
                            self._origins.add(origin)

    async def _open(self) -> AIOKafkaConsumer:
        if self._reader is not None:
            return self._reader
        # No group: it never commits and never takes part in the service's rebalances.
        reader = AIOKafkaConsumer(
            **self._kafka.aiokafka(
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                client_id=f"cimis-{self._topic}-index",
            )
        )
        await reader.start()
        try:
            self._partitions = await partitions_of(self._kafka, self._topic)
            if not self._partitions:
                # The host creates it at start; without it nothing could be parked anyway.
                raise LookupError(f"the dead-letter topic {self._topic} does not exist")
            reader.assign(self._partitions)
            await reader.seek_to_beginning(*self._partitions)
        except BaseException:
            await reader.stop()
            raise
        self._reader = reader
        return reader


async def partitions_of(kafka: str | KafkaClientConfig, topic: str) -> list[TopicPartition]:
    """The partitions of ``topic`` (none if it does not exist), without creating it."""
    admin = AIOKafkaAdminClient(**as_client_config(kafka).aiokafka(client_id="cimis-dlq"))
    try:
        await admin.start()
        # Every topic, not ours by name: naming it would let a broker that auto-creates topics
        # create it with the wrong partition count.
        for described in await admin.describe_topics():
            if described["topic"] == topic and described["error_code"] == 0:
                numbers = sorted(p["partition"] for p in described["partitions"])
                return [TopicPartition(topic, n) for n in numbers]
        return []
    finally:
        await admin.close()


async def _behind(
    reader: AIOKafkaConsumer, partitions: list[TopicPartition], end: dict[TopicPartition, int]
) -> bool:
    for tp in partitions:
        if await reader.position(tp) < end[tp]:
            return True
    return False


async def topic_max_message_bytes(kafka: str | KafkaClientConfig, topic: str) -> int:
    """The broker's effective ``max.message.bytes`` for ``topic`` (its default if unreadable)."""
    admin = AIOKafkaAdminClient(**as_client_config(kafka).aiokafka(client_id="cimis-dlq-limits"))
    try:
        async with asyncio.timeout(10):
            await admin.start()
            responses = await admin.describe_configs(
                [
                    ConfigResource(
                        ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": None}
                    )
                ]
            )
    except Exception as exc:
        log.warning("could not read max.message.bytes of %s (%r); assuming the default", topic, exc)
        return DEFAULT_MAX_MESSAGE_BYTES
    finally:
        await admin.close()
    for response in responses:
        for resource in response.resources:
            for entry in resource[4]:
                if entry[0] == "max.message.bytes" and entry[1]:
                    return int(entry[1])
    return DEFAULT_MAX_MESSAGE_BYTES


class DeadLetterPublisher:
    """Parks poison records of one consumer, each origin once, within the broker's limits."""

    def __init__(
        self,
        broker: KafkaBroker,
        consumer: str,
        metrics: ServiceMetrics,
        *,
        kafka: str | KafkaClientConfig,
    ) -> None:
        self._broker = broker
        self._consumer = consumer
        self._metrics = metrics
        self._kafka = as_client_config(kafka)
        self.topic = dead_letter_topic(consumer)
        self._index = ParkedIndex(self._kafka, self.topic)
        self._max_bytes: int | None = None
        self._lock = asyncio.Lock()

    async def park(self, record: ConsumerRecord[Any, Any], error: BaseException) -> bool:
        """Park ``record`` and wait for the broker's confirmation; False if it was parked before.

        Broker outages raise (the caller retries and re-reads); a record too large for the
        topic is parked as a summary instead, so no record can stop its partition.
        """
        # One at a time: two callers with the same record must not both find it unparked.
        async with self._lock:
            return await self._park_once(record, error)

    async def _park_once(self, record: ConsumerRecord[Any, Any], error: BaseException) -> bool:
        origin = Origin.of(record)
        if await self._index.contains(origin):
            log.info(
                "%s[%d]@%d was parked before; not again",
                origin.topic,
                origin.partition,
                origin.offset,
            )
            return False
        max_bytes = await self._limit()
        now = datetime.now(UTC)
        letter = dead_letter_for(
            record, error, consumer=self._consumer, failed_at=now, max_bytes=max_bytes
        )
        try:
            await self._send(letter)
        except (MessageSizeTooLargeError, RecordTooLargeError):
            # Our estimate of the framing was short: a summary always fits.
            letter = dead_letter_for(
                record, error, consumer=self._consumer, failed_at=now, max_bytes=0
            )
            await self._send(letter)
        self._index.add(origin)
        self._metrics.dead_letters.labels(record.topic).inc()
        log.error(
            "dead-lettered %s[%d]@%d (%d bytes%s): %s",
            origin.topic,
            origin.partition,
            origin.offset,
            len(record.value or b""),
            ", parked as a summary" if letter.truncated else "",
            letter.headers[H_ERROR][:300],
        )
        return True

    async def close(self) -> None:
        await self._index.close()

    async def _send(self, letter: DeadLetter) -> None:
        await self._broker.publish(letter.value, self.topic, key=letter.key, headers=letter.headers)

    async def _limit(self) -> int:
        if self._max_bytes is None:
            topic_limit = await topic_max_message_bytes(self._kafka, self.topic)
            # The producer's own limit (make_broker) may be the smaller one.
            self._max_bytes = min(topic_limit, PRODUCER_MAX_REQUEST_BYTES)
        return self._max_bytes


@dataclass(frozen=True)
class ParkedRecord:
    """A dead letter as ``cimis dlq`` shows it."""

    dlq_offset: int
    origin: Origin | None
    headers: dict[str, str]
    value: bytes

    @property
    def truncated(self) -> bool:
        return self.headers.get(H_TRUNCATED) == "true"


async def read_parked(kafka: str | KafkaClientConfig, consumer: str) -> list[ParkedRecord]:
    """Every record on ``consumer``'s dead-letter topic, oldest first."""
    topic = dead_letter_topic(consumer)
    config = as_client_config(kafka)
    reader = AIOKafkaConsumer(**config.aiokafka(group_id=None, enable_auto_commit=False))
    await reader.start()
    parked: list[ParkedRecord] = []
    try:
        partitions = await partitions_of(config, topic)
        if not partitions:
            return parked
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        end = await reader.end_offsets(partitions)
        while await _behind(reader, partitions, end):
            for records in (await reader.getmany(timeout_ms=1000)).values():
                for record in records:
                    headers = decode_headers(record.headers)
                    parked.append(
                        ParkedRecord(
                            record.offset,
                            Origin.from_headers(headers),
                            headers,
                            record.value or b"",
                        )
                    )
    finally:
        await reader.stop()
    return sorted(parked, key=lambda p: p.dlq_offset)


async def read_original(
    kafka: str | KafkaClientConfig, origin: Origin
) -> ConsumerRecord[Any, Any] | None:
    """The record at ``origin`` as its topic still holds it (None once retention removed it)."""
    reader = AIOKafkaConsumer(
        **as_client_config(kafka).aiokafka(
            group_id=None,
            enable_auto_commit=False,
            # The original may be far larger than an event: fetch it whole whatever its size.
            max_partition_fetch_bytes=64 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
        )
    )
    await reader.start()
    try:
        tp = TopicPartition(origin.topic, origin.partition)
        reader.assign([tp])
        reader.seek(tp, origin.offset)
        async with asyncio.timeout(15):
            while True:
                batch = await reader.getmany(tp, timeout_ms=1000, max_records=1)
                for record in batch.get(tp, []):
                    return record if record.offset == origin.offset else None
                if await reader.position(tp) >= (await reader.end_offsets([tp]))[tp]:
                    return None
    except TimeoutError:
        return None
    finally:
        await reader.stop()


async def replay_dead_letters(
    kafka: str | KafkaClientConfig,
    consumer: str,
    *,
    limit: int | None = None,
    dry_run: bool = False,
) -> list[dict[str, str]]:
    """Send parked records back to their original topics, oldest first, and return what was sent.

    Replaying is safe because every consumer is idempotent; a record that is still poison simply
    returns to the dead-letter topic. Progress is kept by the consumer group
    ``cimis-<consumer>-dlq-replay``, so each parked record is replayed once. Summaries of
    records too large to be an event are skipped: the original would only be parked again.
    """
    from aiokafka import AIOKafkaProducer

    topic = dead_letter_topic(consumer)
    config = as_client_config(kafka)
    reader = AIOKafkaConsumer(
        topic,
        **config.aiokafka(
            group_id=f"cimis-{consumer}-dlq-replay",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        ),
    )
    writer = AIOKafkaProducer(**config.aiokafka(enable_idempotence=True))
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
                    await _replay_one(writer, record, replayed, dry_run=dry_run)
                    if not dry_run:
                        await reader.commit({tp: record.offset + 1})
                    if record.offset + 1 >= end[tp]:
                        pending.discard(tp)
    finally:
        await reader.stop()
        await writer.stop()
    return replayed


async def _replay_one(
    writer: Any, record: ConsumerRecord[Any, Any], replayed: list[dict[str, str]], *, dry_run: bool
) -> None:
    headers = decode_headers(record.headers)
    target = headers.get(H_TOPIC)
    if not target:
        log.warning("dead letter at offset %d has no origin; skipped", record.offset)
        return
    if headers.get(H_TRUNCATED) == "true":
        log.warning(
            "dead letter at offset %d is a summary of a %s-byte record; not replayed",
            record.offset,
            headers.get(H_SIZE, "?"),
        )
        return
    if not dry_run:
        original_headers = [
            (name[len(H_ORIGINAL_HEADER) :], value.encode())
            for name, value in headers.items()
            if name.startswith(H_ORIGINAL_HEADER)
        ]
        await writer.send_and_wait(
            target, record.value, key=record.key, headers=original_headers or None
        )
    replayed.append(
        {"to": target, "offset": str(record.offset), "error": headers.get(H_ERROR, "")[:200]}
    )
