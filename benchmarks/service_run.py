"""A real consuming service, in-process, applying pre-loaded events: budget, milestones, notify.

One ``call_opened`` (a pot large enough, so budget never refuses) and N ``team_accepted`` are
written to cimis.intake.v1, then the service's app (``services.<name>.bootstrap.create_app``)
is started with a consumer group unique to the run. Before the events are written the group's
offsets are set to the end of every topic the service reads, so the run sees only its own
events, not those an earlier run left on the same broker. A service that keeps the call
(budget's pot, milestones' phase plan) applies it before the teams are written: the call's
key puts it on another partition than most teams, and read after them it would hold them all
back until one last batch, a window with nothing to measure. The time runs from the first
committed batch (the first expected row visible) until every expected row exists and the
outbox is drained. Rows are counted by plain SQL on a separate engine, whose statements are
not counted; every other statement of the process (consumer, relay, background workers) is.
A statement is one cursor execution (a database round trip): an executemany or a multi-row
INSERT counts once, however many rows it writes.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from pydantic import BaseModel
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from benchmarks.workload import bench_call, team_accepted
from cimis_chassis.auth import Role, create_key
from cimis_chassis.database import Database
from cimis_chassis.envelope import make_event, parse_event
from cimis_chassis.kafka import ensure_topics
from cimis_chassis.kafka_client import aiokafka_options
from cimis_contracts import topics

POLL_SECONDS = 0.1
STALL_SECONDS = 60.0


@dataclass(frozen=True)
class Pipeline:
    """What a consuming service makes of the pre-loaded events, and how to count it."""

    service: str
    effect: str  # what one team_accepted costs the service, for the table
    expected: str  # SQL counting the rows the run must produce; ``:call`` is the call id
    # SQL counting 1 once the service has applied the call, if it keeps calls at all.
    call_applied: str | None = None


PIPELINES: dict[str, Pipeline] = {
    p.service: p
    for p in (
        Pipeline(
            "budget",
            "allocation, first tranche, ledger transfers, 2 outbox events",
            "SELECT count(*) FROM team_budgets WHERE call_id = :call",
            "SELECT count(*) FROM pots WHERE call_id = :call",
        ),
        Pipeline(
            "milestones",
            "plan and its milestones, plan-created outbox event",
            "SELECT count(*) FROM plans WHERE call_id = :call",
            "SELECT count(*) FROM call_plans WHERE call_id = :call",
        ),
        Pipeline(
            "notify",
            "team map, team-assigned notification, inbox delivery, outbox event",
            "SELECT count(*) FROM notifications n JOIN teams t ON t.id = n.team_id "
            "WHERE t.call_id = :call",
        ),
    )
}


@dataclass(frozen=True)
class PipelineResult:
    service: str
    database: str
    events: int
    measured_events: int
    seconds: float
    statements: int
    statement_kinds: dict[str, int] = field(default_factory=dict)
    # Records the run put on the service's topic, and how many of them repeat an event id.
    published: int = 0
    duplicate_publications: int = 0

    @property
    def events_per_second(self) -> float:
        return self.measured_events / self.seconds if self.seconds > 0 else 0.0

    @property
    def statements_per_event(self) -> float:
        return self.statements / self.measured_events if self.measured_events else 0.0


_KIND = re.compile(
    r"^\s*(?:(SELECT)\b.*?\bFROM\s+\"?(\w+)|(INSERT)\s+INTO\s+\"?(\w+)|(UPDATE)\s+\"?(\w+)"
    r"|(DELETE)\s+FROM\s+\"?(\w+)|(\w+))",
    re.IGNORECASE | re.DOTALL,
)


def statement_kind(statement: str) -> str:
    """``INSERT inbox``, ``SELECT plans``, ``BEGIN``...: the verb and the first table."""
    match = _KIND.match(statement)
    if match is None:
        return "?"
    words = [g for g in match.groups() if g]
    return " ".join([words[0].upper(), *words[1:]])


class StatementCounter:
    """Counts ``before_cursor_execute`` on every engine but ``ignored`` while ``counting`` is set.

    Listening on the Engine class rather than on the service's engines keeps the benchmark
    off the service host's internals: whatever engines the service makes are counted.
    """

    def __init__(self, ignored: list[Engine]) -> None:
        self.count = 0
        self.kinds: Counter[str] = Counter()
        self.counting = False
        self._ignored = {id(engine) for engine in ignored}
        event.listen(Engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.counting and id(conn.engine) not in self._ignored:
            self.count += 1
            self.kinds[statement_kind(statement)] += 1

    def close(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._on_execute)


async def prepare_topics(bootstrap: str) -> None:
    """Every platform topic, dead-letter topics included, as the operators would create them."""
    await ensure_topics(bootstrap, topics.all_topics())


async def skip_to_end(bootstrap: str, group_id: str, names: tuple[str, ...]) -> None:
    """Commit the end of every partition of ``names`` as ``group_id``'s position."""
    consumer = AIOKafkaConsumer(
        **aiokafka_options(bootstrap), group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = await _topic_partitions(consumer, names)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in ends.items()})
    finally:
        await consumer.stop()


async def _topic_partitions(
    consumer: AIOKafkaConsumer, names: tuple[str, ...]
) -> list[TopicPartition]:
    return [
        TopicPartition(name, p)
        for name in names
        for p in sorted(consumer.partitions_for_topic(name) or await _partitions(consumer, name))
    ]


async def _partitions(consumer: AIOKafkaConsumer, name: str) -> set[int]:
    for _ in range(100):
        await consumer._client.force_metadata_update()
        found = consumer.partitions_for_topic(name)
        if found:
            return set(found)
        await asyncio.sleep(0.1)
    raise RuntimeError(f"topic {name} has no partitions in the broker's metadata")


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**aiokafka_options(bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(await _topic_partitions(consumer, (topic,))))
    finally:
        await consumer.stop()


async def publications(bootstrap: str, since: dict[TopicPartition, int]) -> tuple[int, int]:
    """Records written after ``since`` (end offsets taken before the run) up to the end, and
    how many of them carry an event id seen before: a publication the relay made twice."""
    consumer = AIOKafkaConsumer(**aiokafka_options(bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(since))
        ends = await consumer.end_offsets(list(since))
        for tp, offset in since.items():
            consumer.seek(tp, offset)
        seen: set[str] = set()
        records = duplicates = 0
        while any([await consumer.position(tp) < ends[tp] for tp in since]):
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for batch in batches.values():
                for record in batch:
                    records += 1
                    event_id = parse_event(record.value).id
                    duplicates += event_id in seen
                    seen.add(event_id)
        return records, duplicates
    finally:
        await consumer.stop()


async def preload(bootstrap: str, call_id: str, teams: int, *, call: bool = True) -> None:
    """Write the call's opening (when ``call``) and ``teams`` acceptances to intake's topic."""
    now = datetime.now(UTC)

    def record(payload: BaseModel) -> bytes:
        return make_event(
            source=topics.OWNERS[topics.INTAKE],  # consumers check the topic owner's source
            type_=payload.TYPE,  # type: ignore[attr-defined]
            subject=payload.subject(),  # type: ignore[attr-defined]
            time=now,
            data=payload.model_dump(mode="json"),
        ).to_json_bytes()

    producer = AIOKafkaProducer(**aiokafka_options(bootstrap), enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        if call:
            opened = bench_call(call_id, now)
            await producer.send_and_wait(topics.INTAKE, record(opened), key=call_id.encode())
        for i in range(teams):
            team_id = f"{call_id}-team-{i:06d}"
            accepted = team_accepted(team_id, call_id)
            await producer.send(topics.INTAKE, record(accepted), key=team_id.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def apply_call(
    app: Any, pipeline: Pipeline, call_id: str, bootstrap: str, count: Callable[..., Awaitable[int]]
) -> None:
    """Write the call's opening and run the service until it has applied it; its group's
    offsets are committed then, so the measured run starts with the teams."""
    assert pipeline.call_applied is not None
    await preload(bootstrap, call_id, 0)
    started = time.perf_counter()
    async with app.router.lifespan_context(app):
        while await count(pipeline.call_applied, call=call_id) == 0:
            if time.perf_counter() - started > STALL_SECONDS:
                raise RuntimeError(f"{pipeline.service}: the call was not applied")
            await asyncio.sleep(POLL_SECONDS)


async def run_pipeline(
    pipeline: Pipeline, workdir: Path, bootstrap: str, database_url: str, label: str, teams: int
) -> PipelineResult:
    """Apply ``teams`` pre-loaded team-accepted events with the service's app on ``database_url``."""
    bootstrap_module = importlib.import_module(f"services.{pipeline.service}.bootstrap")
    run = uuid.uuid4().hex[:8]
    keys = workdir / f"{pipeline.service}-keys-{run}.json"
    create_key(keys, role=Role.STAFF, principal="bench")
    settings = bootstrap_module.settings_class(
        kafka_bootstrap_servers=bootstrap,
        database_url=database_url,
        cimis_api_keys_file=keys,
        consumer_group=f"bench-{pipeline.service}-{run}",
        var_dir=workdir / f"var-{pipeline.service}-{run}",
    )
    call_id = f"bench-call-{run}"
    await skip_to_end(bootstrap, settings.consumer_group, topics.CONSUMES[pipeline.service])

    # The benchmark's own polling goes through a separate engine, so it is not counted.
    observer = Database(database_url)

    async def count(sql: str, **params: str) -> int:
        async with observer.sessions() as session:
            return int((await session.execute(text(sql), params)).scalar_one())

    if pipeline.call_applied is not None:
        try:
            await apply_call(
                bootstrap_module.create_app(settings), pipeline, call_id, bootstrap, count
            )
        except BaseException:
            await observer.dispose()
            raise
    output = topics.owned_topic(pipeline.service)
    assert output is not None
    before = await end_offsets(bootstrap, output)
    await preload(bootstrap, call_id, teams, call=pipeline.call_applied is None)
    app = bootstrap_module.create_app(settings)
    counter = StatementCounter([observer.engine.sync_engine, observer.read_engine.sync_engine])

    async def done() -> int:
        return await count(pipeline.expected, call=call_id)

    async def pending() -> int:
        return await count("SELECT count(*) FROM outbox WHERE published_at IS NULL")

    async def wait_for(what: Callable[[], Awaitable[int]], target: int, name: str) -> int:
        """Poll ``what`` until it reaches ``target``; fail if it stands still too long."""
        seen, last_change = -1, time.perf_counter()
        while (now := await what()) != target:
            if now != seen:
                seen, last_change = now, time.perf_counter()
            elif time.perf_counter() - last_change > STALL_SECONDS:
                raise RuntimeError(
                    f"{name} made no progress for {STALL_SECONDS:.0f} s at {now} of {target}"
                )
            await asyncio.sleep(POLL_SECONDS)
        return now

    name = f"{pipeline.service} on {label}"
    try:
        async with app.router.lifespan_context(app):
            last_change = time.perf_counter()
            while (first := await done()) == 0:
                if time.perf_counter() - last_change > STALL_SECONDS:
                    raise RuntimeError(f"{name}: nothing applied within {STALL_SECONDS:.0f} s")
                await asyncio.sleep(0.005)
            started = time.perf_counter()
            counter.counting = True
            # One query at a time, the outbox only at the end: the polling shares the
            # service's process and should take as little from it as it can.
            await wait_for(done, teams, f"{name} (applied)")
            await wait_for(pending, 0, f"{name} (outbox)")
            seconds = time.perf_counter() - started
            counter.counting = False
    finally:
        counter.close()
        await observer.dispose()
    published, duplicates = await publications(bootstrap, before)
    return PipelineResult(
        service=pipeline.service,
        database=label,
        events=teams,
        measured_events=teams - first,
        seconds=seconds,
        statements=counter.count,
        statement_kinds=dict(counter.kinds.most_common()),
        published=published,
        duplicate_publications=duplicates,
    )
