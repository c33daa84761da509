"""Completing milestones over the API: staff or the team's own agent, once, the final one last."""

from __future__ import annotations

import pytest

from cimis_contracts.milestones import (
    MilestoneCompletedV1,
    MilestoneReopenedV1,
    MilestoneReportedV1,
    MilestoneWaivedV1,
    PlanCompletedV1,
)
from tests.api.milestones.steps import (
    accept_team,
    assert_problem,
    audit_entries,
    complete,
    complete_and_confirm,
    confirm,
    deliver,
    get_ok,
    outbox_events,
    withdraw_team,
)
from tests.support.feed import published_event
from tests.support.service_app import RunningService
from tests.unit.milestones.builders import payment_changed, tranche_released

COMPLETED = MilestoneCompletedV1.TYPE


class TestComplete:
    async def test_the_teams_agent_completes_a_milestone_with_note_and_evidence(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones, agent_id="agent-anna")
        kickoff = team.milestones["kickoff"]

        response = await complete(
            milestones,
            kickoff,
            "agent-anna",
            note="Auftakt in Annaberg-Buchholz",
            evidence_url="https://example.org/protokoll.pdf",
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["id"], body["key"], body["status"]) == (kickoff, "kickoff", "reported")
        assert body["reported_at"] == milestones.clock.now().isoformat().replace("+00:00", "Z")
        assert (body["reported_by"], body["note"], body["evidence_url"]) == (
            "agent-anna",
            "Auftakt in Annaberg-Buchholz",
            "https://example.org/protokoll.pdf",
        )
        assert await outbox_events(milestones, team.id, COMPLETED) == []
        [reported] = await outbox_events(milestones, team.id, MilestoneReportedV1.TYPE)
        assert reported["data"]["reported_by"] == "agent-anna"

        confirmed = await confirm(milestones, kickoff, "staff")
        assert confirmed.status_code == 200, confirmed.text
        assert (confirmed.json()["status"], confirmed.json()["completed_by"]) == (
            "completed",
            "staff",
        )
        [event] = await outbox_events(milestones, team.id, COMPLETED)
        assert event["data"]["milestone_id"] == kickoff
        assert event["data"]["key"] == "kickoff"
        assert (event["data"]["completed_by"], event["data"]["reported_by"]) == (
            "staff",
            "agent-anna",
        )
        plan = await get_ok(milestones, f"/api/v1/teams/{team.id}/milestones")
        assert plan["progress"]["completed"] == 1

    async def test_four_eyes_the_reporter_cannot_confirm(self, milestones: RunningService) -> None:
        team = await accept_team(milestones)
        kickoff = team.milestones["kickoff"]
        assert_problem(await confirm(milestones, kickoff, "staff"), 409, "milestone-not-reported")
        await complete(milestones, kickoff, "staff")
        assert_problem(await confirm(milestones, kickoff, "staff"), 403, "four-eyes")
        agent = await confirm(milestones, kickoff, "agent-anna")
        assert agent.status_code == 403
        assert await outbox_events(milestones, team.id, COMPLETED) == []

    async def test_staff_reopen_a_confirmation_made_by_mistake(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones)
        prototype = team.milestones["prototype"]
        await complete_and_confirm(milestones, prototype)
        url = f"/api/v1/milestones/{prototype}/reopen"
        reopened = await milestones.client.post(
            url, json={"reason": "Bestätigung beim falschen Team"}, headers=milestones.auth("staff")
        )
        assert reopened.status_code == 200, reopened.text
        assert reopened.json()["status"] == "open"
        [event] = await outbox_events(milestones, team.id, MilestoneReopenedV1.TYPE)
        assert event["data"]["previous_status"] == "completed"
        again = await milestones.client.post(
            url, json={"reason": "noch mal"}, headers=milestones.auth("staff")
        )
        assert_problem(again, 409, "milestone-open")

    async def test_a_confirmation_whose_tranche_budget_paid_out_is_not_reopened(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones)
        for key in ("kickoff", "workshop", "prototype"):
            await complete_and_confirm(milestones, team.milestones[key])
        # Budget released 40 % on acceptance and 40 % with the prototype, then paid more
        # than the first tranche to the team.
        budget_says = [
            tranche_released("acceptance", 18_000_00, team.id, call_id=team.call_id),
            tranche_released("prototype", 18_000_00, team.id, call_id=team.call_id),
            payment_changed(20_000_00, team.id, call_id=team.call_id),
        ]
        await deliver(milestones, *(published_event(milestones, e) for e in budget_says))

        prototype = team.milestones["prototype"]
        refused = await milestones.client.post(
            f"/api/v1/milestones/{prototype}/reopen",
            json={"reason": "Bestätigung beim falschen Team"},
            headers=milestones.auth("staff"),
        )

        assert_problem(refused, 409, "tranche-paid-out")
        assert await outbox_events(milestones, team.id, MilestoneReopenedV1.TYPE) == []
        plan = await get_ok(milestones, f"/api/v1/teams/{team.id}/milestones")
        assert {m["key"]: m["status"] for m in plan["items"]}["prototype"] == "completed"

    async def test_an_agent_cannot_complete_another_agents_milestone(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones, agent_id="agent-anna")

        response = await complete(milestones, team.milestones["kickoff"], "agent-ben")

        assert_problem(response, 403, "forbidden")
        assert await outbox_events(milestones, team.id, COMPLETED) == []
        plan = await get_ok(milestones, f"/api/v1/teams/{team.id}/milestones")
        assert plan["items"][0]["status"] == "open"

    async def test_completing_twice_answers_200_and_emits_one_event(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones)
        kickoff = team.milestones["kickoff"]

        first = await complete_and_confirm(milestones, kickoff, "staff", note="erst")
        second = await complete(milestones, kickoff, "agent-anna", note="noch mal")
        third = await confirm(milestones, kickoff)

        assert first.status_code == second.status_code == third.status_code == 200
        assert second.json()["note"] == "erst"
        assert (second.json()["reported_by"], second.json()["completed_by"]) == (
            "staff",
            "staff2",
        )
        assert len(await outbox_events(milestones, team.id, COMPLETED)) == 1
        audited = [e["action"] for e in await audit_entries(milestones, kickoff)]
        assert audited == ["milestone.reported", "milestone.completed"]

    async def test_a_report_without_evidence_is_422_and_changes_nothing(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones)
        path = f"/api/v1/milestones/{team.milestones['kickoff']}/complete"

        for body in (None, {}, {"note": "   "}):
            response = await milestones.client.post(
                path, json=body, headers=milestones.auth("agent-anna")
            )
            problem = assert_problem(response, 422, "evidence-required")
            assert "note" in problem["detail"]
        with_link = await milestones.client.post(
            path,
            json={"evidence_url": "https://cloud.example.org/kickoff-protokoll.pdf"},
            headers=milestones.auth("agent-anna"),
        )

        assert with_link.status_code == 200, with_link.text
        assert (with_link.json()["status"], with_link.json()["note"]) == ("reported", None)
        types = [e["type"] for e in await outbox_events(milestones, team.id)]
        assert types.count(MilestoneReportedV1.TYPE) == 1

    async def test_completing_the_final_milestone_completes_the_plan(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones)
        for key in ("kickoff", "workshop", "prototype", "test"):
            assert (await complete_and_confirm(milestones, team.milestones[key])).status_code == 200

        response = await complete_and_confirm(milestones, team.milestones["final"])

        assert response.json()["plan_status"] == "completed"
        types = [e["type"] for e in await outbox_events(milestones, team.id)]
        assert types[-2:] == [COMPLETED, PlanCompletedV1.TYPE]
        plan = await get_ok(milestones, f"/api/v1/teams/{team.id}/milestones")
        assert plan["plan_status"] == "completed"
        assert plan["progress"] == {"completed": 5, "total": 5, "overdue": 0}

    async def test_final_first_leaves_the_plan_running(self, milestones: RunningService) -> None:
        team = await accept_team(milestones)
        response = await complete(milestones, team.milestones["final"])
        assert response.json()["plan_status"] == "active"
        types = [e["type"] for e in await outbox_events(milestones, team.id)]
        assert PlanCompletedV1.TYPE not in types

    async def test_staff_waive_a_milestone_with_a_reason_and_the_plan_can_complete(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones)
        url = f"/api/v1/milestones/{team.milestones['workshop']}/waive"
        by_agent = await milestones.client.post(
            url, json={"reason": "entfällt"}, headers=milestones.auth("agent-anna")
        )
        assert by_agent.status_code == 403
        no_reason = await milestones.client.post(url, json={}, headers=milestones.auth("staff"))
        assert_problem(no_reason, 422, "validation-error")
        waived = await milestones.client.post(
            url,
            json={"reason": "Workshop fand beim Kick-off statt"},
            headers=milestones.auth("staff"),
        )
        assert waived.status_code == 200, waived.text
        assert (waived.json()["status"], waived.json()["note"]) == (
            "waived",
            "Workshop fand beim Kick-off statt",
        )
        [event] = await outbox_events(milestones, team.id, MilestoneWaivedV1.TYPE)
        assert event["data"]["key"] == "workshop"
        for key in ("final", "kickoff", "test", "prototype"):
            response = await complete_and_confirm(milestones, team.milestones[key])
        assert response.json()["plan_status"] == "completed"
        completed = await complete(milestones, team.milestones["workshop"])
        assert_problem(completed, 409, "milestone-waived")
        listed = await get_ok(milestones, "/api/v1/milestones", status="waived", team_id=team.id)
        assert [m["key"] for m in listed["items"]] == ["workshop"]

    @pytest.mark.parametrize("who", ["finance", "operator"])
    async def test_read_only_roles_are_forbidden(
        self, milestones: RunningService, who: str
    ) -> None:
        team = await accept_team(milestones)
        assert_problem(
            await complete(milestones, team.milestones["kickoff"], who), 403, "forbidden"
        )

    async def test_without_a_key_it_is_401(self, milestones: RunningService) -> None:
        team = await accept_team(milestones)
        response = await milestones.client.post(
            f"/api/v1/milestones/{team.milestones['kickoff']}/complete", json={}
        )
        assert_problem(response, 401, "unauthorized")

    async def test_an_unknown_milestone_is_404(self, milestones: RunningService) -> None:
        assert_problem(await complete(milestones, "unknown"), 404, "not-found")

    @pytest.mark.parametrize(
        "body",
        [
            {"evidence_url": "ftp://example.org/x"},
            {"evidence_url": "https://example.org/with space"},
            {"note": "x" * 2001},
            {"status": "completed"},
            {"note": 5},
        ],
        ids=["not-http", "space-in-url", "note-too-long", "unknown-field", "note-not-text"],
    )
    async def test_invalid_bodies_are_422_and_change_nothing(
        self, milestones: RunningService, body: dict[str, object]
    ) -> None:
        team = await accept_team(milestones)
        response = await milestones.client.post(
            f"/api/v1/milestones/{team.milestones['kickoff']}/complete",
            json=body,
            headers=milestones.auth("staff"),
        )
        assert_problem(response, 422, "validation-error")
        assert await outbox_events(milestones, team.id, COMPLETED) == []

    async def test_a_plan_waiting_for_budget_is_409_and_stays_open(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones, funded=False)

        response = await complete(milestones, team.milestones["kickoff"])

        body = assert_problem(response, 409, "plan-not-active")
        assert "budget" in body["detail"]
        assert await outbox_events(milestones, team.id, COMPLETED) == []
        plan = await get_ok(milestones, f"/api/v1/teams/{team.id}/milestones")
        assert plan["items"][0]["status"] == "open"

    async def test_a_withdrawn_teams_milestone_cannot_be_completed(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones)
        await withdraw_team(milestones, team)
        response = await complete(milestones, team.milestones["kickoff"])
        assert_problem(response, 409, "plan-cancelled")

    async def test_an_idempotency_key_reused_with_another_body_is_409(
        self, milestones: RunningService
    ) -> None:
        team = await accept_team(milestones)
        path = f"/api/v1/milestones/{team.milestones['kickoff']}/complete"
        headers = milestones.auth("staff") | {"Idempotency-Key": "k-1"}
        first = await milestones.client.post(path, json={"note": "a"}, headers=headers)
        again = await milestones.client.post(path, json={"note": "a"}, headers=headers)
        other = await milestones.client.post(path, json={"note": "b"}, headers=headers)
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        assert_problem(other, 409, "idempotency-key-reused")
