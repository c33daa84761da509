"""Teams over the API: forming, accepting once, withdrawing, one accepted team per application."""

from __future__ import annotations

from sqlalchemy import select

from cimis_contracts.notify import AgentRetiredV1
from services.intake.adapters.tables import chassis
from tests.api.intake.conftest import announce, register_agents
from tests.api.intake.steps import (
    apply,
    assert_problem,
    open_call,
    outbox_events,
    propose_team,
    team_body,
)
from tests.support.service_app import RunningService


async def accept(intake: RunningService, team_id: str, who: str = "staff") -> object:
    return await intake.client.post(f"/api/v1/teams/{team_id}/accept", headers=intake.auth(who))


class TestProposeTeam:
    async def test_staff_forms_a_proposed_team(self, intake: RunningService) -> None:
        team = await propose_team(intake, input_vat_deductible=True)
        assert team["status"] == "proposed"
        assert team["budget"] == "45000.00"
        assert team["input_vat_deductible"] is True
        [proposed] = await outbox_events(intake, team["id"])
        assert proposed["type"] == "de.cimis.intake.team_proposed.v1"
        assert proposed["data"]["budget_cents"] == 45_000_00

    async def test_budget_above_the_calls_maximum_is_422(self, intake: RunningService) -> None:
        body = await team_body(intake, budget="50000.01")
        response = await intake.client.post(
            "/api/v1/teams", json=body, headers=intake.auth("staff")
        )
        assert_problem(response, 422, "team-budget-above-maximum")

    async def test_an_unknown_application_is_422(self, intake: RunningService) -> None:
        body = await team_body(intake, creative_application_ids=["missing"])
        response = await intake.client.post(
            "/api/v1/teams", json=body, headers=intake.auth("staff")
        )
        assert "missing" in assert_problem(response, 422, "unknown-application")["detail"]

    async def test_an_ineligible_creative_is_422(self, intake: RunningService) -> None:
        body = await team_body(intake)
        outsider = await apply(intake, body["call_id"], "creative", district="Zwickau")
        body["creative_application_ids"] = [outsider["id"]]
        response = await intake.client.post(
            "/api/v1/teams", json=body, headers=intake.auth("staff")
        )
        assert_problem(response, 422, "application-ineligible")

    async def test_the_budget_must_be_a_string(self, intake: RunningService) -> None:
        body = await team_body(intake, budget=45000)
        response = await intake.client.post(
            "/api/v1/teams", json=body, headers=intake.auth("staff")
        )
        assert_problem(response, 422, "validation-error")

    async def test_agents_cannot_form_teams(self, intake: RunningService) -> None:
        body = await team_body(intake)
        response = await intake.client.post(
            "/api/v1/teams", json=body, headers=intake.auth("agent-anna")
        )
        assert_problem(response, 403, "forbidden")


class TestAcceptTeam:
    async def test_accepting_emits_team_accepted_exactly_once(self, intake: RunningService) -> None:
        team = await propose_team(intake)
        first = await accept(intake, team["id"])
        second = await accept(intake, team["id"])
        assert first.status_code == second.status_code == 200  # type: ignore[attr-defined]
        accepted = first.json()  # type: ignore[attr-defined]
        assert accepted["status"] == "accepted"
        assert accepted["accepted_at"]
        assert second.json() == accepted  # type: ignore[attr-defined]
        [_, event] = await outbox_events(intake, team["id"])
        assert event["type"] == "de.cimis.intake.team_accepted.v1"
        assert event["data"]["budget_cents"] == 45_000_00
        assert event["data"]["agent_id"] == "agent-anna"

    async def test_acceptance_is_audited_with_who_before_and_after(
        self, intake: RunningService
    ) -> None:
        team = await propose_team(intake)
        await accept(intake, team["id"])
        audit = chassis.audit_log
        async with intake.host.db.sessions() as session:
            rows = (
                await session.execute(
                    select(audit).where(audit.c.entity_id == team["id"]).order_by(audit.c.id)
                )
            ).all()
        assert [r.action for r in rows] == ["team.proposed", "team.accepted"]
        accepted = rows[1]
        assert accepted.actor == "api:staff"
        assert accepted.before["status"] == "proposed"
        assert accepted.after["status"] == "accepted"
        assert accepted.correlation_id

    async def test_an_application_joins_only_one_accepted_team(
        self, intake: RunningService
    ) -> None:
        body = await team_body(intake)
        first = await intake.client.post("/api/v1/teams", json=body, headers=intake.auth("staff"))
        other = await intake.client.post(
            "/api/v1/teams", json=body | {"title": "Alternative"}, headers=intake.auth("staff")
        )
        assert (await accept(intake, first.json()["id"])).status_code == 200  # type: ignore[attr-defined]
        assert_problem(await accept(intake, other.json()["id"]), 409, "application-taken")
        response = await intake.client.post(
            "/api/v1/teams", json=body, headers=intake.auth("staff")
        )
        assert_problem(response, 409, "application-taken")

    async def test_unknown_team_is_404(self, intake: RunningService) -> None:
        assert_problem(await accept(intake, "nope"), 404, "not-found")

    async def test_only_staff_accept(self, intake: RunningService) -> None:
        team = await propose_team(intake)
        assert_problem(await accept(intake, team["id"], "finance"), 403, "forbidden")


class TestWithdrawTeam:
    async def test_withdrawing_an_accepted_team_frees_its_applications(
        self, intake: RunningService
    ) -> None:
        body = await team_body(intake)
        team = (
            await intake.client.post("/api/v1/teams", json=body, headers=intake.auth("staff"))
        ).json()
        await accept(intake, team["id"])
        response = await intake.client.post(
            f"/api/v1/teams/{team['id']}/withdraw",
            json={"reason": "Unternehmen steigt aus"},
            headers=intake.auth("staff"),
        )
        assert response.status_code == 200
        assert response.json()["status"] == "withdrawn"
        events = await outbox_events(intake, team["id"])
        assert [e["type"] for e in events] == [
            "de.cimis.intake.team_proposed.v1",
            "de.cimis.intake.team_accepted.v1",
            "de.cimis.intake.team_withdrawn.v1",
        ]
        assert events[2]["data"]["was_accepted"] is True
        assert_problem(await accept(intake, team["id"]), 409, "team-withdrawn")
        again = await intake.client.post("/api/v1/teams", json=body, headers=intake.auth("staff"))
        assert (await accept(intake, again.json()["id"])).status_code == 200  # type: ignore[attr-defined]

    async def test_a_reason_is_required(self, intake: RunningService) -> None:
        team = await propose_team(intake)
        response = await intake.client.post(
            f"/api/v1/teams/{team['id']}/withdraw", json={}, headers=intake.auth("staff")
        )
        assert_problem(response, 422, "validation-error")


class TestAgents:
    async def test_a_team_naming_an_unregistered_agent_is_422_listing_nothing_stored(
        self, intake: RunningService
    ) -> None:
        body = await team_body(intake, agent_id="agent-nobody")
        response = await intake.client.post(
            "/api/v1/teams", json=body, headers=intake.auth("staff")
        )
        problem = assert_problem(response, 422, "unknown-agent")
        assert "agent-nobody" in problem["detail"]

    async def test_staff_reassign_an_accepted_team_and_the_new_agent_may_read_it(
        self, intake: RunningService
    ) -> None:
        await register_agents(intake, "agent-carla")
        team = await propose_team(intake)
        await accept(intake, team["id"])
        path = f"/api/v1/teams/{team['id']}"
        body = {"agent_id": "Agent-Carla", "reason": "Elternzeit"}

        forbidden = await intake.client.post(
            f"{path}/reassign", json=body, headers=intake.auth("agent-anna")
        )
        response = await intake.client.post(
            f"{path}/reassign", json=body, headers=intake.auth("staff")
        )

        assert_problem(forbidden, 403, "forbidden")
        assert response.status_code == 200, response.text
        assert response.json()["agent_id"] == "agent-carla"
        events = await outbox_events(intake, team["id"])
        assert [e["type"] for e in events][-1] == "de.cimis.intake.team_reassigned.v1"
        assert events[-1]["data"]["previous_agent_id"] == "agent-anna"
        assert (await intake.client.get(path, headers=intake.auth("agent-anna"))).status_code == 403

    async def test_reassigning_to_a_retired_agent_is_422_and_a_reason_is_required(
        self, intake: RunningService
    ) -> None:
        await announce(
            intake,
            AgentRetiredV1(agent_id="agent-dora", name="Dora", retired_at=intake.clock.now()),
        )
        team = await propose_team(intake)
        path = f"/api/v1/teams/{team['id']}/reassign"

        retired = await intake.client.post(
            path, json={"agent_id": "agent-dora", "reason": "x"}, headers=intake.auth("staff")
        )
        no_reason = await intake.client.post(
            path, json={"agent_id": "agent-ben"}, headers=intake.auth("staff")
        )

        assert "retired" in assert_problem(retired, 422, "unknown-agent")["detail"]
        assert_problem(no_reason, 422, "validation-error")


class TestReadTeams:
    async def test_an_agent_sees_only_their_own_teams(self, intake: RunningService) -> None:
        call = await open_call(intake)
        company = await apply(intake, call["id"], "company")
        creative = await apply(intake, call["id"], "creative")
        base = {
            "call_id": call["id"],
            "title": "T",
            "challenge": "C",
            "company_application_id": company["id"],
            "creative_application_ids": [creative["id"]],
            "budget": "1000.00",
        }
        anna = (
            await intake.client.post(
                "/api/v1/teams",
                json=base | {"agent_id": "agent-anna"},
                headers=intake.auth("staff"),
            )
        ).json()
        ben = (
            await intake.client.post(
                "/api/v1/teams", json=base | {"agent_id": "agent-ben"}, headers=intake.auth("staff")
            )
        ).json()
        own = await intake.client.get(
            f"/api/v1/teams/{anna['id']}", headers=intake.auth("agent-anna")
        )
        assert own.status_code == 200
        foreign = await intake.client.get(
            f"/api/v1/teams/{ben['id']}", headers=intake.auth("agent-anna")
        )
        assert_problem(foreign, 403, "forbidden")
        listed = await intake.client.get(
            "/api/v1/teams", params={"call_id": call["id"]}, headers=intake.auth("agent-anna")
        )
        assert [t["id"] for t in listed.json()["items"]] == [anna["id"]]
        staff_view = await intake.client.get(
            "/api/v1/teams", params={"call_id": call["id"]}, headers=intake.auth("staff")
        )
        assert {t["id"] for t in staff_view.json()["items"]} == {anna["id"], ben["id"]}

    async def test_status_filter(self, intake: RunningService) -> None:
        team = await propose_team(intake)
        await accept(intake, team["id"])
        listed = await intake.client.get(
            "/api/v1/teams",
            params={"call_id": team["call_id"], "status": "accepted"},
            headers=intake.auth("operator"),
        )
        assert [t["id"] for t in listed.json()["items"]] == [team["id"]]

    async def test_unknown_team_is_404(self, intake: RunningService) -> None:
        response = await intake.client.get("/api/v1/teams/nope", headers=intake.auth("staff"))
        assert_problem(response, 404, "not-found")
