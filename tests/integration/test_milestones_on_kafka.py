"""Two milestones processes on one PostgreSQL database and Kafka: plans out, started by budget's
allocation, each alert once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import create_engine, pool, select

import cimis_contracts.catalog  # noqa: F401  (registers every event type for decode_data)
from benchmarks.service_run import skip_to_end
from cimis_chassis.auth import Role, create_key
from cimis_chassis.database import sync_url
from cimis_chassis.envelope import CloudEvent, make_event, parse_event
from cimis_chassis.kafka import ensure_topics
from cimis_chassis.kafka_client import aiokafka_options
from cimis_contracts import topics
from cimis_contracts.base import EventData, decode_data
from cimis_contracts.budget import BudgetAllocatedV1
from cimis_contracts.intake import CallOpenedV1, PhaseStep, TeamAcceptedV1
from cimis_contracts.milestones import MilestoneOverdueV1, PlanCreatedV1
from services.milestones.adapters.tables import call_plans
from tests.contract.databases import migrated_postgres_database, migrations_of
from tests.support.processes import Condition, Record, ServiceProcess, read_topic_until
from tests.unit.milestones.builders import FIVE_STEPS

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

MODULE = "services.milestones.entrypoints.main"
CREATED = PlanCreatedV1.TYPE
OVERDUE = MilestoneOverdueV1.TYPE
THIRTY_DAYS = str(int(timedelta(days=30).total_seconds()))


@dataclass
class Platform:
    bootstrap_servers: str
    database_url: str
    instances: list[ServiceProcess]
    admin_token: str

    async def restart_all(self, **env: str) -> None:
        for process in self.instances:
            await process.stop()
        for process in self.instances:
            process.env.update(env)
            await process.start()

    async def plan(self, team_id: str, instance: int = 0) -> httpx.Response:
        async with httpx.AsyncClient(
            base_url=self.instances[instance].base_url, timeout=30.0
        ) as client:
            return await client.get(
                f"/api/v1/teams/{team_id}/milestones",
                headers={"Authorization": f"Bearer {self.admin_token}"},
            )


@pytest.fixture(scope="module")
def database_url(postgres_url: str) -> Iterator[str]:
    # Migrated here, once: two processes migrating an empty database at the same moment
    # would race (see the issue note).
    with migrated_postgres_database(postgres_url, migrations_of("milestones")) as url:
        yield url


@pytest.fixture(scope="module")
async def platform(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, database_url: str
) -> AsyncIterator[Platform]:
    tmp = tmp_path_factory.mktemp("milestones-processes")
    keys_file = tmp / "api-keys.json"
    token = create_key(keys_file, role=Role.ADMIN, principal="tests")
    # One group for both instances, and no other process of the session in it.
    group = f"cimis-milestones-test-{uuid.uuid4().hex[:12]}"
    instances = [
        _process(tmp, n, kafka_bootstrap, database_url, keys_file, group) for n in range(2)
    ]
    # The session's broker holds every earlier test's events: a new group would read them all
    # (poison records included) before this module's own. Start it at the end instead.
    await ensure_topics(kafka_bootstrap, topics.all_topics())
    await skip_to_end(kafka_bootstrap, group, topics.CONSUMES["milestones"])
    try:
        # One after the other, so the second finds the schema and the topics in place.
        for process in instances:
            await process.start()
        yield Platform(kafka_bootstrap, database_url, instances, token)
    finally:
        for process in instances:
            await process.stop()


def _process(
    tmp: Path, n: int, bootstrap: str, database_url: str, keys_file: Path, group: str
) -> ServiceProcess:
    return ServiceProcess(
        MODULE,
        name=f"milestones-{n}",
        log_path=tmp / f"milestones-{n}.log",
        env={
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "DATABASE_URL": database_url,
            "CIMIS_API_KEYS_FILE": str(keys_file),
            "VAR_DIR": str(tmp / f"var-{n}"),
            "LOG_JSON": "false",
            "OUTBOX_POLL_SECONDS": "0.1",
            "OVERDUE_SCAN_SECONDS": "0.2",
            "CIMIS_CLOCK_OFFSET_SECONDS": "0",
            "CONSUMER_GROUP": group,
        },
    )


async def publish(bootstrap_servers: str, *payloads: EventData) -> list[CloudEvent]:
    """Publish intake's or budget's events as they would: CloudEvents keyed by their subject,
    on their own topic."""
    producer = AIOKafkaProducer(**aiokafka_options(bootstrap_servers), enable_idempotence=True)
    await producer.start()
    sent = []
    try:
        for payload in payloads:
            event = make_event(
                source=topics.OWNERS[payload.TOPIC],
                type_=payload.TYPE,
                subject=payload.subject(),
                time=datetime.now(UTC),
                data=payload.model_dump(mode="json"),
            )
            await producer.send_and_wait(
                payload.TOPIC, event.to_json_bytes(), key=payload.subject().encode()
            )
            sent.append(event)
    finally:
        await producer.stop()
    return sent


def call_opened(call_id: str, steps: list[PhaseStep]) -> CallOpenedV1:
    return CallOpenedV1(
        call_id=call_id,
        title="CIMIS III",
        districts=["Erzgebirgskreis"],
        opens_at=datetime.now(UTC) - timedelta(days=60),
        closes_at=datetime.now(UTC) - timedelta(days=1),
        total_budget_cents=500_000_00,
        max_team_budget_cents=50_000_00,
        tranches=[],
        phase_plan=steps,
    )


def team_accepted(call_id: str, accepted_at: datetime) -> TeamAcceptedV1:
    return TeamAcceptedV1(
        team_id=str(uuid.uuid4()),
        call_id=call_id,
        title="Erzgebirge digital",
        agent_id="agent-anna",
        budget_cents=45_000_00,
        input_vat_deductible=False,
        company_application_id=str(uuid.uuid4()),
        creative_application_ids=[str(uuid.uuid4())],
        accepted_at=accepted_at,
    )


def allocated(accepted: TeamAcceptedV1) -> BudgetAllocatedV1:
    """Budget's allocation of the team's money, on acceptance: its plan runs from then."""
    return BudgetAllocatedV1(
        team_id=accepted.team_id,
        call_id=accepted.call_id,
        allocated_cents=accepted.budget_cents,
        pot_available_cents=0,
        allocated_at=accepted.accepted_at,
    )


def events(
    records: Sequence[Record], *, subject: str, type_: str
) -> list[tuple[Record, CloudEvent]]:
    found = []
    for record in records:
        if record.key != subject.encode():  # the topic is shared with other tests' records
            continue
        event = parse_event(record.value)
        if event.subject == subject and event.type == type_:
            found.append((record, event))
    return found


def has(subject: str, type_: str, count: int = 1) -> Condition:
    def condition(records: Sequence[Record]) -> bool:
        return len(events(records, subject=subject, type_=type_)) >= count

    return condition


async def wait_for_call_plan(database_url: str, call_id: str) -> None:
    """Until one instance has stored the call's template (call and team keys are unordered)."""
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        async with asyncio.timeout(60):
            while True:
                with engine.connect() as conn:
                    query = select(call_plans.c.call_id).where(call_plans.c.call_id == call_id)
                    if conn.execute(query).first() is not None:
                        return
                await asyncio.sleep(0.2)
    finally:
        engine.dispose()


async def test_a_team_accepted_in_gives_one_plan_created_out(platform: Platform) -> None:
    call_id = str(uuid.uuid4())
    steps = [
        PhaseStep(key="kickoff", title="Auftakt", days_after_acceptance=10),
        PhaseStep(key="prototype", title="Prototyp", days_after_acceptance=60),
        PhaseStep(key="final", title="Abschluss", days_after_acceptance=90),
    ]
    await publish(platform.bootstrap_servers, call_opened(call_id, steps))
    await wait_for_call_plan(platform.database_url, call_id)
    accepted = team_accepted(call_id, datetime.now(UTC))

    [sent] = await publish(platform.bootstrap_servers, accepted)

    records = await read_topic_until(
        platform.bootstrap_servers,
        topics.MILESTONES,
        has(accepted.team_id, CREATED),
        timeout=60,
        settle=2.0,
    )
    [(record, event)] = events(records, subject=accepted.team_id, type_=CREATED)
    assert record.key == accepted.team_id.encode()
    assert event.source == "cimis/milestones"
    assert event.correlationid == sent.correlationid
    assert event.causationid == sent.id
    data = decode_data(event)
    assert isinstance(data, PlanCreatedV1)
    assert [m.key for m in data.milestones] == ["kickoff", "prototype", "final"]
    for instance in (0, 1):
        response = await platform.plan(accepted.team_id, instance)
        assert response.status_code == 200, response.text
        assert response.json()["template"] == "call"
        # Nothing from budget yet: the plan waits for the team's money.
        assert response.json()["plan_status"] == "pending_budget"


async def test_two_instances_alert_each_overdue_milestone_once_across_restart_and_clock_move(
    platform: Platform,
) -> None:
    # Accepted and funded 20 days ago on the five-step plan: the kick-off (14 days, at most 4
    # more to the next Saxon working day) is overdue already, the workshop (42 days) only once
    # the clock has moved 30 days on. The acceptance
    # goes first: its plan waits for the call's; budget's allocation, on its own topic, may
    # come before or after either.
    accepted = team_accepted(str(uuid.uuid4()), datetime.now(UTC) - timedelta(days=20))
    await publish(
        platform.bootstrap_servers,
        accepted,
        allocated(accepted),
        call_opened(accepted.call_id, FIVE_STEPS),
    )

    records = await read_topic_until(
        platform.bootstrap_servers,
        topics.MILESTONES,
        has(accepted.team_id, OVERDUE),
        timeout=60,
        settle=3.0,
    )
    alerts = events(records, subject=accepted.team_id, type_=OVERDUE)
    assert [e.data["key"] for _, e in alerts] == ["kickoff"]

    await platform.restart_all(CIMIS_CLOCK_OFFSET_SECONDS=THIRTY_DAYS)

    records = await read_topic_until(
        platform.bootstrap_servers,
        topics.MILESTONES,
        has(accepted.team_id, OVERDUE, count=2),
        timeout=60,
        settle=3.0,
    )
    alerts = events(records, subject=accepted.team_id, type_=OVERDUE)
    assert [e.data["key"] for _, e in alerts] == ["kickoff", "workshop"]
    assert all(r.key == accepted.team_id.encode() for r, _ in alerts)
    plan = (await platform.plan(accepted.team_id, 1)).json()
    assert [m["status"] for m in plan["items"]] == ["overdue", "overdue", "open", "open", "open"]
