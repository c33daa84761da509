"""The cost plan over HTTP: staff set it, larger shifts need a second staff member, and
expenses are held to their line."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from cimis_contracts.budget import CostPlanChangedV1
from services.budget.adapters.tables import chassis
from tests.api.budget.conftest import accepted_team, expense_body, open_call
from tests.api.intake.steps import assert_problem
from tests.support.service_app import RunningService

# 45,000 EUR allocated, 18,000 EUR released on acceptance.
PLAN = [
    {"position": "personnel", "planned": "20000.00"},
    {"position": "external_services", "planned": "20000.00"},
    {"position": "travel", "planned": "5000.00"},
]


async def put_plan(
    svc: RunningService, team_id: str, lines: list[dict[str, str]], who: str = "staff"
) -> Any:
    return await svc.client.put(
        f"/api/v1/teams/{team_id}/cost-plan",
        json={"lines": lines, "reason": "Kostenplan laut Antrag"},
        headers=svc.auth(who),
    )


async def cost_plan_events(svc: RunningService, team_id: str) -> list[dict[str, Any]]:
    async with svc.host.db.sessions() as session:
        rows = await session.execute(
            select(chassis.outbox.c.payload)
            .where(chassis.outbox.c.key == team_id)
            .where(chassis.outbox.c.event_type == CostPlanChangedV1.TYPE)
            .order_by(chassis.outbox.c.position)
        )
        return [json.loads(payload)["data"] for payload in rows.scalars()]


class TestCostPlan:
    async def test_a_team_has_no_plan_until_staff_set_one(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        response = await budget.client.get(
            f"/api/v1/teams/{team_id}/cost-plan", headers=budget.auth("agent-anna")
        )
        assert response.status_code == 200
        assert response.json()["status"] == "none"
        assert response.json()["lines"] == []

    async def test_staff_set_the_plan_and_it_is_in_force_with_an_event(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        response = await put_plan(budget, team_id, PLAN)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["status"], body["version"], body["tolerance_percent"]) == ("in_force", 1, 20)
        assert body["lines"][2] == {
            "position": "travel",
            "planned": "5000.00",
            "committed": "0.00",
            "limit": "6000.00",
            "remaining": "6000.00",
        }
        [event] = await cost_plan_events(budget, team_id)
        assert event["status"] == "in_force"
        assert event["reason"] == "Kostenplan laut Antrag"
        assert {"position": "travel", "planned_cents": 5_000_00} in event["lines"]

    async def test_lines_that_do_not_add_up_are_422_and_change_nothing(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        short = [*PLAN[:2], {"position": "travel", "planned": "4999.99"}]
        assert_problem(await put_plan(budget, team_id, short), 422, "cost-plan-mismatch")
        twice = [*PLAN, {"position": "travel", "planned": "0.00"}]
        assert_problem(await put_plan(budget, team_id, twice), 422, "invalid-cost-plan")
        plan = await budget.client.get(
            f"/api/v1/teams/{team_id}/cost-plan", headers=budget.auth("staff")
        )
        assert plan.json()["status"] == "none"
        assert await cost_plan_events(budget, team_id) == []

    async def test_only_staff_set_it(self, budget: RunningService) -> None:
        _, team_id = await accepted_team(budget)
        for who in ("finance", "agent-anna"):
            assert (await put_plan(budget, team_id, PLAN, who)).status_code == 403

    async def test_a_shift_above_the_tolerance_waits_for_a_second_staff_member(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        await put_plan(budget, team_id, PLAN)
        shifted = [
            {"position": "personnel", "planned": "14000.00"},
            {"position": "external_services", "planned": "26000.00"},
            {"position": "travel", "planned": "5000.00"},
        ]
        response = await put_plan(budget, team_id, shifted, "staff2")
        body = response.json()
        assert body["status"] == "pending_approval"
        assert body["version"] == 1  # the old plan stays in force meanwhile
        assert body["pending"]["shifts"] == [
            {"position": "personnel", "change": "-6000.00"},
            {"position": "external_services", "change": "6000.00"},
        ]
        approve = f"/api/v1/teams/{team_id}/cost-plan/approve"
        own = await budget.client.post(approve, headers=budget.auth("staff2"))
        assert_problem(own, 403, "four-eyes")
        approved = await budget.client.post(approve, headers=budget.auth("staff"))
        assert approved.status_code == 200
        assert (approved.json()["status"], approved.json()["version"]) == ("in_force", 2)
        assert approved.json()["decided_by"] == "staff"
        events = await cost_plan_events(budget, team_id)
        assert [(e["version"], e["status"]) for e in events] == [
            (1, "in_force"),
            (2, "pending_approval"),
            (2, "in_force"),
        ]
        again = await budget.client.post(approve, headers=budget.auth("staff"))
        assert_problem(again, 409, "no-pending-cost-plan")

    async def test_an_expense_beyond_its_line_and_tolerance_is_422(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        await put_plan(budget, team_id, PLAN)
        # travel: 5,000 EUR planned, 6,000 EUR with the tolerance; gross is fundable.
        url = f"/api/v1/teams/{team_id}/expenses"
        first = expense_body(position="travel", net="5000.00", vat="0.00")
        assert (
            await budget.client.post(url, json=first, headers=budget.auth("staff"))
        ).status_code == 201
        over = expense_body(position="travel", net="1000.01", vat="0.00")
        response = await budget.client.post(url, json=over, headers=budget.auth("staff"))
        assert_problem(response, 422, "cost-plan-exceeded")
        fits = expense_body(position="travel", net="1000.00", vat="0.00")
        assert (
            await budget.client.post(url, json=fits, headers=budget.auth("staff"))
        ).status_code == 201
        plan = await budget.client.get(
            f"/api/v1/teams/{team_id}/cost-plan", headers=budget.auth("staff")
        )
        travel = next(line for line in plan.json()["lines"] if line["position"] == "travel")
        assert (travel["committed"], travel["remaining"]) == ("6000.00", "0.00")

    async def test_a_line_cannot_be_planned_below_its_expenses(
        self, budget: RunningService
    ) -> None:
        _, team_id = await accepted_team(budget)
        url = f"/api/v1/teams/{team_id}/expenses"
        spent = expense_body(position="material", net="100.00", vat="19.00")
        assert (
            await budget.client.post(url, json=spent, headers=budget.auth("staff"))
        ).status_code == 201
        response = await put_plan(budget, team_id, PLAN)
        assert_problem(response, 422, "cost-plan-below-spending")

    async def test_a_waiting_team_has_no_plan_to_set(self, budget: RunningService) -> None:
        call_id = await open_call(budget, total_cents=40_000_00)
        _, team_id = await accepted_team(budget, call_id=call_id)
        response = await put_plan(budget, team_id, PLAN)
        assert_problem(response, 409, "budget-not-allocated")
