"""Budget's consumer on the real broker: a duplicate books once, a malformed record is parked."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from cimis_chassis.auth import Role, create_key
from cimis_chassis.dead_letters import H_ERROR_CLASS, H_TOPIC
from cimis_chassis.envelope import make_event
from cimis_chassis.kafka_client import aiokafka_options
from cimis_contracts import topics
from cimis_contracts.base import EventData
from cimis_contracts.intake import CallOpenedV1, PhaseStep, TeamAcceptedV1, TrancheRule
from tests.support.processes import ServiceProcess, TopicReader

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def budget_service(tmp_path: Path, kafka_bootstrap: str) -> ServiceProcess:
    """The real budget service on SQLite in ``tmp_path``, in a consumer group of its own."""
    return ServiceProcess(
        "services.budget.entrypoints.main",
        name="budget",
        log_path=tmp_path / "budget.log",
        env={
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'budget.db'}",
            "CIMIS_API_KEYS_FILE": str(tmp_path / "api-keys.json"),
            "VAR_DIR": str(tmp_path / "var"),
            "LOG_JSON": "false",
            "CONSUMER_GROUP": f"cimis-budget-test-{uuid.uuid4().hex[:8]}",
        },
    )


@pytest.fixture
async def budget_process(tmp_path: Path, kafka_bootstrap: str) -> AsyncIterator[ServiceProcess]:
    process = budget_service(tmp_path, kafka_bootstrap)
    create_key(tmp_path / "api-keys.json", role=Role.FINANCE, principal="fiona")
    async with process:
        yield process


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(**aiokafka_options(kafka_bootstrap), enable_idempotence=True)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


def finance_headers(tmp_path: Path) -> dict[str, str]:
    token = create_key(tmp_path / "api-keys.json", role=Role.FINANCE, principal="frank")
    return {"Authorization": f"Bearer {token}"}


def envelope(payload: EventData) -> bytes:
    return make_event(
        source="cimis/intake",
        type_=payload.TYPE,
        subject=payload.subject(),
        time=datetime.now(UTC),
        data=payload.model_dump(mode="json"),
    ).to_json_bytes()


def call_opened(call_id: str) -> CallOpenedV1:
    now = datetime.now(UTC)
    return CallOpenedV1(
        call_id=call_id,
        title="Kafka call",
        districts=["Chemnitz"],
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=30),
        total_budget_cents=100_000_00,
        max_team_budget_cents=50_000_00,
        tranches=[
            TrancheRule(milestone=None, percent=40),
            TrancheRule(milestone="final", percent=60),
        ],
        phase_plan=[PhaseStep(key="final", title="Abschluss", days_after_acceptance=180)],
    )


def team_accepted(call_id: str, team_id: str) -> TeamAcceptedV1:
    return TeamAcceptedV1(
        team_id=team_id,
        call_id=call_id,
        title="Kafka team",
        agent_id="agent-anna",
        budget_cents=30_000_00,
        input_vat_deductible=False,
        company_application_id="co",
        creative_application_ids=["cr"],
        accepted_at=datetime.now(UTC),
    )


async def get_json(process: ServiceProcess, path: str, headers: dict[str, str]) -> Any:
    async with httpx.AsyncClient(base_url=process.base_url, timeout=10) as client:
        response = await client.get(path, headers=headers)
    return response.status_code, response.json()


async def wait_for_budget(
    process: ServiceProcess, team_id: str, headers: dict[str, str], timeout: float = 60
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status, body = await get_json(process, f"/api/v1/teams/{team_id}/budget", headers)
        if status == 200:
            return body  # type: ignore[no-any-return]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no budget for {team_id} after {timeout}s: {body}")
        await asyncio.sleep(0.2)


async def test_the_same_team_accepted_delivered_twice_books_once(
    budget_process: ServiceProcess, producer: AIOKafkaProducer, tmp_path: Path
) -> None:
    call_id, team_id = str(uuid.uuid4()), str(uuid.uuid4())
    await producer.send_and_wait(
        topics.INTAKE, envelope(call_opened(call_id)), key=call_id.encode()
    )
    accepted = envelope(team_accepted(call_id, team_id))
    for _ in range(2):  # the same record twice: what a producer retry or a replay looks like
        await producer.send_and_wait(topics.INTAKE, accepted, key=team_id.encode())
    # A later event of the same key proves the duplicate was consumed before we look.
    marker_team = str(uuid.uuid4())
    await producer.send_and_wait(
        topics.INTAKE, envelope(team_accepted(call_id, marker_team)), key=team_id.encode()
    )
    headers = finance_headers(tmp_path)
    await wait_for_budget(budget_process, marker_team, headers)
    body = await wait_for_budget(budget_process, team_id, headers)
    assert (body["allocated"], body["released"]) == ("30000.00", "12000.00")
    status, ledger = await get_json(budget_process, f"/api/v1/ledger?team_id={team_id}", headers)
    assert status == 200
    assert [t["kind"] for t in ledger["items"]] == ["allocated", "tranche_released"]
    _, call = await get_json(budget_process, f"/api/v1/calls/{call_id}/budget", headers)
    assert call["allocated"] == "60000.00"  # two teams, each booked once


async def test_a_malformed_record_is_dead_lettered_and_the_next_one_applied(
    budget_process: ServiceProcess, producer: AIOKafkaProducer, tmp_path: Path, kafka_bootstrap: str
) -> None:
    call_id, team_id = str(uuid.uuid4()), str(uuid.uuid4())
    garbage = f'{{"not": "a cloud event", "marker": "{uuid.uuid4()}"}}'.encode()
    await producer.send_and_wait(
        topics.INTAKE, envelope(call_opened(call_id)), key=team_id.encode()
    )
    await producer.send_and_wait(topics.INTAKE, garbage, key=team_id.encode())
    await producer.send_and_wait(
        topics.INTAKE, envelope(team_accepted(call_id, team_id)), key=team_id.encode()
    )
    body = await wait_for_budget(budget_process, team_id, finance_headers(tmp_path))
    assert body["status"] == "allocated"
    async with TopicReader(kafka_bootstrap, topics.dead_letter_topic("budget")) as reader:
        await reader.read_until(
            lambda records: any(r.value == garbage for r in records), timeout=30
        )
        [parked] = [r for r in reader.records if r.value == garbage]
    headers = {k: v.decode() for k, v in parked.headers}
    assert headers[H_TOPIC] == topics.INTAKE
    assert headers[H_ERROR_CLASS] == "EnvelopeError"
