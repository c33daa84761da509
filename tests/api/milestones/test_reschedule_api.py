"""Rescheduling over the API: staff only, with a reason, audited; it re-arms the overdue alert."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from cimis_contracts.milestones import MilestoneOverdueV1, MilestoneRescheduledV1
from services.milestones.domain.calendar import berlin_day, next_working_day, overdue_from
from tests.api.milestones.steps import (
    accept_team,
    assert_problem,
    audit_entries,
    complete_and_confirm,
    fund_team,
    get_ok,
    outbox_events,
    reschedule,
)
from tests.support.service_app import RunningService

RESCHEDULED = MilestoneRescheduledV1.TYPE
OVERDUE = MilestoneOverdueV1.TYPE


def today(svc: RunningService) -> date:
    return berlin_day(svc.clock.now())


async def overdue_alerts(svc: RunningService, team_id: str, count: int) -> list[str]:
    """The due dates alerted for the team once the background scan has raised ``count``."""
    async with asyncio.timeout(15):
        while len(events := await outbox_events(svc, team_id, OVERDUE)) < count:
            await asyncio.sleep(0.05)
    return [e["data"]["due_date"] for e in events]


class TestReschedule:
    async def test_staff_move_a_due_date_with_a_reason(self, milestones: RunningService) -> None:
        team = await accept_team(milestones)
        workshop = team.milestones["workshop"]
        new_day = today(milestones) + timedelta(days=60)

        response = await reschedule(milestones, workshop, new_day.isoformat(), "Sommerferien")

        assert response.status_code == 200, response.text
        assert response.json()["due_date"] == new_day.isoformat()
        [event] = await outbox_events(milestones, team.id, RESCHEDULED)
        assert event["data"]["reason"] == "Sommerferien"
        assert event["data"]["due_date"] == new_day.isoformat()
        assert event["data"]["rescheduled_by"] == "staff"
        [audit] = [
            e
            for e in await audit_entries(milestones, workshop)
            if e["action"] == "milestone.rescheduled"
        ]
        assert audit["actor"] == "api:staff"
        assert audit["before"] == {"due_date": event["data"]["previous_due_date"]}
        assert audit["after"] == {"due_date": new_day.isoformat(), "reason": "Sommerferien"}

    @pytest.mark.parametrize("who", ["agent-anna", "finance", "operator"])
    async def test_only_staff_may_reschedule(self, milestones: RunningService, who: str) -> None:
        team = await accept_team(milestones, agent_id="agent-anna")
        new_day = (today(milestones) + timedelta(days=60)).isoformat()
        response = await reschedule(milestones, team.milestones["kickoff"], new_day, who=who)
        assert_problem(response, 403, "forbidden")

    async def test_without_a_key_it_is_401(self, milestones: RunningService) -> None:
        response = await milestones.client.post(
            "/api/v1/milestones/x/reschedule", json={"due_date": "2030-01-01", "reason": "r"}
        )
        assert_problem(response, 401, "unauthorized")

    async def test_an_unknown_milestone_is_404(self, milestones: RunningService) -> None:
        day = (today(milestones) + timedelta(days=3)).isoformat()
        assert_problem(await reschedule(milestones, "unknown", day), 404, "not-found")

    @pytest.mark.parametrize(
        "body",
        [
            {"due_date": "01.09.2030", "reason": "r"},
            {"due_date": 1893456000, "reason": "r"},
            {"due_date": "2030-01-01T00:00:00Z", "reason": "r"},
            {"due_date": "2030-02-30", "reason": "r"},
            {"due_date": "2030-01-01"},
            {"due_date": "2030-01-01", "reason": ""},
            {"due_date": "2030-01-01", "reason": "r", "notify": True},
        ],
        ids=["german", "number", "timestamp", "no-such-day", "no-reason", "empty-reason", "extra"],
    )
    async def test_invalid_bodies_are_422(
        self, milestones: RunningService, body: dict[str, object]
    ) -> None:
        team = await accept_team(milestones)
        response = await milestones.client.post(
            f"/api/v1/milestones/{team.milestones['kickoff']}/reschedule",
            json=body,
            headers=milestones.auth("staff"),
        )
        assert_problem(response, 422, "validation-error")

    async def test_a_day_before_today_in_berlin_is_422(self, milestones: RunningService) -> None:
        team = await accept_team(milestones)
        yesterday = (today(milestones) - timedelta(days=1)).isoformat()
        response = await reschedule(milestones, team.milestones["kickoff"], yesterday)
        assert_problem(response, 422, "due-date-in-past")

    async def test_a_blank_reason_is_422(self, milestones: RunningService) -> None:
        team = await accept_team(milestones)
        day = (today(milestones) + timedelta(days=3)).isoformat()
        response = await reschedule(milestones, team.milestones["kickoff"], day, reason="   ")
        assert_problem(response, 422, "invalid-reschedule")

    async def test_a_completed_milestone_is_409(self, milestones: RunningService) -> None:
        team = await accept_team(milestones)
        await complete_and_confirm(milestones, team.milestones["kickoff"])
        day = (today(milestones) + timedelta(days=3)).isoformat()
        response = await reschedule(milestones, team.milestones["kickoff"], day)
        assert_problem(response, 409, "milestone-completed")

    async def test_a_plan_waiting_for_budget_is_409_until_the_allocation(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones, funded=False)
        day = next_working_day(today(milestones) + timedelta(days=30)).isoformat()

        response = await reschedule(milestones, team.milestones["kickoff"], day)

        assert_problem(response, 409, "plan-not-active")
        assert await outbox_events(milestones, team.id, RESCHEDULED) == []
        await fund_team(milestones, team)
        response = await reschedule(milestones, team.milestones["kickoff"], day)
        assert response.status_code == 200, response.text

    async def test_a_reschedule_re_arms_the_overdue_alert(self, milestones: RunningService) -> None:
        team = await accept_team(milestones)
        kickoff = team.milestones["kickoff"]
        path = f"/api/v1/milestones/{kickoff}"
        first_due = date.fromisoformat((await get_ok(milestones, path))["due_date"])

        milestones.clock.set(overdue_from(first_due))
        assert await overdue_alerts(milestones, team.id, 1) == [first_due.isoformat()]
        assert (await get_ok(milestones, path))["status"] == "overdue"

        new_due = today(milestones) + timedelta(days=5)
        assert (await reschedule(milestones, kickoff, new_due.isoformat())).status_code == 200
        assert (await get_ok(milestones, path))["status"] == "open"

        milestones.clock.set(overdue_from(new_due))
        assert await overdue_alerts(milestones, team.id, 2) == [
            first_due.isoformat(),
            new_due.isoformat(),
        ]
