"""Outcomes on real Kafka: its figures come from the platform's topics only, so forgetting
them (`cimis outcomes rebuild`) and reading every topic again gives the identical report; the
blueprints and their history are outcomes' own and stay."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cimis_chassis.auth import Role, create_key
from cimis_chassis.envelope import CloudEvent, make_event
from cimis_contracts.base import EventData
from cimis_contracts.budget import BudgetAllocatedV1, ExpenseApprovedV1, ExpenseReversedV1
from cimis_contracts.intake import (
    ApplicationSubmittedV1,
    CallOpenedV1,
    PhaseStep,
    TeamAcceptedV1,
    TeamProposedV1,
    TrancheRule,
)
from cimis_contracts.milestones import PlanCompletedV1
from cimis_contracts.topics import OWNERS
from services.outcomes.entrypoints.rebuild import GroupBusy, rebuild
from services.outcomes.settings import OutcomesSettings
from tests.api.outcomes.conftest import BLUEPRINT
from tests.support.processes import ServiceProcess, publish

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def published(payload: EventData) -> CloudEvent:
    return make_event(
        source=OWNERS[payload.TOPIC],
        type_=payload.TYPE,
        subject=payload.subject(),
        time=datetime.now(UTC),
        data=payload.model_dump(mode="json"),
    )


def a_call_of_work(call_id: str) -> list[EventData]:
    now = datetime.now(UTC)
    team_ids = [f"{call_id}-team-{n}" for n in range(3)]
    events: list[EventData] = [
        CallOpenedV1(
            call_id=call_id,
            title="Aufruf für den Rebuild",
            districts=["Erzgebirgskreis", "Chemnitz"],
            opens_at=now - timedelta(days=30),
            closes_at=now + timedelta(days=30),
            total_budget_cents=150_000_00,
            max_team_budget_cents=50_000_00,
            tranches=[TrancheRule(milestone=None, percent=100)],
            phase_plan=[PhaseStep(key="final", title="Abschluss", days_after_acceptance=60)],
        )
    ]
    for n, team_id in enumerate(team_ids):
        district, code = [("Erzgebirgskreis", "14521"), ("Chemnitz", "14511")][n % 2]
        events += [
            ApplicationSubmittedV1(
                application_id=f"{team_id}-app",
                call_id=call_id,
                kind="company",
                district=district,
                district_code=code,
                eligible=True,
                received_at=now - timedelta(days=10),
            ),
            TeamProposedV1(
                team_id=team_id, call_id=call_id, budget_cents=40_000_00, proposed_at=now
            ),
            TeamAcceptedV1(
                team_id=team_id,
                call_id=call_id,
                title=f"Team {n}",
                agent_id="agent-anna",
                budget_cents=40_000_00,
                input_vat_deductible=False,
                company_application_id=f"{team_id}-app",
                creative_application_ids=[],
                accepted_at=now,
                district=district,
                district_code=code,
            ),
            BudgetAllocatedV1(
                team_id=team_id,
                call_id=call_id,
                allocated_cents=40_000_00,
                pot_available_cents=0,
                allocated_at=now,
            ),
            ExpenseApprovedV1(
                team_id=team_id,
                call_id=call_id,
                expense_id=f"{team_id}-e1",
                position="material",
                fundable_cents=1_234_56 * (n + 1),
                approved_total_cents=1_234_56 * (n + 1),
                approved_by="fiona",
                approved_at=now,
            ),
        ]
    events += [
        ExpenseReversedV1(
            team_id=team_ids[0],
            call_id=call_id,
            expense_id=f"{team_ids[0]}-e1",
            position="material",
            receipt_number="R-1",
            fundable_cents=1_234_56,
            approved_total_cents=0,
            reason="doppelt",
            reversed_by="fiona",
            reversed_at=now,
        ),
        PlanCompletedV1(team_id=team_ids[1], call_id=call_id, completed_at=now),
    ]
    return events


async def eventually(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what} not reached within {timeout:.0f}s"
        await asyncio.sleep(0.3)


async def test_a_rebuild_reads_every_topic_again_and_gives_the_identical_report(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    keys = tmp_path / "api-keys.json"
    token = create_key(keys, role=Role.FINANCE, principal="fiona")
    staff = {"Authorization": f"Bearer {create_key(keys, role=Role.STAFF, principal='sam')}"}
    group = f"cimis-outcomes-rebuild-{uuid.uuid4().hex[:8]}"
    database_url = f"sqlite:///{tmp_path / 'outcomes.db'}"
    process = ServiceProcess(
        "services.outcomes.entrypoints.main",
        name="outcomes",
        log_path=tmp_path / "outcomes.log",
        env={
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "DATABASE_URL": database_url,
            "CIMIS_API_KEYS_FILE": str(keys),
            "VAR_DIR": str(tmp_path / "var"),
            "LOG_JSON": "false",
            "CONSUMER_GROUP": group,
        },
    )
    call_id = f"call-{uuid.uuid4().hex[:8]}"

    async def report() -> dict[str, Any] | None:
        async with httpx.AsyncClient(base_url=process.base_url, timeout=10) as client:
            response = await client.get(
                f"/api/v1/calls/{call_id}/report",
                headers={"Authorization": f"Bearer {token}"},
            )
        return response.json() if response.status_code == 200 else None

    async def complete() -> dict[str, Any] | None:
        # The three topics arrive in any order: wait for the last fact of each.
        body = await report()
        done = (
            body is not None
            and body["applications"]["total"] == 3
            and body["teams"]["accepted"] == 3
            and body["budget"]["approved"] == "6172.80"
            and body["blueprints"]["published"] == 1
        )
        return body if done else None

    async def blueprint_published() -> bool:
        # Outcomes' own record, kept by a rebuild: submitted once the team's plan is complete.
        async with httpx.AsyncClient(base_url=process.base_url, timeout=10) as client:
            submitted = await client.post(
                f"/api/v1/teams/{call_id}-team-1/blueprint", json=BLUEPRINT, headers=staff
            )
            if submitted.status_code != 201:
                return False
            path = f"/api/v1/blueprints/{submitted.json()['id']}/publish"
            return (await client.post(path, headers=staff)).status_code == 200

    async with process:
        await publish(kafka_bootstrap, *(published(e) for e in a_call_of_work(call_id)))
        await eventually(blueprint_published, "a blueprint published")
        before = await eventually(complete, "the report of every event")

        settings = OutcomesSettings(
            kafka_bootstrap_servers=kafka_bootstrap,
            kafka_client_config=process.environment().get("KAFKA_CLIENT_CONFIG"),
            database_url=database_url,
            consumer_group=group,
        )
        with pytest.raises(GroupBusy):  # the running instance still consumes
            await rebuild(settings)
        await process.stop()
        partitions, removed = await rebuild(settings)
        await process.start()
        after = await eventually(complete, "the rebuilt report")

    assert partitions == 18  # three topics of six partitions
    # The session's broker holds other tests' events too: ours are 14 of them (the pot, four
    # per team, the reversal).
    assert removed["report_facts"] >= 14
    assert removed["inbox"] > 0
    assert after == before
    assert before["teams"] == {"formed": 3, "accepted": 3, "withdrawn": 0}
    assert before["budget"]["lines"] == [
        {
            "position": "material",
            "allocated": "0.00",
            "released": "0.00",
            "approved": "6172.80",
            "paid": "0.00",
            "returned": "0.00",
        },
        {  # no cost plan in this workload: all that was released stands here too
            "position": "not_yet_planned",
            "allocated": "120000.00",
            "released": before["budget"]["released"],
            "approved": "0.00",
            "paid": "0.00",
            "returned": "0.00",
        },
    ]
    assert before["blueprints"] == {"published": 1}
    assert before["erzgebirge"]["teams"] == 2
