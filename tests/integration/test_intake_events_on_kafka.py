"""The intake process publishes its events to cimis.intake.v1 on real Kafka, once and in order."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import cimis_contracts.catalog  # noqa: F401  (registers every event type for decode_data)
from cimis_chassis.auth import Role, create_key
from cimis_chassis.envelope import CloudEvent, make_event, parse_event
from cimis_contracts import topics
from cimis_contracts.base import decode_data
from cimis_contracts.intake import CallOpenedV1, TeamAcceptedV1, TeamProposedV1, TeamWithdrawnV1
from cimis_contracts.notify import AgentRegisteredV1
from cimis_devtools.identifiers import vat_id
from tests.support.processes import Condition, Record, ServiceProcess, publish, read_topic_until

pytestmark = [pytest.mark.kafka]

INTAKE_MODULE = "services.intake.entrypoints.main"
ACCEPTED = TeamAcceptedV1.TYPE
WITHDRAWN = TeamWithdrawnV1.TYPE
OPENED = CallOpenedV1.TYPE
PROPOSED = TeamProposedV1.TYPE


@dataclass(frozen=True)
class IntakeApi:
    """Drives a running intake process over HTTP as a staff member."""

    base_url: str
    token: str
    # Where to announce the team's agent as notify would (no notify runs beside intake here).
    kafka_bootstrap: str | None = None

    async def post(
        self, path: str, body: dict[str, Any] | None = None, *, correlation_id: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        if correlation_id:
            headers["X-Correlation-ID"] = correlation_id
        # A client per request: a restarted process must not inherit a dead keep-alive socket.
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30.0) as client:
            return await client.post(path, json=body, headers=headers)

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30.0) as client:
            return await client.get(path, headers={"Authorization": f"Bearer {self.token}"})

    async def open_call(self, *, correlation_id: str | None = None) -> dict[str, Any]:
        # The process runs on the real clock, so the call's window is placed around today.
        today = datetime.now(UTC).date()
        body = {
            "title": f"CIMIS integration {uuid.uuid4().hex[:8]}",
            "districts": ["Erzgebirgskreis", "Chemnitz"],
            "opens_at": (today - timedelta(days=30)).isoformat(),
            "closes_at": (today + timedelta(days=60)).isoformat(),
            "total_budget": "500000.00",
            "max_team_budget": "50000.00",
        }
        return _json(await self.post("/api/v1/calls", body, correlation_id=correlation_id), 201)

    async def apply(self, call_id: str, kind: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "call_id": call_id,
            "kind": kind,
            "name": f"{kind} applicant",
            "contact_email": "kontakt@example.org",
            "district": "Erzgebirgskreis",
        }
        if kind == "creative":
            body["expertise"] = "Service-Design"
        else:
            body.update(
                employees=20,
                annual_turnover="1500000.00",
                de_minimis_prior_aid="0.00",
                challenge="Digitale Terminbuchung",
                undertaking_id=vat_id(next(_UNDERTAKINGS)),
            )
        return _json(await self.post("/api/v1/applications", body), 201)

    async def propose_team(self) -> dict[str, Any]:
        """A proposed team on a fresh call, from a fresh company and creative application."""
        call = await self.open_call()
        company = await self.apply(call["id"], "company")
        creative = await self.apply(call["id"], "creative")
        if self.kafka_bootstrap is not None:
            await publish(self.kafka_bootstrap, agent_registered("agent-anna"))
        body = {
            "call_id": call["id"],
            "title": "Terminbuchung 2.0",
            "challenge": "Digitale Terminbuchung",
            "company_application_id": company["id"],
            "creative_application_ids": [creative["id"]],
            "agent_id": "agent-anna",
            "budget": "45000.00",
        }
        return _json(await self.post_once_agent_known("/api/v1/teams", body), 201)

    async def post_once_agent_known(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST, again while intake answers 422 unknown-agent: it learns agents from notify's
        topic, a moment after they were announced."""
        deadline = time.monotonic() + 30
        while True:
            response = await self.post(path, body)
            if response.status_code != 422 or not response.json()["type"].endswith(
                ":unknown-agent"
            ):
                return response
            assert time.monotonic() < deadline, f"intake never learned the agent: {response.text}"
            await asyncio.sleep(0.2)

    async def accept(self, team_id: str, *, correlation_id: str | None = None) -> httpx.Response:
        return await self.post(f"/api/v1/teams/{team_id}/accept", correlation_id=correlation_id)

    async def withdraw(self, team_id: str, reason: str) -> httpx.Response:
        return await self.post(f"/api/v1/teams/{team_id}/withdraw", {"reason": reason})


# Each company its own undertaking: caps count per undertaking.
_UNDERTAKINGS = itertools.count(1)


def _json(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def intake_process(tmp_dir: Path, bootstrap_servers: str, **extra_env: str) -> ServiceProcess:
    """An intake process with its own SQLite file, keys file and log under ``tmp_dir``."""
    return ServiceProcess(
        INTAKE_MODULE,
        name="intake",
        log_path=tmp_dir / "intake.log",
        env={
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "DATABASE_URL": f"sqlite:///{intake_db(tmp_dir)}",
            "CIMIS_API_KEYS_FILE": str(tmp_dir / "api-keys.json"),
            "VAR_DIR": str(tmp_dir / "var"),
            "LOG_JSON": "false",
            "OUTBOX_POLL_SECONDS": "0.1",
            **extra_env,
        },
    )


def intake_db(tmp_dir: Path) -> Path:
    return tmp_dir / "intake.db"


def staff_api(process: ServiceProcess) -> IntakeApi:
    keys_file = Path(process.env["CIMIS_API_KEYS_FILE"])
    token = create_key(keys_file, role=Role.STAFF, principal="sam")
    return IntakeApi(process.base_url, token, process.env["KAFKA_BOOTSTRAP_SERVERS"])


def pending_outbox_rows(db_path: Path) -> int:
    """Outbox rows the relay has not marked as published, read straight from the SQLite file."""
    with contextlib.closing(sqlite3.connect(db_path, timeout=10)) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        ).fetchone()
    return int(count)


def events(
    records: Sequence[Record], *, subject: str, type_: str | None = None
) -> list[tuple[Record, CloudEvent]]:
    """The records about ``subject`` (optionally of one type), each with its parsed envelope.

    Records are picked by key first: other tests share the topic and park deliberately
    malformed records on it, and ours are always keyed by their subject.
    """
    found = []
    for record in records:
        if record.key != subject.encode():
            continue
        event = parse_event(record.value)
        if event.subject == subject and (type_ is None or event.type == type_):
            found.append((record, event))
    return found


def has_event(subject: str, type_: str, count: int = 1) -> Condition:
    def condition(records: Sequence[Record]) -> bool:
        return len(events(records, subject=subject, type_=type_)) >= count

    return condition


@dataclass(frozen=True)
class RunningIntake:
    process: ServiceProcess
    api: IntakeApi
    bootstrap_servers: str


@pytest.fixture(scope="module")
async def intake(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str
) -> AsyncIterator[RunningIntake]:
    process = intake_process(tmp_path_factory.mktemp("intake-process"), kafka_bootstrap)
    api = staff_api(process)
    async with process:
        yield RunningIntake(process, api, kafka_bootstrap)


def agent_registered(agent_id: str) -> CloudEvent:
    """The event notify publishes when staff register an agent."""
    now = datetime.now(UTC)
    payload = AgentRegisteredV1(agent_id=agent_id, name="Anna Berger", registered_at=now)
    return make_event(
        source="cimis/notify",
        type_=payload.TYPE,
        subject=payload.subject(),
        time=now,
        data=payload.model_dump(mode="json"),
    )


async def test_intake_learns_agents_from_notifys_topic_and_refuses_unknown_ones(
    intake: RunningIntake,
) -> None:
    team = await intake.api.propose_team()  # agent-anna, announced on cimis.notify.v1
    call = await intake.api.open_call()
    company = await intake.api.apply(call["id"], "company")
    creative = await intake.api.apply(call["id"], "creative")

    unknown = await intake.api.post(
        "/api/v1/teams",
        {
            "call_id": call["id"],
            "title": "Ohne Agentin",
            "challenge": "Digitale Terminbuchung",
            "company_application_id": company["id"],
            "creative_application_ids": [creative["id"]],
            "agent_id": "agent-nobody",
            "budget": "45000.00",
        },
    )

    assert team["agent_id"] == "agent-anna"
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["type"] == "urn:cimis:problem:unknown-agent"


async def test_accepting_a_team_publishes_one_team_accepted_cloud_event_keyed_by_team(
    intake: RunningIntake,
) -> None:
    team = await intake.api.propose_team()
    correlation_id = str(uuid.uuid4())

    response = await intake.api.accept(team["id"], correlation_id=correlation_id)

    assert response.status_code == 200, response.text
    records = await read_topic_until(
        intake.bootstrap_servers,
        topics.INTAKE,
        has_event(team["id"], ACCEPTED),
        timeout=30,
        settle=1.0,
    )
    [(record, event)] = events(records, subject=team["id"], type_=ACCEPTED)
    assert record.key == team["id"].encode()
    assert event.specversion == "1.0"
    assert event.source == "cimis/intake"
    assert event.subject == team["id"]
    assert event.correlationid == correlation_id
    assert event.datacontenttype == "application/json"
    data = decode_data(event)
    assert isinstance(data, TeamAcceptedV1)
    assert (data.team_id, data.call_id, data.budget_cents) == (
        team["id"],
        team["call_id"],
        4_500_000,
    )
    assert dict(record.headers)["ce_type"] == ACCEPTED.encode()


async def test_accepting_an_accepted_team_again_publishes_nothing_new(
    intake: RunningIntake,
) -> None:
    team = await intake.api.propose_team()
    assert (await intake.api.accept(team["id"])).status_code == 200

    again = await intake.api.accept(team["id"])
    # The withdrawal is a barrier: one key's events are published in order, so a second
    # team_accepted caused by the repeated accept would be on the topic before it.
    withdrawal = await intake.api.withdraw(team["id"], "Barriere")

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "accepted"
    assert withdrawal.status_code == 200, withdrawal.text
    records = await read_topic_until(
        intake.bootstrap_servers, topics.INTAKE, has_event(team["id"], WITHDRAWN), timeout=30
    )
    assert [e.type for _, e in events(records, subject=team["id"])] == [
        PROPOSED,
        ACCEPTED,
        WITHDRAWN,
    ]


async def test_opening_a_call_publishes_call_opened_keyed_by_call_id(
    intake: RunningIntake,
) -> None:
    call = await intake.api.open_call()

    records = await read_topic_until(
        intake.bootstrap_servers,
        topics.INTAKE,
        has_event(call["id"], OPENED),
        timeout=30,
        settle=1.0,
    )

    [(record, event)] = events(records, subject=call["id"])
    assert record.key == call["id"].encode()
    assert event.type == OPENED
    data = decode_data(event)
    assert isinstance(data, CallOpenedV1)
    assert data.call_id == call["id"]
    assert data.total_budget_cents == 50_000_000


async def test_withdrawing_an_accepted_team_follows_its_acceptance_on_the_same_partition(
    intake: RunningIntake,
) -> None:
    team = await intake.api.propose_team()
    assert (await intake.api.accept(team["id"])).status_code == 200

    response = await intake.api.withdraw(team["id"], "Unternehmen insolvent")

    assert response.status_code == 200, response.text
    records = await read_topic_until(
        intake.bootstrap_servers, topics.INTAKE, has_event(team["id"], WITHDRAWN), timeout=30
    )
    proposed, (accepted_record, accepted), (withdrawn_record, withdrawn) = events(
        records, subject=team["id"]
    )
    assert (proposed[1].type, accepted.type, withdrawn.type) == (PROPOSED, ACCEPTED, WITHDRAWN)
    assert accepted_record.partition == withdrawn_record.partition
    assert accepted_record.offset < withdrawn_record.offset
    assert withdrawn_record.key == team["id"].encode()
    data = decode_data(withdrawn)
    assert isinstance(data, TeamWithdrawnV1)
    assert data.was_accepted is True
    assert data.reason == "Unternehmen insolvent"
