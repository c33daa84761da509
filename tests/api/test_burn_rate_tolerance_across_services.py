"""A call's burn-rate tolerance, set on intake's call, decides outcomes' forecast status: the
call opened over intake's API, its call_opened taken from intake's outbox as the relay would
publish it and handed to outcomes' consumer as Kafka would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cimis_chassis.clock import ManualClock
from cimis_chassis.envelope import CloudEvent, parse_event
from cimis_contracts.budget import BudgetAllocatedV1, ExpenseApprovedV1
from cimis_contracts.intake import CallOpenedV1, TeamAcceptedV1
from cimis_contracts.milestones import PlanCreatedV1, PlannedMilestone
from services.intake.adapters.tables import chassis as intake_tables
from services.intake.bootstrap import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.outcomes.bootstrap import create_app as outcomes_app
from services.outcomes.entrypoints.consumer import outcomes_consumer
from services.outcomes.settings import OutcomesSettings
from tests.support.feed import published_event, record_of
from tests.support.service_app import START, RunningService, running_service

CALL_BODY = {
    "title": "CIMIS II – strenger Aufruf",
    "districts": ["Erzgebirgskreis"],
    "opens_at": "2024-06-01",
    "closes_at": "2024-09-20",
    "total_budget": "500000.00",
    "max_team_budget": "50000.00",
    # One tranche, one milestone: a straight line, so that the figures are easy to follow.
    "tranches": [{"milestone": None, "percent": 100}],
    "phase_plan": [{"key": "final", "title": "Abschluss", "days_after_acceptance": 100}],
}


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[tuple[RunningService, RunningService]]:
    clock = ManualClock(START)
    for name in ("i", "o"):
        (tmp_path / name).mkdir()
    async with (
        running_service(intake_app, IntakeSettings, tmp_path=tmp_path / "i", clock=clock) as i,
        running_service(outcomes_app, OutcomesSettings, tmp_path=tmp_path / "o", clock=clock) as o,
    ):
        yield i, o


async def published_by_intake(intake: RunningService, key: str) -> list[CloudEvent]:
    outbox = intake_tables.outbox
    async with intake.host.db.sessions() as session:
        rows = await session.execute(
            select(outbox.c.payload).where(outbox.c.key == key).order_by(outbox.c.position)
        )
        return [parse_event(payload) for (payload,) in rows.all()]


async def open_call_with_tolerance(
    intake: RunningService, outcomes: RunningService, tolerance_percent: int | None
) -> str:
    extra = {} if tolerance_percent is None else {"burn_rate_tolerance_percent": tolerance_percent}
    response = await intake.client.post(
        "/api/v1/calls", json=CALL_BODY | extra, headers=intake.auth("staff")
    )
    assert response.status_code == 201, response.text
    call_id: str = response.json()["id"]
    [opened] = await published_by_intake(intake, call_id)
    assert opened.type == CallOpenedV1.TYPE
    # A team half-way through its plan, as budget and milestones would tell outcomes.
    now = outcomes.clock.now()
    started = now - timedelta(days=50)
    team = f"team-{call_id}"
    events = [
        opened,
        *(
            published_event(outcomes, p)
            for p in (
                TeamAcceptedV1(
                    team_id=team,
                    call_id=call_id,
                    title="Werkstatt digital",
                    agent_id="agent-anna",
                    budget_cents=40_000_00,
                    input_vat_deductible=False,
                    company_application_id="co",
                    creative_application_ids=["cr"],
                    accepted_at=started,
                ),
                BudgetAllocatedV1(
                    team_id=team,
                    call_id=call_id,
                    allocated_cents=40_000_00,
                    pot_available_cents=460_000_00,
                    allocated_at=started,
                ),
                PlanCreatedV1(
                    team_id=team,
                    call_id=call_id,
                    agent_id="agent-anna",
                    milestones=[
                        PlannedMilestone(
                            milestone_id=f"{team}-final",
                            key="final",
                            title="Abschluss",
                            due_date=started.date() + timedelta(days=100),
                        )
                    ],
                    created_at=started,
                ),
                ExpenseApprovedV1(
                    team_id=team,
                    call_id=call_id,
                    expense_id=f"{team}-e1",
                    position="personnel",
                    fundable_cents=16_000_00,
                    approved_total_cents=16_000_00,
                    approved_by="fiona",
                    approved_at=now,
                ),
            )
        ),
    ]
    await outcomes_consumer(outcomes.host).process(
        [record_of(e, offset) for offset, e in enumerate(events)]
    )
    return team


async def status_of(outcomes: RunningService, team: str) -> str:
    response = await outcomes.client.get(
        f"/api/v1/teams/{team}/forecast", headers=outcomes.auth("staff")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # Half of 40,000.00 EUR expected by now, 16,000.00 EUR spent: 80 % of it.
    assert (body["expected_by_now"], body["spent"]) == ("20000.00", "16000.00")
    return str(body["status"])


async def test_a_calls_tolerance_travels_from_intake_to_outcomes_forecast(
    services: tuple[RunningService, RunningService],
) -> None:
    intake, outcomes = services

    strict = await open_call_with_tolerance(intake, outcomes, tolerance_percent=10)
    lenient = await open_call_with_tolerance(intake, outcomes, tolerance_percent=None)

    assert await status_of(outcomes, strict) == "behind"  # 20 % short, beyond 10 %
    assert await status_of(outcomes, lenient) == "on_track"  # within the default 25 %
