"""A team's plan over the API: due dates, status and progress, for those who may see it."""

from __future__ import annotations

from datetime import date, timedelta

from cimis_contracts.budget import BudgetAllocatedV1
from cimis_contracts.intake import TeamWithdrawnV1
from cimis_contracts.milestones import MilestoneRescheduledV1, PlanCancelledV1, PlanCreatedV1
from services.milestones.domain.calendar import next_working_day, overdue_from
from tests.api.milestones.steps import (
    accept_team,
    assert_problem,
    audit_entries,
    deliver,
    fund_team,
    get_ok,
    outbox_events,
    withdraw_team,
)
from tests.support.feed import published_event
from tests.support.service_app import RunningService

API_FIELDS = {"id", "key", "title", "due_date", "status", "completed_at"}


class TestTeamMilestones:
    async def test_staff_see_the_default_plan_with_progress(
        self, milestones: RunningService
    ) -> None:
        accepted_at = milestones.clock.now()
        team = await accept_team(milestones)

        plan = await get_ok(milestones, f"/api/v1/teams/{team.id}/milestones")

        assert [m["key"] for m in plan["items"]] == [
            "kickoff",
            "workshop",
            "prototype",
            "test",
            "final",
        ]
        first = plan["items"][0]
        assert set(first) >= API_FIELDS
        assert first["status"] == "open"
        assert first["completed_at"] is None
        assert first["due_date"] == (accepted_at.date() + timedelta(days=14)).isoformat()
        assert plan["progress"] == {"completed": 0, "total": 5, "overdue": 0}
        assert (plan["team_id"], plan["call_id"], plan["agent_id"]) == (
            team.id,
            team.call_id,
            "agent-anna",
        )
        assert plan["plan_status"] == "active"
        assert plan["template"] == "call"
        assert plan["next_cursor"] is None

    async def test_the_plan_waits_for_budget_and_runs_from_the_allocation(
        self, milestones: RunningService
    ) -> None:
        # Accepted so long ago that every due date has passed.
        accepted_at = milestones.clock.now() - timedelta(days=400)
        team = await accept_team(milestones, accepted_at=accepted_at, funded=False)
        path = f"/api/v1/teams/{team.id}/milestones"

        waiting = await get_ok(milestones, path)

        assert (waiting["plan_status"], waiting["started_at"]) == ("pending_budget", None)
        assert {m["status"] for m in waiting["items"]} == {"open"}
        overview = await get_ok(milestones, "/api/v1/milestones", status="overdue", team_id=team.id)
        assert overview["items"] == []

        await fund_team(milestones, team, allocated_at=accepted_at)

        running = await get_ok(milestones, path)
        assert running["plan_status"] == "active"
        assert running["started_at"] == waiting["accepted_at"]
        assert running["progress"]["overdue"] == 5

    async def test_a_team_funded_from_the_waiting_list_starts_on_moved_dates(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones, funded=False)
        path = f"/api/v1/teams/{team.id}/milestones"
        before = await get_ok(milestones, path)

        await fund_team(
            milestones,
            team,
            allocated_at=milestones.clock.now() + timedelta(days=21),
            from_waiting_list=True,
        )

        after = await get_ok(milestones, path)
        assert after["plan_status"] == "active"
        # Three weeks later, on the next Saxon working day (3 October is a holiday).
        assert [date.fromisoformat(m["due_date"]) for m in after["items"]] == [
            next_working_day(date.fromisoformat(m["due_date"]) + timedelta(days=21))
            for m in before["items"]
        ]
        moves = await outbox_events(milestones, team.id, MilestoneRescheduledV1.TYPE)
        assert len(moves) == 5

    async def test_budgets_allocation_delivered_twice_moves_the_dates_once(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones, funded=False)
        allocation = published_event(
            milestones,
            BudgetAllocatedV1(
                team_id=team.id,
                call_id=team.call_id,
                allocated_cents=45_000_00,
                pot_available_cents=0,
                allocated_at=milestones.clock.now() + timedelta(days=10),
                from_waiting_list=True,
            ),
        )

        await deliver(milestones, allocation)
        await deliver(milestones, allocation)

        moves = await outbox_events(milestones, team.id, MilestoneRescheduledV1.TYPE)
        assert len(moves) == 5
        started = [
            e for e in await audit_entries(milestones, team.id) if e["action"] == "plan.started"
        ]
        assert len(started) == 1

    async def test_accepting_queues_one_plan_created_naming_every_milestone(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones)
        [created] = await outbox_events(milestones, team.id, PlanCreatedV1.TYPE)
        assert {m["milestone_id"] for m in created["data"]["milestones"]} == set(
            team.milestones.values()
        )

    async def test_the_teams_agent_finance_and_operators_may_read_it(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones, agent_id="agent-anna")
        for who in ("agent-anna", "finance", "operator", "admin"):
            plan = await get_ok(milestones, f"/api/v1/teams/{team.id}/milestones", who)
            assert plan["team_id"] == team.id

    async def test_another_agent_is_forbidden(self, milestones: RunningService) -> None:
        team = await accept_team(milestones, agent_id="agent-anna")
        response = await milestones.client.get(
            f"/api/v1/teams/{team.id}/milestones", headers=milestones.auth("agent-ben")
        )
        assert_problem(response, 403, "forbidden")

    async def test_without_a_valid_key_it_is_401(self, milestones: RunningService) -> None:
        team = await accept_team(milestones)
        path = f"/api/v1/teams/{team.id}/milestones"
        assert_problem(await milestones.client.get(path), 401, "unauthorized")
        response = await milestones.client.get(
            path, headers={"Authorization": "Bearer cimis_nope_nope"}
        )
        assert_problem(response, 401, "unauthorized")

    async def test_a_team_without_a_plan_is_404(self, milestones: RunningService) -> None:
        response = await milestones.client.get(
            "/api/v1/teams/unknown/milestones", headers=milestones.auth("staff")
        )
        assert_problem(response, 404, "not-found")

    async def test_past_the_berlin_midnight_after_its_due_day_a_milestone_shows_overdue(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones)
        path = f"/api/v1/teams/{team.id}/milestones"
        kickoff_due = date.fromisoformat((await get_ok(milestones, path))["items"][0]["due_date"])

        milestones.clock.set(overdue_from(kickoff_due) - timedelta(seconds=1))
        assert (await get_ok(milestones, path))["items"][0]["status"] == "open"
        milestones.clock.set(overdue_from(kickoff_due))
        plan = await get_ok(milestones, path)

        assert plan["items"][0]["status"] == "overdue"
        assert plan["progress"] == {"completed": 0, "total": 5, "overdue": 1}

    async def test_a_withdrawn_teams_plan_is_closed_and_its_milestones_show_cancelled(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones)
        await withdraw_team(milestones, team)

        plan = await get_ok(milestones, f"/api/v1/teams/{team.id}/milestones")

        assert plan["plan_status"] == "closed"
        assert {m["status"] for m in plan["items"]} == {"cancelled"}

    async def test_the_same_event_delivered_twice_is_applied_once(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones)
        withdrawal = published_event(
            milestones,
            TeamWithdrawnV1(
                team_id=team.id,
                call_id=team.call_id,
                reason="doppelt",
                was_accepted=True,
                withdrawn_at=milestones.clock.now(),
            ),
        )
        await deliver(milestones, withdrawal)
        await deliver(milestones, withdrawal)

        types = [e["type"] for e in await outbox_events(milestones, team.id)]
        assert types == [PlanCreatedV1.TYPE, PlanCancelledV1.TYPE]
