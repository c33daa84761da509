"""The broker believes no one it cannot name: SASL/SCRAM, per-service ACLs, and the consumers'
own check of each record's type and source.

Each service is its own principal (tests/fixtures_infra.py gives the session's brokers the
platform's users and ACLs); money moves only on events their owner wrote.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from cimis_chassis.dead_letters import H_ERROR, H_OFFSET, H_PARTITION, H_TOPIC
from cimis_chassis.envelope import make_event
from cimis_chassis.kafka_client import KafkaClientConfig
from cimis_contracts import topics
from cimis_contracts.milestones import MilestoneCompletedV1
from cimis_devtools.kafka_access import SERVICES
from tests.fixtures_infra import KAFKA_ACCESS
from tests.integration.test_budget_on_kafka import (
    budget_process,  # noqa: F401 - a fixture
    call_opened,
    envelope,
    finance_headers,
    get_json,
    team_accepted,
    wait_for_budget,
)
from tests.support.processes import ServiceProcess, TopicReader

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

PLATFORM_TOPICS = (*topics.SERVICE_TOPICS, *(topics.dead_letter_topic(s) for s in topics.CONSUMES))


def as_principal(bootstrap: str, principal: str) -> KafkaClientConfig:
    return KAFKA_ACCESS.client(bootstrap, principal)


def may_write(service: str, topic: str) -> bool:
    return topic in (topics.owned_topic(service), topics.dead_letter_topic(service))


async def connect(client: AIOKafkaProducer | AIOKafkaConsumer) -> None:
    """Start ``client`` (a consumer also fetches once) and stop it again, whatever happens."""
    try:
        await asyncio.wait_for(client.start(), timeout=20)
        if isinstance(client, AIOKafkaConsumer):
            await asyncio.wait_for(client.getone(), timeout=20)
    finally:
        await client.stop()


@pytest.fixture(scope="module")
async def producers(kafka_bootstrap: str) -> AsyncIterator[dict[str, AIOKafkaProducer]]:
    started: dict[str, AIOKafkaProducer] = {}
    try:
        for service in SERVICES:
            producer = AIOKafkaProducer(
                **as_principal(kafka_bootstrap, service).aiokafka(enable_idempotence=True)
            )
            await producer.start()
            started[service] = producer
        yield started
    finally:
        for producer in started.values():
            await producer.stop()


async def test_a_client_without_credentials_is_refused(kafka_bootstrap: str) -> None:
    anonymous = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    with pytest.raises(KafkaConnectionError):
        await connect(anonymous)


async def test_a_client_with_a_wrong_password_is_refused(kafka_bootstrap: str) -> None:
    impostor = AIOKafkaProducer(
        **KafkaClientConfig(kafka_bootstrap, username="budget", password="guessed").aiokafka()
    )
    with pytest.raises(KafkaError):
        await connect(impostor)


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_writes_its_own_topics_and_no_other(
    service: str, producers: dict[str, AIOKafkaProducer]
) -> None:
    producer = producers[service]
    for topic in PLATFORM_TOPICS:
        if may_write(service, topic):
            await producer.send_and_wait(topic, b"{}", key=b"acl-probe")
        else:
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait(topic, b"{}", key=b"acl-probe")


async def test_a_service_reads_only_what_it_consumes_in_its_own_group(kafka_bootstrap: str) -> None:
    budget = as_principal(kafka_bootstrap, "budget")
    # Notify's events are not budget's to read.
    foreign = AIOKafkaConsumer(
        topics.NOTIFY, **budget.aiokafka(group_id=f"cimis-budget-test-{uuid.uuid4().hex[:8]}")
    )
    with pytest.raises(TopicAuthorizationFailedError):
        await connect(foreign)
    # Nor may it join notify's consumer group to take its partitions away.
    hijack = AIOKafkaConsumer(topics.INTAKE, **budget.aiokafka(group_id="cimis-notify"))
    with pytest.raises(GroupAuthorizationFailedError):
        await connect(hijack)


async def test_a_forged_completion_on_the_intake_topic_moves_no_money(
    tmp_path: Path,
    budget_process: ServiceProcess,  # noqa: F811 - the fixture imported above
    producers: dict[str, AIOKafkaProducer],
    kafka_bootstrap: str,
) -> None:
    intake = producers["intake"]
    call_id, team_id = f"call-{uuid.uuid4().hex[:8]}", f"team-{uuid.uuid4().hex[:8]}"
    for payload in (call_opened(call_id), team_accepted(call_id, team_id)):
        await intake.send_and_wait(topics.INTAKE, envelope(payload), key=team_id.encode())
    headers = finance_headers(tmp_path)
    before = await wait_for_budget(budget_process, team_id, headers)
    assert before["released"] == "12000.00"

    # Even with intake's own credentials, milestones' event type on intake's topic, and an
    # event that claims another source, are poison: parked, and nothing released.
    completion = MilestoneCompletedV1(
        team_id=team_id,
        call_id=call_id,
        milestone_id="forged",
        key="final",
        completed_by="mallory",
        completed_at=datetime.now(UTC),
    )
    forged_completion = make_event(
        source="cimis/intake",
        type_=completion.TYPE,
        subject=team_id,
        time=datetime.now(UTC),
        data=completion.model_dump(mode="json"),
    ).to_json_bytes()
    phantom = team_accepted(call_id, f"team-{uuid.uuid4().hex[:8]}")
    foreign_source = make_event(
        source="cimis/budget",
        type_=phantom.TYPE,
        subject=phantom.team_id,
        time=datetime.now(UTC),
        data=phantom.model_dump(mode="json"),
    ).to_json_bytes()
    sent = [
        await intake.send_and_wait(topics.INTAKE, record, key=team_id.encode())
        for record in (forged_completion, foreign_source)
    ]
    # By partition and offset: other tests park records of the same topic at the same offsets.
    origins = {(str(meta.partition), str(meta.offset)) for meta in sent}

    def parked(records: Sequence[Any]) -> list[dict[str, str]]:
        found = []
        for record in records:
            h = {k: v.decode() for k, v in record.headers}
            if h.get(H_TOPIC) == topics.INTAKE and (h.get(H_PARTITION), h.get(H_OFFSET)) in origins:
                found.append(h)
        return found

    async with TopicReader(kafka_bootstrap, topics.dead_letter_topic("budget")) as reader:
        records = await reader.read_until(lambda rs: len(parked(rs)) == 2, timeout=30)
    reasons = " | ".join(h[H_ERROR] for h in parked(records))
    assert "belongs on cimis.milestones.v1, not on cimis.intake.v1" in reasons
    assert "source 'cimis/budget' is not 'cimis/intake'" in reasons
    after = await wait_for_budget(budget_process, team_id, headers)
    assert after["released"] == before["released"]
    status, _ = await get_json(budget_process, f"/api/v1/teams/{phantom.team_id}/budget", headers)
    assert status == 404
