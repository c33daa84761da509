"""No record can stop a consumer: each poison kind is parked once and the partitions move on.

Runs the real budget service against the real broker. Every kind is written to the intake
topic on partition 0; an ordinary team on another partition must be allocated within seconds,
and exactly one dead letter must name the poison record's origin.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from cimis_chassis.auth import Role, create_key
from cimis_chassis.dead_letters import (
    H_DIGEST,
    H_ERROR,
    H_OFFSET,
    H_PARTITION,
    H_SIZE,
    H_TOPIC,
    H_TRUNCATED,
    PREFIX_BYTES,
    Origin,
    read_original,
)
from cimis_chassis.envelope import make_event
from cimis_chassis.kafka_client import aiokafka_options
from cimis_contracts import topics
from cimis_contracts.milestones import MilestoneCompletedV1
from tests.integration.test_budget_on_kafka import (
    budget_service,
    call_opened,
    envelope,
    team_accepted,
    wait_for_budget,
)
from tests.support.processes import Record, ServiceProcess, TopicReader

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

TWO_MIB = 2 << 20
POISON_PARTITION = 0
DLQ = topics.dead_letter_topic("budget")


@dataclass(frozen=True)
class Poison:
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    reason: str = ""  # a fragment the parked record's x-error must contain


def _event(type_: str, data: dict[str, object], *, source: str = "cimis/intake") -> bytes:
    return make_event(
        source=source, type_=type_, subject="team-x", time=datetime.now(UTC), data=data
    ).to_json_bytes()


def _accepted_with_title(title: str) -> bytes:
    payload = team_accepted("call-poison", "team-poison").model_dump(mode="json")
    payload["title"] = title
    return _event("de.cimis.intake.team_accepted.v1", payload)


def _envelope_with(**fields: object) -> bytes:
    body = json.loads(_accepted_with_title("Team"))
    body.update(fields)
    return json.dumps(body).encode()


def _forged_completion() -> bytes:
    data = MilestoneCompletedV1(
        team_id="team-x",
        call_id="call-x",
        milestone_id="m-1",
        key="final",
        completed_by="mallory",
        completed_at=datetime.now(UTC),
    ).model_dump(mode="json")
    return _event(MilestoneCompletedV1.TYPE, data)


POISON: dict[str, Callable[[], Poison]] = {
    "compressed-2mb": lambda: Poison(b"X" * TWO_MIB, reason="larger than"),
    "nesting-100k": lambda: Poison(b"[" * 100_000 + b"]" * 100_000, reason="nested too deeply"),
    "2mb-string-in-valid-event": lambda: Poison(
        _accepted_with_title("T" * TWO_MIB), reason="larger than"
    ),
    "900kb-title": lambda: Poison(_accepted_with_title("T" * 900_000), reason="larger than"),
    "long-title-within-size": lambda: Poison(_accepted_with_title("T" * 5_000), reason="title"),
    "invalid-utf8": lambda: Poison(b'{"id": "\xff\xfe\xfd"}', reason="not JSON"),
    "json-array": lambda: Poison(b"[1, 2, 3]", reason="not a JSON object"),
    "null": lambda: Poison(b"null", reason="not a JSON object"),
    "unknown-type": lambda: Poison(
        _envelope_with(type="de.cimis.intake.nothing.v1"), reason="unknown event type"
    ),
    "unknown-version": lambda: Poison(
        _envelope_with(type="de.cimis.intake.team_accepted.v9"), reason="unknown event type"
    ),
    "wrong-specversion": lambda: Poison(_envelope_with(specversion="0.3"), reason="specversion"),
    "header-only": lambda: Poison(None, headers=(("x-note", b"no value"),), reason="no value"),
    "type-of-another-topic": lambda: Poison(_forged_completion(), reason="belongs on"),
    "foreign-source": lambda: Poison(_envelope_with(source="cimis/budget"), reason="owner"),
}


@dataclass
class Budget:
    process: ServiceProcess
    headers: dict[str, str]


@pytest.fixture(scope="module")
async def budget(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str
) -> AsyncIterator[Budget]:
    tmp_path = tmp_path_factory.mktemp("poison-budget")
    process = budget_service(tmp_path, kafka_bootstrap)
    token = create_key(tmp_path / "api-keys.json", role=Role.FINANCE, principal="frank")
    async with process:
        yield Budget(process, {"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    # An attacker's producer: large requests and gzip, so the broker takes a 2 MB value.
    producer = AIOKafkaProducer(
        **aiokafka_options(kafka_bootstrap), max_request_size=8 << 20, compression_type="gzip"
    )
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


def _origin_of(record: Record) -> Origin | None:
    headers = {k: v.decode() for k, v in record.headers}
    if H_TOPIC not in headers:
        return None
    return Origin(headers[H_TOPIC], int(headers[H_PARTITION]), int(headers[H_OFFSET]))


@pytest.mark.parametrize("kind", sorted(POISON))
async def test_a_poison_record_is_parked_once_and_other_partitions_move_on(
    kind: str,
    budget: Budget,
    producer: AIOKafkaProducer,
    kafka_bootstrap: str,
) -> None:
    poison = POISON[kind]()
    meta = await producer.send_and_wait(
        topics.INTAKE,
        poison.value,
        key=b"team-poison",
        partition=POISON_PARTITION,
        headers=list(poison.headers) or None,
    )
    origin = Origin(topics.INTAKE, POISON_PARTITION, meta.offset)

    call_id, team_id = f"call-{uuid.uuid4().hex[:8]}", f"team-{uuid.uuid4().hex[:8]}"
    for payload in (call_opened(call_id), team_accepted(call_id, team_id)):
        await producer.send_and_wait(
            topics.INTAKE, envelope(payload), key=team_id.encode(), partition=3
        )
    allocated = await wait_for_budget(budget.process, team_id, budget.headers, timeout=20)
    assert allocated["status"] == "allocated"

    async with TopicReader(kafka_bootstrap, DLQ) as reader:
        records = await reader.read_until(
            lambda rs: any(_origin_of(r) == origin for r in rs), timeout=20, settle=2.0
        )
    parked = [r for r in records if _origin_of(r) == origin]
    assert len(parked) == 1, f"{len(parked)} dead letters for {origin}"
    letter = parked[0]
    letter_headers = {k: v.decode() for k, v in letter.headers}
    assert poison.reason in letter_headers[H_ERROR], letter_headers[H_ERROR]
    value = poison.value or b""
    assert letter_headers[H_SIZE] == str(len(value))
    assert letter_headers[H_DIGEST] == hashlib.sha256(value).hexdigest()
    if len(value) > 1_000_000:
        # Too large to forward whole: a bounded summary, and the original stays readable.
        assert letter_headers[H_TRUNCATED] == "true"
        assert letter.value == value[:PREFIX_BYTES]
        original = await read_original(kafka_bootstrap, origin)
        assert original is not None
        assert original.value == value
    else:
        assert H_TRUNCATED not in letter_headers
        assert (letter.value or b"") == value


async def test_a_restarted_consumer_does_not_park_a_record_again(
    tmp_path: Path, budget: Budget, producer: AIOKafkaProducer, kafka_bootstrap: str
) -> None:
    meta = await producer.send_and_wait(
        topics.INTAKE, b"{not json", key=b"team-restart", partition=POISON_PARTITION
    )
    origin = Origin(topics.INTAKE, POISON_PARTITION, meta.offset)
    async with TopicReader(kafka_bootstrap, DLQ) as reader:
        await reader.read_until(lambda rs: any(_origin_of(r) == origin for r in rs), timeout=20)

    # A second run under a new group reads the whole topic again, the parked record included.
    budget.process.env["CONSUMER_GROUP"] = f"cimis-budget-test-{uuid.uuid4().hex[:8]}"
    await budget.process.kill()
    await budget.process.start()
    call_id, team_id = f"call-{uuid.uuid4().hex[:8]}", f"team-{uuid.uuid4().hex[:8]}"
    for payload in (call_opened(call_id), team_accepted(call_id, team_id)):
        await producer.send_and_wait(
            topics.INTAKE, envelope(payload), key=team_id.encode(), partition=POISON_PARTITION
        )
    await wait_for_budget(budget.process, team_id, budget.headers, timeout=60)
    async with TopicReader(kafka_bootstrap, DLQ) as reader:
        records = await reader.read_for(2.0)
    assert sum(1 for r in records if _origin_of(r) == origin) == 1


async def test_cimis_dlq_shows_the_original_of_a_record_parked_as_a_summary(
    tmp_path: Path, budget: Budget, producer: AIOKafkaProducer, kafka_bootstrap: str
) -> None:
    original = b"Y" * TWO_MIB
    meta = await producer.send_and_wait(
        topics.INTAKE, original, key=b"team-show", partition=POISON_PARTITION
    )
    origin = Origin(topics.INTAKE, POISON_PARTITION, meta.offset)
    async with TopicReader(kafka_bootstrap, DLQ) as reader:
        records = await reader.read_until(
            lambda rs: any(_origin_of(r) == origin for r in rs), timeout=20
        )
    [letter] = [r for r in records if _origin_of(r) == origin]

    out = tmp_path / "original.bin"
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from cimis_cli.main import main; main()",
        "dlq",
        "show",
        "budget",
        str(letter.offset),
        "--output",
        str(out),
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    printed, _ = await asyncio.wait_for(cli.communicate(), timeout=60)
    assert cli.returncode == 0, printed.decode()
    assert f"{H_TRUNCATED}: true" in printed.decode()
    assert out.read_bytes() == original
