"""Intake's directory of network agents (from notify's events) and the teams' reassignment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cimis_chassis.envelope import make_event
from cimis_contracts.base import EventData
from cimis_contracts.intake import TeamReassignedV1
from cimis_contracts.notify import AgentRegisteredV1, AgentRetiredV1, AgentUpdatedV1
from services.intake.adapters.unit_of_work import MemoryIntakeUnitOfWork
from services.intake.app import teams
from services.intake.app.commands import ReassignTeam
from services.intake.domain.agents import KnownAgent
from services.intake.domain.errors import IntakeRuleViolation, StateConflict
from services.intake.domain.teams import Team
from services.intake.entrypoints.consumer import HANDLERS
from tests.unit.intake.builders import NOW, company_facts, creative_facts
from tests.unit.intake.steps import (
    a_proposed_team,
    a_unit,
    accept,
    an_application,
    an_open_call,
    propose_command,
    run,
    withdraw,
)

LATER = NOW + timedelta(days=1)


async def announce(uow: MemoryIntakeUnitOfWork, *payloads: EventData) -> None:
    """Notify's events as intake's consumer applies them."""
    for payload in payloads:
        event = make_event(
            source="cimis/notify",
            type_=payload.TYPE,
            subject=payload.subject(),
            time=NOW,
            data=payload.model_dump(mode="json"),
        )
        async with uow:
            await HANDLERS[type(payload)](uow, payload, event)


async def a_team(uow: MemoryIntakeUnitOfWork, **overrides: str) -> Team:
    call = await an_open_call(uow)
    company = await an_application(uow, call, company_facts(), "Werkstatt")
    creative = await an_application(uow, call, creative_facts(), "Anna")
    if not overrides:
        return await a_proposed_team(uow, call, company, [creative])
    return await run(
        uow, teams.propose_team, propose_command(call, company, [creative], **overrides)
    )


class TestDirectory:
    async def test_an_agent_is_learned_renamed_and_retired_for_good(self) -> None:
        uow = a_unit()
        await announce(
            uow,
            AgentRegisteredV1(agent_id="agent-carla", name="Carla", registered_at=NOW),
            AgentUpdatedV1(agent_id="agent-carla", name="Carla Weiß", updated_at=LATER),
        )
        assert await uow.agents.get("AGENT-CARLA") == KnownAgent(
            "agent-carla", "Carla Weiß", updated_at=LATER
        )

        retired_at = LATER + timedelta(days=1)
        await announce(
            uow,
            AgentRetiredV1(agent_id="agent-carla", name="Carla Weiß", retired_at=retired_at),
            # A redelivered older update undoes nothing; a later one leaves her retired.
            AgentUpdatedV1(agent_id="agent-carla", name="Carla", updated_at=LATER),
            AgentUpdatedV1(
                agent_id="agent-carla", name="C. Weiß", updated_at=retired_at + timedelta(hours=1)
            ),
        )

        known = await uow.agents.get("agent-carla")
        assert known is not None
        assert (known.name, known.retired_at) == ("C. Weiß", retired_at)
        actions = [e.action for e in uow.audit_log if e.entity_type == "agent"]
        assert actions == ["agent.learned"] * 4

    async def test_a_team_may_not_name_an_agent_intake_never_heard_of(self) -> None:
        uow = a_unit()

        with pytest.raises(IntakeRuleViolation) as refused:
            await a_team(uow, agent_id="agent-nobody")

        assert refused.value.code == "unknown-agent"
        assert "agent-nobody" in refused.value.message
        assert uow.teams.by_id == {}

    async def test_a_team_may_not_name_a_retired_agent(self) -> None:
        uow = a_unit()
        await announce(uow, AgentRetiredV1(agent_id="agent-ben", name="Ben", retired_at=LATER))

        with pytest.raises(IntakeRuleViolation) as refused:
            await a_team(uow, agent_id="agent-ben")

        assert refused.value.code == "unknown-agent"
        assert "retired" in refused.value.message

    async def test_a_team_whose_agent_retired_after_proposal_is_not_accepted(self) -> None:
        uow = a_unit()
        team = await a_team(uow, agent_id="agent-ben")
        await announce(uow, AgentRetiredV1(agent_id="agent-ben", name="Ben", retired_at=LATER))

        with pytest.raises(IntakeRuleViolation) as refused:
            await accept(uow, team)

        assert refused.value.code == "unknown-agent"
        assert "retired" in refused.value.message
        assert uow.teams.by_id[team.id].status == "proposed"
        assert uow.events_of_type("de.cimis.intake.team_accepted.v1") == []


class TestReassign:
    async def test_an_accepted_team_gets_the_new_agent_and_every_service_is_told(self) -> None:
        uow = a_unit()
        team = await accept(uow, await a_team(uow))

        moved = await run(
            uow, teams.reassign_team, ReassignTeam(team.id, "Agent-Ben", "Elternzeit ", "sabine")
        )

        assert moved.agent_id == "agent-ben"
        assert uow.teams.by_id[team.id].agent_id == "agent-ben"
        [event] = uow.events_of_type(TeamReassignedV1.TYPE)
        assert event.subject == team.id
        assert {k: event.data[k] for k in ("agent_id", "previous_agent_id", "reason")} == {
            "agent_id": "agent-ben",
            "previous_agent_id": "agent-anna",
            "reason": "Elternzeit",
        }
        assert event.data["reassigned_by"] == "sabine"
        [entry] = [e for e in uow.audit_log if e.action == "team.reassigned"]
        assert (entry.before, entry.after) == (
            {"agent_id": "agent-anna"},
            {"agent_id": "agent-ben", "reason": "Elternzeit"},
        )

    async def test_the_same_agent_again_changes_nothing(self) -> None:
        uow = a_unit()
        team = await accept(uow, await a_team(uow))

        same = await run(
            uow, teams.reassign_team, ReassignTeam(team.id, "AGENT-ANNA", "x", "sabine")
        )

        assert same == team
        assert uow.events_of_type(TeamReassignedV1.TYPE) == []

    async def test_a_proposed_team_is_announced_with_its_new_agent_on_acceptance(self) -> None:
        uow = a_unit()
        team = await a_team(uow)

        await run(
            uow, teams.reassign_team, ReassignTeam(team.id, "agent-ben", "Zuständigkeit", "sabine")
        )
        accepted = await accept(uow, uow.teams.by_id[team.id])

        assert uow.events_of_type(TeamReassignedV1.TYPE) == []
        [event] = uow.events_of_type("de.cimis.intake.team_accepted.v1")
        assert event.data["agent_id"] == accepted.agent_id == "agent-ben"

    async def test_a_retired_or_unknown_agent_or_a_withdrawn_team_is_refused(self) -> None:
        uow = a_unit()
        team = await accept(uow, await a_team(uow))
        await announce(uow, AgentRetiredV1(agent_id="agent-ben", name="Ben", retired_at=LATER))

        for agent_id in ("agent-ben", "agent-nobody"):
            with pytest.raises(IntakeRuleViolation) as refused:
                await run(uow, teams.reassign_team, ReassignTeam(team.id, agent_id, "x", "sabine"))
            assert refused.value.code == "unknown-agent"
        await withdraw(uow, team)
        await announce(
            uow, AgentRegisteredV1(agent_id="agent-carla", name="Carla", registered_at=LATER)
        )
        with pytest.raises(StateConflict) as conflict:
            await run(uow, teams.reassign_team, ReassignTeam(team.id, "agent-carla", "x", "sabine"))

        assert conflict.value.code == "team-withdrawn"
        assert uow.teams.by_id[team.id].agent_id == "agent-anna"
        assert uow.events_of_type(TeamReassignedV1.TYPE) == []
