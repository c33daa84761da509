"""A team's forecast over the API follows its call's tranche plan, its milestones' latest due
days and waivers, and its cost plan in force, line by line."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from cimis_contracts.budget import BudgetAllocatedV1, CostPlanChangedV1, CostPlanLine
from cimis_contracts.intake import CallOpenedV1, PhaseStep, TeamAcceptedV1, TrancheRule
from cimis_contracts.milestones import (
    MilestoneReopenedV1,
    MilestoneRescheduledV1,
    MilestoneWaivedV1,
    PlanCreatedV1,
    PlannedMilestone,
)
from tests.api.outcomes.conftest import approved, feed
from tests.support.service_app import START, RunningService

CALL = "call-forecast"
TEAM = "t-forecast"
PLAN = (("kickoff", 14), ("workshop", 42), ("prototype", 120), ("test", 150), ("final", 180))


def cost_plan(version: int, status: Any, team: str = TEAM, **lines: int) -> CostPlanChangedV1:
    return CostPlanChangedV1(
        team_id=team,
        call_id=CALL,
        version=version,
        status=status,
        lines=[CostPlanLine(position=p, planned_cents=c) for p, c in lines.items()],
        reason="Plan",
        proposed_by="staff",
        changed_at=START,
    )


async def a_team_sixty_days_into_its_plan(svc: RunningService, team: str = TEAM) -> date:
    """Allocated 100,000.00 EUR sixty days ago under the default 40/40/20 tranches; its
    milestones' ids are the team's id and their keys."""
    now = svc.clock.now()
    started = now - timedelta(days=60)
    await feed(
        svc,
        CallOpenedV1(
            call_id=CALL,
            title="CIMIS II – Prognose",
            districts=["Erzgebirgskreis"],
            opens_at=now - timedelta(days=120),
            closes_at=now - timedelta(days=90),
            total_budget_cents=500_000_00,
            max_team_budget_cents=100_000_00,
            tranches=[
                TrancheRule(milestone=None, percent=40),
                TrancheRule(milestone="prototype", percent=40),
                TrancheRule(milestone="final", percent=20),
            ],
            phase_plan=[PhaseStep(key=k, title=k, days_after_acceptance=d) for k, d in PLAN],
            settlement_days=90,
        ),
        TeamAcceptedV1(
            team_id=team,
            call_id=CALL,
            title="Hofladen online",
            agent_id="agent-anna",
            budget_cents=100_000_00,
            input_vat_deductible=False,
            company_application_id=f"{team}-co",
            creative_application_ids=[f"{team}-cr"],
            accepted_at=started,
        ),
        BudgetAllocatedV1(
            team_id=team,
            call_id=CALL,
            allocated_cents=100_000_00,
            pot_available_cents=400_000_00,
            allocated_at=started,
        ),
        PlanCreatedV1(
            team_id=team,
            call_id=CALL,
            agent_id="agent-anna",
            milestones=[
                PlannedMilestone(
                    milestone_id=f"{team}-{k}",
                    key=k,
                    title=k,
                    due_date=started.date() + timedelta(d),
                )
                for k, d in PLAN
            ],
            created_at=started,
        ),
        cost_plan(1, "in_force", team, personnel=60_000_00, material=40_000_00),
        # Waiting for a second person: not the plan yet.
        cost_plan(2, "pending_approval", team, personnel=90_000_00, material=10_000_00),
        approved(team, "e1", "personnel", 9_000_00).model_copy(update={"call_id": CALL}),
        approved(team, "e2", "material", 3_000_00).model_copy(update={"call_id": CALL}),
    )
    return started.date()


async def forecast_of(svc: RunningService, team: str = TEAM) -> dict[str, Any]:
    response = await svc.client.get(f"/api/v1/teams/{team}/forecast", headers=svc.auth("staff"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_the_forecast_follows_the_tranches_and_the_cost_plan(
    outcomes: RunningService,
) -> None:
    started = await a_team_sixty_days_into_its_plan(outcomes)

    body = await forecast_of(outcomes)

    # Half-way to the prototype, whose tranche is the next: half of the first 40 % expected.
    assert {k: body[k] for k in ("spent", "expected_by_now", "status")} == {
        "spent": "12000.00",
        "expected_by_now": "20000.00",
        "status": "behind",
    }
    # At 60 % of its curve, its pace would spend 60,000.00 EUR of 100,000.00 EUR.
    assert (body["forecast_unspent_at_end"], body["waived"]) == ("40000.00", "0.00")
    assert (body["starts_on"], body["plan_ends_on"], body["ends_on"]) == (
        started.isoformat(),
        (started + timedelta(days=180)).isoformat(),
        (started + timedelta(days=270)).isoformat(),  # the final tranche in settlement
    )
    assert body["lines"] == [
        {
            "position": "personnel",
            "planned": "60000.00",
            "spent": "9000.00",
            "expected_by_now": "12000.00",
            "forecast_unspent_at_end": "15000.00",
        },
        {
            "position": "material",
            "planned": "40000.00",
            "spent": "3000.00",
            "expected_by_now": "8000.00",
            "forecast_unspent_at_end": "25000.00",
        },
    ]


async def test_a_rescheduled_prototype_moves_the_curve(outcomes: RunningService) -> None:
    if not await _known(outcomes):  # when run on its own
        await a_team_sixty_days_into_its_plan(outcomes)
    started = date.fromisoformat((await forecast_of(outcomes))["starts_on"])
    await feed(
        outcomes,
        MilestoneRescheduledV1(
            team_id=TEAM,
            call_id=CALL,
            milestone_id=f"{TEAM}-prototype",
            key="prototype",
            previous_due_date=started + timedelta(days=120),
            due_date=started + timedelta(days=150),
            reason="Lieferverzug",
            rescheduled_by="staff",
            rescheduled_at=outcomes.clock.now(),
        ),
    )

    body = await forecast_of(outcomes)

    # 40 % over 150 days, 60 of them gone: 16 % expected, and 12 % spent is within 25 %.
    assert (body["expected_by_now"], body["status"]) == ("16000.00", "on_track")
    assert body["forecast_unspent_at_end"] == "25000.00"


async def test_a_waived_milestones_tranche_is_not_expected_until_it_is_reopened(
    outcomes: RunningService,
) -> None:
    team = "t-waived"
    started = await a_team_sixty_days_into_its_plan(outcomes, team)
    common = {"team_id": team, "call_id": CALL, "milestone_id": f"{team}-prototype"}
    await feed(
        outcomes,
        MilestoneWaivedV1(
            **common,
            key="prototype",
            reason="Prototyp entfällt",
            waived_by="staff",
            waived_at=outcomes.clock.now(),
        ),
    )

    body = await forecast_of(outcomes, team)

    # Budget never releases the prototype's 40 %: 60,000.00 EUR are expected, the acceptance
    # tranche until the final one's day, so 40 % x 60/180 of the money by now.
    assert {k: body[k] for k in ("waived", "expected_by_now", "status")} == {
        "waived": "40000.00",
        "expected_by_now": "13333.33",
        "status": "on_track",
    }
    # Its pace spends 54,000.00 EUR of the 60,000.00; the waived money is left as well.
    assert body["forecast_unspent_at_end"] == "46000.00"
    assert [(x["expected_by_now"], x["forecast_unspent_at_end"]) for x in body["lines"]] == [
        ("8000.00", "24000.00"),
        ("5333.33", "26500.00"),
    ]
    assert body["ends_on"] == (started + timedelta(days=270)).isoformat()

    await feed(
        outcomes,
        MilestoneReopenedV1(
            **common,
            key="prototype",
            previous_status="waived",
            reason="Doch geliefert",
            reopened_by="staff",
            reopened_at=outcomes.clock.now(),
        ),
    )

    body = await forecast_of(outcomes, team)

    assert {k: body[k] for k in ("waived", "expected_by_now", "status")} == {
        "waived": "0.00",
        "expected_by_now": "20000.00",
        "status": "behind",
    }
    assert body["forecast_unspent_at_end"] == "40000.00"


async def _known(svc: RunningService) -> bool:
    response = await svc.client.get(f"/api/v1/teams/{TEAM}/forecast", headers=svc.auth("staff"))
    return response.status_code == 200
