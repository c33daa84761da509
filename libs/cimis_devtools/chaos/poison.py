"""Poison records and exact duplicates, written straight onto the platform topics."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from cimis_chassis.envelope import EnvelopeError, parse_event
from cimis_contracts.topics import CONSUMES
from cimis_devtools.chaos.broker_state import read_all
from cimis_devtools.chaos.platform import Platform

TWO_MB = 2 << 20
INTAKE, BUDGET, MILESTONES = "cimis.intake.v1", "cimis.budget.v1", "cimis.milestones.v1"
# Kinds whose value claims to be an intake event stay on intake's topic.
INTAKE_ONLY = frozenset({"huge-title", "unknown-version", "forged"})
KINDS = (
    "compressed-2mb",
    "deep-nesting",
    "huge-title",
    "invalid-utf8",
    "json-array",
    "json-null",
    "unknown-type",
    "unknown-version",
    "wrong-specversion",
    "none-value",
    "forged",
)


@dataclass(frozen=True)
class Injected:
    kind: str
    topic: str
    partition: int
    offset: int

    def dead_letter_topics(self) -> list[str]:
        return [f"cimis.{c}.dlq" for c, topics in CONSUMES.items() if self.topic in topics]


@dataclass(frozen=True)
class Target:
    """Real ids the forged and oversized events name, so that applying them would move money."""

    call_id: str
    team_id: str
    agent_id: str


def topic_for(kind: str, rng: random.Random) -> str:
    return INTAKE if kind in INTAKE_ONLY else rng.choice((INTAKE, BUDGET, MILESTONES))


def _envelope(type_: str, source: str, subject: str, data: dict[str, Any], **extra: Any) -> bytes:
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": type_,
        "subject": subject,
        "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    } | extra
    return json.dumps(body).encode()


def _accepted(target: Target, title: str) -> dict[str, Any]:
    return {
        "team_id": str(uuid.uuid4()),
        "call_id": target.call_id,
        "title": title,
        "agent_id": target.agent_id,
        "budget_cents": 100,
        "input_vat_deductible": False,
        "company_application_id": str(uuid.uuid4()),
        "creative_application_ids": [str(uuid.uuid4())],
        "accepted_at": datetime.now(UTC).isoformat(),
    }


def poison_value(kind: str, topic: str, target: Target) -> bytes | None:
    service = topic.split(".")[1]
    source = f"cimis/{service}"
    match kind:
        case "compressed-2mb":
            return b'{"padding": "' + b"x" * TWO_MB + b'"}'
        case "deep-nesting":
            return b"[" * 100_000 + b"]" * 100_000
        case "huge-title":
            data = _accepted(target, "T" * TWO_MB)
            return _envelope("de.cimis.intake.team_accepted.v1", source, data["team_id"], data)
        case "invalid-utf8":
            return b'{"specversion": "1.0", "id": "\xff\xfe\xfa"}'
        case "json-array":
            return b'[{"specversion": "1.0"}]'
        case "json-null":
            return b"null"
        case "unknown-type":
            return _envelope(f"de.cimis.{service}.team_exploded.v1", source, "x", {"a": 1})
        case "unknown-version":
            data = _accepted(target, "Version aus der Zukunft")
            return _envelope("de.cimis.intake.team_accepted.v9", source, data["team_id"], data)
        case "wrong-specversion":
            data = _accepted(target, "Alte Spezifikation")
            value = _envelope("de.cimis.intake.team_accepted.v1", source, "x", data)
            return value.replace(b'"specversion": "1.0"', b'"specversion": "0.3"')
        case "none-value":
            return None
        case "forged":
            # Intake may not speak for milestones: were budget to believe it, money would move.
            data = {
                "team_id": target.team_id,
                "call_id": target.call_id,
                "milestone_id": str(uuid.uuid4()),
                "key": "prototype",
                "completed_by": "mallory",
                "completed_at": datetime.now(UTC).isoformat(),
            }
            return _envelope(
                "de.cimis.milestones.milestone_completed.v1", "cimis/intake", target.team_id, data
            )
    raise ValueError(f"unknown poison kind {kind}")


class Injector:
    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._producer: Any = None
        self.injected: list[Injected] = []
        self.duplicates = 0

    async def _ready(self) -> Any:
        if self._producer is None:
            # Large requests and gzip: the 2 MB values compress far below the broker's limit.
            self._producer = AIOKafkaProducer(
                **self._platform.kafka_client.aiokafka(
                    max_request_size=8 << 20,
                    compression_type="gzip",
                    acks="all",
                    request_timeout_ms=60_000,
                )
            )
            await self._producer.start()
        return self._producer

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def poison(self, kind: str, topic: str, target: Target) -> Injected:
        producer = await self._ready()
        value = poison_value(kind, topic, target)
        headers = [("x-chaos-poison", kind.encode())] if kind == "none-value" else []
        meta = await producer.send_and_wait(
            topic, value, key=f"poison-{kind}".encode(), headers=headers
        )
        injected = Injected(kind, topic, meta.partition, meta.offset)
        self.injected.append(injected)
        return injected

    async def duplicate(self, topic: str, count: int, rng: random.Random) -> int:
        """Send ``count`` valid records of ``topic`` again, byte for byte."""
        poisoned = {(i.topic, i.partition, i.offset) for i in self.injected}
        records = [
            r
            for r in await read_all(self._platform.kafka_client, topic)
            if (r.topic, r.partition, r.offset) not in poisoned and _is_valid(r.value)
        ]
        producer = await self._ready()
        chosen = rng.sample(records, min(count, len(records)))
        for record in chosen:
            await producer.send_and_wait(
                topic, record.value, key=record.key, headers=list(record.headers)
            )
        self.duplicates += len(chosen)
        return len(chosen)


def _is_valid(value: bytes | None) -> bool:
    if value is None or len(value) > 100_000:
        return False
    try:
        parse_event(value)
    except (EnvelopeError, RecursionError):
        return False
    return True
