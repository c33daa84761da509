"""The programme overview: milestones by status across teams, agents' own only, and the gauge."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from services.milestones.domain.calendar import overdue_from
from tests.api.milestones.steps import (
    Team,
    accept_team,
    assert_problem,
    complete_and_confirm,
    get_ok,
)
from tests.support.service_app import RunningService


async def a_call_with_two_teams(svc: RunningService) -> tuple[str, Team, Team]:
    """Anna's team is a week ahead of Ben's, so its kick-off falls due first."""
    call_id = str(uuid.uuid4())
    anna = await accept_team(svc, call_id=call_id, accepted_at=svc.clock.now() - timedelta(days=7))
    ben = await accept_team(svc, call_id=call_id, agent_id="agent-ben")
    return call_id, anna, ben


async def due_date_of(svc: RunningService, milestone_id: str) -> date:
    return date.fromisoformat((await get_ok(svc, f"/api/v1/milestones/{milestone_id}"))["due_date"])


def ids(page: dict[str, Any]) -> list[str]:
    return [m["id"] for m in page["items"]]


class TestOverview:
    async def test_overdue_open_and_completed_are_listed_apart(
        self, milestones: RunningService
    ) -> None:
        call_id, anna, ben = await a_call_with_two_teams(milestones)
        await complete_and_confirm(milestones, anna.milestones["workshop"])
        milestones.clock.set(
            overdue_from(await due_date_of(milestones, anna.milestones["kickoff"]))
        )

        overdue = await get_ok(milestones, "/api/v1/milestones", status="overdue", call_id=call_id)
        completed = await get_ok(
            milestones, "/api/v1/milestones", status="completed", call_id=call_id
        )
        still_open = await get_ok(milestones, "/api/v1/milestones", status="open", call_id=call_id)

        assert ids(overdue) == [anna.milestones["kickoff"]]
        [item] = overdue["items"]
        assert {"id", "key", "title", "due_date", "status", "completed_at"} <= set(item)
        assert (item["status"], item["team_id"], item["agent_id"]) == (
            "overdue",
            anna.id,
            "agent-anna",
        )
        assert ids(completed) == [anna.milestones["workshop"]]
        assert len(still_open["items"]) == 8
        assert ben.milestones["kickoff"] in ids(still_open)
        assert overdue["next_cursor"] is None

    async def test_an_agent_sees_only_their_own_teams(self, milestones: RunningService) -> None:
        call_id, anna, ben = await a_call_with_two_teams(milestones)

        mine = await get_ok(milestones, "/api/v1/milestones", "agent-ben", call_id=call_id)
        foreign = await get_ok(
            milestones, "/api/v1/milestones", "agent-ben", call_id=call_id, team_id=anna.id
        )

        assert {m["team_id"] for m in mine["items"]} == {ben.id}
        assert foreign["items"] == []

    async def test_one_milestone_is_shown_to_staff_and_its_agent_only(
        self, milestones: RunningService
    ) -> None:
        _, anna, _ = await a_call_with_two_teams(milestones)
        path = f"/api/v1/milestones/{anna.milestones['test']}"
        assert (await get_ok(milestones, path, "agent-anna"))["key"] == "test"
        assert (await get_ok(milestones, path, "operator"))["key"] == "test"
        other = await milestones.client.get(path, headers=milestones.auth("agent-ben"))
        assert_problem(other, 403, "forbidden")
        missing = await milestones.client.get(
            "/api/v1/milestones/unknown", headers=milestones.auth("staff")
        )
        assert_problem(missing, 404, "not-found")

    async def test_pages_follow_the_cursor_in_due_date_order(
        self, milestones: RunningService
    ) -> None:
        call_id, anna, ben = await a_call_with_two_teams(milestones)
        seen: list[dict[str, Any]] = []
        cursor = None
        for _ in range(10):
            params: dict[str, Any] = {"call_id": call_id, "limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = await get_ok(milestones, "/api/v1/milestones", **params)
            seen.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len({m["id"] for m in seen}) == 10
        assert [m["due_date"] for m in seen] == sorted(m["due_date"] for m in seen)
        assert set(anna.milestones.values()) | set(ben.milestones.values()) == {
            m["id"] for m in seen
        }

    @pytest.mark.parametrize(
        ("params", "status", "slug"),
        [
            ({"status": "late"}, 422, "validation-error"),
            ({"key": "launch"}, 422, "validation-error"),
            ({"limit": 0}, 422, "validation-error"),
            ({"limit": 201}, 422, "validation-error"),
            ({"cursor": "not-a-cursor"}, 400, "invalid-cursor"),
        ],
    )
    async def test_bad_queries_are_problems(
        self, milestones: RunningService, params: dict[str, Any], status: int, slug: str
    ) -> None:
        response = await milestones.client.get(
            "/api/v1/milestones", params=params, headers=milestones.auth("staff")
        )
        assert_problem(response, status, slug)

    async def test_without_a_key_it_is_401(self, milestones: RunningService) -> None:
        assert_problem(await milestones.client.get("/api/v1/milestones"), 401, "unauthorized")


class TestOverdueGauge:
    async def test_the_gauge_counts_overdue_milestones_without_ids_as_labels(
        self, milestones: RunningService
    ) -> None:
        await a_call_with_two_teams(milestones)
        milestones.clock.advance(timedelta(days=30))
        expected = await _all_overdue(milestones)
        assert expected > 0

        async with asyncio.timeout(15):
            while (value := await _gauge(milestones)) != expected:
                await asyncio.sleep(0.05)

        assert value == expected
        metrics = (await milestones.client.get("/metrics")).text
        [line] = [x for x in metrics.splitlines() if x.startswith("cimis_milestones_overdue")]
        assert line.split()[0] == "cimis_milestones_overdue"


async def _all_overdue(svc: RunningService) -> int:
    count, cursor = 0, None
    while True:
        params: dict[str, Any] = {"status": "overdue", "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = await get_ok(svc, "/api/v1/milestones", **params)
        count += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return count


async def _gauge(svc: RunningService) -> float | None:
    text = (await svc.client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith("cimis_milestones_overdue "):
            return float(line.split()[1])
    return None
