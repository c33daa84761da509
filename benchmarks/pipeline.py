"""Measures the chassis pipeline on a real broker: outbox relay, batch consumer, intake API.

Run with ``make benchmark`` (or ``python -m benchmarks.pipeline --events 20000``). Uses
``KAFKA_BOOTSTRAP_SERVERS`` when set, otherwise starts a local broker for the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Column, MetaData, String, Table, func, insert, select

from cimis_chassis.auth import Role, create_key
from cimis_chassis.clock import SystemClock
from cimis_chassis.consumer import EventConsumer
from cimis_chassis.database import Database
from cimis_chassis.envelope import CloudEvent, make_event
from cimis_chassis.kafka import ensure_topics, make_broker
from cimis_chassis.kafka_client import aiokafka_options
from cimis_chassis.metrics import ServiceMetrics
from cimis_chassis.outbox import outbox_row, write_outbox
from cimis_chassis.service_host import ServiceHost
from cimis_chassis.settings import ServiceSettings
from cimis_chassis.tables import add_chassis_tables
from cimis_chassis.unit_of_work import UnitOfWork
from cimis_contracts.intake import CallOpenedV1, PhaseStep, TeamAcceptedV1, TrancheRule
from cimis_contracts.topics import dead_letter_topic
from cimis_devtools.kafka_access import ADMIN, KafkaAccess
from cimis_devtools.kafka_local import LocalKafka


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100)
    return f"p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms"


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _team_accepted(team_id: str) -> dict[str, Any]:
    return TeamAcceptedV1(
        team_id=team_id,
        call_id="bench-call",
        title="Bench team",
        agent_id="agent-bench",
        budget_cents=40_000_00,
        input_vat_deductible=False,
        company_application_id="co",
        creative_application_ids=["cr"],
        accepted_at=datetime.now(UTC),
    ).model_dump(mode="json")


class BenchService:
    """A service on the chassis whose consumer records each team it sees."""

    def __init__(self, workdir: Path, bootstrap: str, topic: str) -> None:
        self.name = f"bench{uuid.uuid4().hex[:6]}"
        metadata = MetaData()
        self.tables = add_chassis_tables(metadata)
        self.seen = Table("seen", metadata, Column("team_id", String(36), primary_key=True))
        self.metadata = metadata
        settings = ServiceSettings(
            service_name=self.name,
            kafka_bootstrap_servers=bootstrap,
            database_url=f"sqlite:///{workdir / (self.name + '.db')}",
            outbox_batch_size=2000,
        )
        metrics = ServiceMetrics(self.name)
        self.host = ServiceHost(
            name=self.name,
            settings=settings,
            clock=SystemClock(),
            db=Database(settings.database_url),
            tables=self.tables,
            broker=make_broker(
                bootstrap, client_id=self.name, registry=metrics.registry, service=self.name
            ),
            metrics=metrics,
            topics={topic: 6, dead_letter_topic(self.name): 1},
        )
        self.topic = topic

    def consume(self) -> None:
        EventConsumer(
            self.host, topics=[self.topic], handlers={TeamAcceptedV1: self.on_accepted}
        ).register(self.host.broker)

    async def on_accepted(self, uow: UnitOfWork, payload: TeamAcceptedV1, _: CloudEvent) -> None:
        await uow.session.execute(insert(self.seen).values(team_id=payload.team_id))

    async def seen_count(self) -> int:
        async with self.host.db.sessions() as session:
            return int(
                (await session.execute(select(func.count()).select_from(self.seen))).scalar_one()
            )

    async def pending(self) -> int:
        o = self.tables.outbox
        async with self.host.db.sessions() as session:
            query = select(func.count()).where(o.c.published_at.is_(None))
            return int((await session.execute(query)).scalar_one())


async def bench_relay_and_consumer(workdir: Path, bootstrap: str, events: int) -> None:
    topic = f"cimis.bench.{uuid.uuid4().hex[:6]}"
    producer = BenchService(workdir, bootstrap, topic)
    async with producer.host.db.engine.begin() as conn:
        await conn.run_sync(producer.metadata.create_all)
    now = datetime.now(UTC)
    started = time.perf_counter()
    for chunk in range(0, events, 1000):
        async with producer.host.db.transaction() as session:
            rows = []
            for i in range(chunk, min(chunk + 1000, events)):
                team_id = f"team-{i:07d}"
                event = make_event(
                    source="cimis/bench",
                    type_=TeamAcceptedV1.TYPE,
                    subject=team_id,
                    time=now,
                    data=_team_accepted(team_id),
                )
                rows.append(outbox_row(event, topic=topic, key=team_id))
            await write_outbox(session, producer.tables.outbox, rows)
    write_seconds = time.perf_counter() - started
    print(
        f"outbox writes      {events / write_seconds:>9.0f} events/s  (SQLite, 1000 per transaction)"
    )

    await ensure_topics(bootstrap, producer.host.topics)
    started = time.perf_counter()
    await producer.host.start()
    while await producer.pending():
        await asyncio.sleep(0.05)
    relay_seconds = time.perf_counter() - started
    await producer.host.stop()
    print(
        f"outbox relay       {events / relay_seconds:>9.0f} events/s  (confirmed by Kafka, acks=all, idempotent)"
    )

    consumer = BenchService(workdir, bootstrap, topic)
    async with consumer.host.db.engine.begin() as conn:
        await conn.run_sync(consumer.metadata.create_all)
    consumer.consume()
    await consumer.host.start()
    while await consumer.seen_count() == 0:
        await asyncio.sleep(0.01)
    started, first = time.perf_counter(), await consumer.seen_count()
    while (seen := await consumer.seen_count()) < events:
        await asyncio.sleep(0.05)
    consume_seconds = time.perf_counter() - started
    await consumer.host.stop()
    print(
        f"batch consumer     {(seen - first) / consume_seconds:>9.0f} events/s  "
        f"(inbox + effect per event, one transaction per batch of up to 500)"
    )


async def bench_intake_api(workdir: Path, bootstrap: str, teams: int) -> None:
    from services.intake.bootstrap import create_app
    from services.intake.settings import IntakeSettings

    keys = workdir / "keys.json"
    token = create_key(keys, role=Role.STAFF, principal="bench")
    settings = IntakeSettings(
        kafka_bootstrap_servers=bootstrap,
        database_url=f"sqlite:///{workdir / 'intake.db'}",
        cimis_api_keys_file=keys,
        # One key at full speed: measure the service, not the per-key rate limit.
        http_rate_per_key_per_second=1e6,
        http_rate_burst_per_key=10**6,
    )
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {token}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            call = (
                await client.post(
                    "/api/v1/calls",
                    headers=headers,
                    json={
                        "title": "Bench",
                        "districts": ["Chemnitz"],
                        "opens_at": "2024-01-01",
                        "closes_at": "2099-01-01",
                        "total_budget": "99999999.00",
                        "max_team_budget": "50000.00",
                    },
                )
            ).json()
            accept_latency: list[float] = []
            for i in range(teams):
                company = (
                    await client.post(
                        "/api/v1/applications",
                        headers=headers,
                        json={
                            "call_id": call["id"],
                            "kind": "company",
                            "name": f"Firma {i}",
                            "contact_email": "f@example.org",
                            "district": "Chemnitz",
                            "employees": 10,
                            "annual_turnover": "100000.00",
                            "de_minimis_prior_aid": "0.00",
                            "challenge": "x",
                        },
                    )
                ).json()
                creative = (
                    await client.post(
                        "/api/v1/applications",
                        headers=headers,
                        json={
                            "call_id": call["id"],
                            "kind": "creative",
                            "name": f"K {i}",
                            "contact_email": "k@example.org",
                            "district": "Chemnitz",
                            "expertise": "Design",
                        },
                    )
                ).json()
                team = (
                    await client.post(
                        "/api/v1/teams",
                        headers=headers,
                        json={
                            "call_id": call["id"],
                            "title": f"T{i}",
                            "challenge": "x",
                            "company_application_id": company["id"],
                            "creative_application_ids": [creative["id"]],
                            "agent_id": "agent-bench",
                            "budget": "1000.00",
                        },
                    )
                ).json()
                started = time.perf_counter()
                response = await client.post(f"/api/v1/teams/{team['id']}/accept", headers=headers)
                accept_latency.append(time.perf_counter() - started)
                response.raise_for_status()
    print(
        f"intake accept      {_percentiles(accept_latency)}  ({teams} teams, in-process ASGI, SQLite)"
    )


def bench_call(call_id: str, now: datetime) -> CallOpenedV1:
    """A call whose pot never refuses a benchmark team."""
    return CallOpenedV1(
        call_id=call_id,
        title="Bench",
        districts=["Chemnitz"],
        opens_at=now,
        closes_at=now,
        total_budget_cents=10**12,
        max_team_budget_cents=50_000_00,
        tranches=[
            TrancheRule(milestone=None, percent=40),
            TrancheRule(milestone="final", percent=60),
        ],
        phase_plan=[PhaseStep(key="final", title="Abschluss", days_after_acceptance=180)],
    )


async def bench_budget_allocations(workdir: Path, bootstrap: str, teams: int) -> None:
    """Budget's consumer applying team-accepted events: allocation, tranche, ledger, outbox."""
    from aiokafka import AIOKafkaProducer

    from cimis_chassis.envelope import make_event as envelope
    from services.budget.adapters.tables import team_budgets
    from services.budget.bootstrap import create_app as create_budget
    from services.budget.settings import BudgetSettings

    keys = workdir / "budget-keys.json"
    create_key(keys, role=Role.FINANCE, principal="bench")
    settings = BudgetSettings(
        kafka_bootstrap_servers=bootstrap,
        database_url=f"sqlite:///{workdir / 'budget.db'}",
        cimis_api_keys_file=keys,
        consumer_group=f"bench-budget-{uuid.uuid4().hex[:6]}",
    )
    app = create_budget(settings)
    call_id = f"bench-call-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    opened = bench_call(call_id, now)
    producer = AIOKafkaProducer(**aiokafka_options(bootstrap), enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:

        def record(payload: Any) -> bytes:
            return envelope(
                # Budget takes intake's events only from intake (ARCHITECTURE §3).
                source="cimis/intake",
                type_=payload.TYPE,
                subject=payload.subject(),
                time=now,
                data=payload.model_dump(mode="json"),
            ).to_json_bytes()

        await producer.send_and_wait("cimis.intake.v1", record(opened), key=call_id.encode())
        for i in range(teams):
            team_id = f"{call_id}-team-{i:05d}"
            accepted = TeamAcceptedV1.model_validate(_team_accepted(team_id) | {"call_id": call_id})
            await producer.send("cimis.intake.v1", record(accepted), key=team_id.encode())
        await producer.flush()
    finally:
        await producer.stop()

    async def allocated() -> int:
        async with app.state.host.db.sessions() as session:
            query = select(func.count()).where(team_budgets.c.call_id == call_id)
            return int((await session.execute(query)).scalar_one())

    async with app.router.lifespan_context(app):
        while await allocated() == 0:
            await asyncio.sleep(0.01)
        started, first = time.perf_counter(), await allocated()
        while (done := await allocated()) < teams:
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
    print(
        f"budget allocations {(done - first) / seconds:>9.0f} events/s  "
        f"(team-accepted -> allocation, first tranche, 3 ledger transfers, 2 outbox events each)"
    )


async def main(events: int, teams: int) -> None:
    with tempfile.TemporaryDirectory(prefix="cimis-bench-") as tmp:
        workdir = Path(tmp)
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        kafka: LocalKafka | None = None
        if not bootstrap:
            access = KafkaAccess.load_or_create(workdir / "kafka-clients", env={})
            kafka = LocalKafka(workdir / "kafka", access=access)
            kafka.start()
            bootstrap = kafka.bootstrap_servers
            # The benchmark's in-process services and clients connect as the operators' admin.
            os.environ["KAFKA_CLIENT_CONFIG"] = str(access.client_file(ADMIN))
        try:
            print(f"CIMIS pipeline benchmark: {events} events, {teams} teams, broker {bootstrap}")
            await bench_relay_and_consumer(workdir, bootstrap, events)
            await bench_intake_api(workdir, bootstrap, teams)
            await bench_budget_allocations(workdir, bootstrap, max(teams, 1000))
            print(f"peak RSS           {_rss_mib():>9.0f} MiB (this process)")
        finally:
            if kafka is not None:
                kafka.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--teams", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.teams))
