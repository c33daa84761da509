"""The chassis consumer on a real broker: duplicates apply once, poison goes to dead letters."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import Column, MetaData, String, Table, func, insert, select

from cimis_chassis.clock import ManualClock
from cimis_chassis.consumer import EventConsumer
from cimis_chassis.database import Database
from cimis_chassis.dead_letters import H_ERROR_CLASS, H_OFFSET, H_TOPIC, replay_dead_letters
from cimis_chassis.envelope import CloudEvent, make_event
from cimis_chassis.errors import DomainError
from cimis_chassis.kafka import ensure_topics, make_broker
from cimis_chassis.kafka_client import aiokafka_options
from cimis_chassis.metrics import ServiceMetrics
from cimis_chassis.service_host import ServiceHost
from cimis_chassis.settings import ServiceSettings
from cimis_chassis.tables import add_chassis_tables
from cimis_chassis.unit_of_work import SqlUnitOfWork
from cimis_contracts.intake import TeamAcceptedV1
from cimis_contracts.topics import dead_letter_topic

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def accepted(team_id: str, *, budget_cents: int = 10_000_00) -> CloudEvent:
    data = TeamAcceptedV1(
        team_id=team_id,
        call_id="call-1",
        title="Team",
        agent_id="agent-anna",
        budget_cents=budget_cents,
        input_vat_deductible=False,
        company_application_id="co",
        creative_application_ids=["cr"],
        accepted_at=AT,
    )
    return make_event(
        source="cimis/intake",
        type_=data.TYPE,
        subject=team_id,
        time=AT,
        data=data.model_dump(mode="json"),
    )


class Probe:
    """A throw-away service on the chassis: it records each applied team, refusing odd budgets."""

    def __init__(self, tmp_path: Path, bootstrap: str) -> None:
        self.name = f"probe{uuid.uuid4().hex[:8]}"
        self.topic = f"cimis.test.{self.name}"
        metadata = MetaData()
        self.tables = add_chassis_tables(metadata)
        self.applied = Table(
            "applied", metadata, Column("event_id", String(36)), Column("team_id", String(36))
        )
        self.metadata = metadata
        settings = ServiceSettings(
            service_name=self.name,
            kafka_bootstrap_servers=bootstrap,
            database_url=f"sqlite:///{tmp_path / 'probe.db'}",
        )
        metrics = ServiceMetrics(self.name)
        self.host = ServiceHost(
            name=self.name,
            settings=settings,
            clock=ManualClock(AT),
            db=Database(settings.database_url),
            tables=self.tables,
            broker=make_broker(
                bootstrap, client_id=self.name, registry=metrics.registry, service=self.name
            ),
            metrics=metrics,
            topics={self.topic: 3, dead_letter_topic(self.name): 1},
        )
        self.consumer = EventConsumer(
            self.host,
            topics=[self.topic],
            handlers={TeamAcceptedV1: self.on_accepted},
            retry_delays=(0.05, 0.05),
        )
        self.consumer.register(self.host.broker)

    async def on_accepted(
        self, uow: SqlUnitOfWork, payload: TeamAcceptedV1, event: CloudEvent
    ) -> None:
        if payload.budget_cents == 13:
            raise DomainError("unlucky", "a budget of 0.13 EUR is refused by this probe")
        await uow.session.execute(
            insert(self.applied).values(event_id=event.id, team_id=payload.team_id)
        )

    async def count(self, team_id: str) -> int:
        async with self.host.db.sessions() as session:
            return int(
                (
                    await session.execute(
                        select(func.count()).where(self.applied.c.team_id == team_id)
                    )
                ).scalar_one()
            )


@pytest.fixture
async def probe(tmp_path: Path, kafka_bootstrap: str) -> AsyncIterator[Probe]:
    probe = Probe(tmp_path, kafka_bootstrap)
    async with probe.host.db.engine.begin() as conn:
        await conn.run_sync(probe.metadata.create_all)
    await ensure_topics(kafka_bootstrap, probe.host.topics)
    await probe.host.start()
    try:
        yield probe
    finally:
        await probe.host.stop()


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(**aiokafka_options(kafka_bootstrap), enable_idempotence=True)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def dead_letters(bootstrap: str, topic: str, expected: int) -> list[object]:
    consumer = AIOKafkaConsumer(topic, **aiokafka_options(bootstrap), auto_offset_reset="earliest")
    await consumer.start()
    records: list[object] = []
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


async def test_the_same_event_delivered_twice_is_applied_once(
    probe: Probe, producer: AIOKafkaProducer
) -> None:
    event = accepted("team-dup")
    for _ in range(2):
        await producer.send_and_wait(probe.topic, event.to_json_bytes(), key=b"team-dup")
    marker = accepted("team-after-dup")
    await producer.send_and_wait(probe.topic, marker.to_json_bytes(), key=b"team-dup")

    async def marker_applied() -> bool:
        return await probe.count("team-after-dup") == 1

    await eventually(marker_applied)
    assert await probe.count("team-dup") == 1
    duplicates = probe.host.metrics.registry.get_sample_value(
        "cimis_events_consumed_total", {"type": TeamAcceptedV1.TYPE, "outcome": "duplicate"}
    )
    assert duplicates == 1


async def test_a_malformed_record_is_dead_lettered_and_the_next_one_applied(
    probe: Probe, producer: AIOKafkaProducer, kafka_bootstrap: str
) -> None:
    meta = await producer.send_and_wait(probe.topic, b"{not json", key=b"team-x", partition=0)
    await producer.send_and_wait(
        probe.topic, accepted("team-next").to_json_bytes(), key=b"team-x", partition=0
    )

    async def next_applied() -> bool:
        return await probe.count("team-next") == 1

    await eventually(next_applied)
    [parked] = await dead_letters(kafka_bootstrap, dead_letter_topic(probe.name), 1)
    headers = {k: v.decode() for k, v in parked.headers}  # type: ignore[attr-defined]
    assert parked.value == b"{not json"  # type: ignore[attr-defined]
    assert headers[H_TOPIC] == probe.topic
    assert headers[H_OFFSET] == str(meta.offset)
    assert headers["x-original-partition"] == "0"
    assert headers[H_ERROR_CLASS] == "EnvelopeError"


async def test_unknown_types_and_refused_events_are_parked_without_holding_others(
    probe: Probe, producer: AIOKafkaProducer, kafka_bootstrap: str
) -> None:
    unknown = make_event(source="x", type_="de.cimis.nope.v1", subject="t", time=AT, data={})
    refused = accepted("team-refused", budget_cents=13)
    good = accepted("team-good")
    for event in (unknown, refused, good):
        await producer.send(probe.topic, event.to_json_bytes(), key=b"k", partition=1)
    await producer.flush()

    async def good_applied() -> bool:
        return await probe.count("team-good") == 1

    await eventually(good_applied)
    parked = await dead_letters(kafka_bootstrap, dead_letter_topic(probe.name), 2)
    ids = sorted(json.loads(r.value)["id"] for r in parked)  # type: ignore[attr-defined]
    assert ids == sorted([unknown.id, refused.id])
    assert await probe.count("team-refused") == 0


async def test_replaying_dead_letters_sends_them_home_once(
    probe: Probe, producer: AIOKafkaProducer, kafka_bootstrap: str
) -> None:
    await producer.send_and_wait(probe.topic, b"still broken", key=b"k")
    await dead_letters(kafka_bootstrap, dead_letter_topic(probe.name), 1)
    first = await replay_dead_letters(kafka_bootstrap, probe.name)
    assert [r["to"] for r in first] == [probe.topic]
    # The replayed record is still poison, so it is parked again: one more to replay, not two.
    await dead_letters(kafka_bootstrap, dead_letter_topic(probe.name), 2)
    second = await replay_dead_letters(kafka_bootstrap, probe.name)
    assert len(second) == 1


async def test_a_batch_read_again_does_not_park_its_poison_again(
    probe: Probe, producer: AIOKafkaProducer, kafka_bootstrap: str
) -> None:
    meta = await producer.send_and_wait(probe.topic, b"[1]", key=b"team-y", partition=1)
    reader = AIOKafkaConsumer(**aiokafka_options(kafka_bootstrap), enable_auto_commit=False)
    await reader.start()
    try:
        tp = TopicPartition(probe.topic, 1)
        reader.assign([tp])
        reader.seek(tp, meta.offset)
        [record] = (await reader.getmany(tp, timeout_ms=10_000, max_records=1))[tp]
    finally:
        await reader.stop()

    # The subscriber parks it once; a batch retried after an outage holds it again, twice.
    await probe.consumer.process([record, record])
    await probe.consumer.process([record])

    parked = await dead_letters(kafka_bootstrap, dead_letter_topic(probe.name), 2)
    assert len(parked) == 1
