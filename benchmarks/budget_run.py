"""The real budget service, in-process, applying pre-loaded ``team_accepted`` events.

As ``benchmarks.pipeline.bench_budget_allocations`` does: one ``call_opened`` with a pot large
enough and N ``team_accepted`` are written to cimis.intake.v1, then budget's app is started
with a consumer group unique to the run. Before the events are written the group's offsets
are set to the end of every topic budget reads, so the run sees only its own events, not
those an earlier run left on the same broker. The time runs from the first committed batch
(the first allocation visible) until every allocation exists and the outbox is drained.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.pipeline import _team_accepted, bench_call
from cimis_chassis.auth import Role, create_key
from cimis_chassis.database import Database
from cimis_chassis.envelope import make_event
from cimis_chassis.kafka import ensure_topics
from cimis_chassis.kafka_client import aiokafka_options
from cimis_contracts import topics
from cimis_contracts.intake import TeamAcceptedV1

POLL_SECONDS = 0.05
STALL_SECONDS = 60.0


@dataclass(frozen=True)
class BudgetResult:
    database: str
    events: int
    measured_events: int
    seconds: float
    statements: int

    @property
    def events_per_second(self) -> float:
        return self.measured_events / self.seconds if self.seconds > 0 else 0.0

    @property
    def statements_per_event(self) -> float:
        return self.statements / self.measured_events if self.measured_events else 0.0


class StatementCounter:
    """Counts ``before_cursor_execute`` on the service's engines while ``counting`` is set."""

    def __init__(self, engines: list[AsyncEngine]) -> None:
        self.count = 0
        self.counting = False
        self._engines = [engine.sync_engine for engine in {id(e): e for e in engines}.values()]
        for engine in self._engines:
            event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *_: Any) -> None:
        if self.counting:
            self.count += 1

    def close(self) -> None:
        for engine in self._engines:
            event.remove(engine, "before_cursor_execute", self._on_execute)


async def prepare_topics(bootstrap: str) -> None:
    await ensure_topics(bootstrap, {name: topics.DEFAULT_PARTITIONS for name in _consumed()})


def _consumed() -> tuple[str, ...]:
    from services.budget.entrypoints.consumer import CONSUMED_TOPICS

    return CONSUMED_TOPICS


async def skip_to_end(bootstrap: str, group_id: str) -> None:
    """Commit the end of every partition budget reads as ``group_id``'s position."""
    consumer = AIOKafkaConsumer(
        **aiokafka_options(bootstrap), group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(name, p)
            for name in _consumed()
            for p in sorted(
                consumer.partitions_for_topic(name) or await _partitions(consumer, name)
            )
        ]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in ends.items()})
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, name: str) -> set[int]:
    for _ in range(100):
        await consumer._client.force_metadata_update()
        found = consumer.partitions_for_topic(name)
        if found:
            return set(found)
        await asyncio.sleep(0.1)
    raise RuntimeError(f"topic {name} has no partitions in the broker's metadata")


async def preload(bootstrap: str, call_id: str, teams: int) -> None:
    now = datetime.now(UTC)
    opened = bench_call(call_id, now)

    def record(payload: Any) -> bytes:
        return make_event(
            source="cimis/intake",  # budget checks the topic owner's source
            type_=payload.TYPE,
            subject=payload.subject(),
            time=now,
            data=payload.model_dump(mode="json"),
        ).to_json_bytes()

    producer = AIOKafkaProducer(**aiokafka_options(bootstrap), enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        await producer.send_and_wait(topics.INTAKE, record(opened), key=call_id.encode())
        for i in range(teams):
            team_id = f"{call_id}-team-{i:06d}"
            accepted = TeamAcceptedV1.model_validate(_team_accepted(team_id) | {"call_id": call_id})
            await producer.send(topics.INTAKE, record(accepted), key=team_id.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def run_budget(
    workdir: Path, bootstrap: str, database_url: str, label: str, teams: int
) -> BudgetResult:
    """Apply ``teams`` pre-loaded team-accepted events with budget's app on ``database_url``."""
    from services.budget.adapters.tables import team_budgets
    from services.budget.bootstrap import create_app
    from services.budget.settings import BudgetSettings

    run = uuid.uuid4().hex[:8]
    keys = workdir / f"budget-keys-{run}.json"
    create_key(keys, role=Role.FINANCE, principal="bench")
    settings = BudgetSettings(
        kafka_bootstrap_servers=bootstrap,
        database_url=database_url,
        cimis_api_keys_file=keys,
        consumer_group=f"bench-budget-{run}",
    )
    app = create_app(settings)
    call_id = f"bench-call-{run}"
    await skip_to_end(bootstrap, settings.consumer_group)
    await preload(bootstrap, call_id, teams)

    host = app.state.host
    outbox = host.tables.outbox
    # The benchmark's own polling goes through a separate engine, so it is not counted.
    observer = Database(database_url)
    counter = StatementCounter([host.db.engine, host.db.read_engine])

    async def allocated() -> int:
        async with observer.sessions() as session:
            query = select(func.count()).where(team_budgets.c.call_id == call_id)
            return int((await session.execute(query)).scalar_one())

    async def pending() -> int:
        async with observer.sessions() as session:
            query = select(func.count()).where(outbox.c.published_at.is_(None))
            return int((await session.execute(query)).scalar_one())

    try:
        async with app.router.lifespan_context(app):
            while (first := await allocated()) == 0:
                await asyncio.sleep(0.005)
            started = time.perf_counter()
            counter.counting = True
            progress, last_change = (first, 0), time.perf_counter()
            while (now := (await allocated(), await pending())) != (teams, 0):
                if now != progress:
                    progress, last_change = now, time.perf_counter()
                elif time.perf_counter() - last_change > STALL_SECONDS:
                    raise RuntimeError(
                        f"budget on {label} made no progress for {STALL_SECONDS:.0f} s: "
                        f"{now[0]} of {teams} allocated, {now[1]} outbox rows pending"
                    )
                await asyncio.sleep(POLL_SECONDS)
            seconds = time.perf_counter() - started
            counter.counting = False
    finally:
        counter.close()
        await observer.dispose()
    return BudgetResult(
        database=label,
        events=teams,
        measured_events=teams - first,
        seconds=seconds,
        statements=counter.count,
    )
