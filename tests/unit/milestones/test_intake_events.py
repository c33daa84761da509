"""Intake's events: an accepted team gets its call's plan, waiting for it if need be; a withdrawn
one stops."""

from __future__ import annotations

from datetime import date
from functools import partial

import pytest
from pydantic import ValidationError

from cimis_contracts.intake import PhaseStep
from cimis_contracts.milestones import PlanCancelledV1, PlanCreatedV1
from services.milestones.app.commands import Actor, CompleteMilestone
from services.milestones.app.intake_events import (
    on_call_opened,
    on_team_accepted,
    on_team_reassigned,
    on_team_withdrawn,
)
from services.milestones.domain.plans import CANCELLED, CLOSED, COMPLETED, FROM_CALL
from tests.unit.milestones.builders import (
    call_opened,
    team_accepted,
    team_reassigned,
    team_withdrawn,
)
from tests.unit.milestones.conftest import Harness, complete_and_confirm

CREATED = PlanCreatedV1.TYPE
CANCELLED_TYPE = PlanCancelledV1.TYPE


class TestTeamAccepted:
    async def test_a_team_of_a_known_call_gets_the_calls_plan(self, harness: Harness) -> None:
        await harness.apply(on_call_opened, call_opened())
        await harness.apply(on_team_accepted, team_accepted())

        plan = await harness.plan()
        assert plan.template == FROM_CALL
        assert [(m.key, m.due_date) for m in plan.milestones] == [
            ("kickoff", date(2024, 8, 8)),
            ("prototype", date(2024, 9, 30)),
            ("final", date(2024, 10, 30)),
        ]
        [event] = await harness.events(CREATED)
        assert event["subject"] == "team-1"
        assert event["source"] == "cimis/milestones"
        data = event["data"]
        assert (data["team_id"], data["call_id"], data["agent_id"]) == (
            "team-1",
            "call-1",
            "agent-anna",
        )
        assert [(m["milestone_id"], m["key"], m["due_date"]) for m in data["milestones"]] == [
            (m.id, m.key, m.due_date.isoformat()) for m in plan.milestones
        ]
        [audit] = await harness.audit("plan.created")
        assert audit["actor"].startswith("event:")
        assert audit["after"]["team_id"] == "team-1"

    async def test_a_team_accepted_before_its_call_opened_waits_for_the_calls_plan(
        self, harness: Harness
    ) -> None:
        await harness.apply(on_team_accepted, team_accepted())

        assert not await harness.has_plan("team-1")
        assert await harness.events(CREATED) == []
        [waiting] = await harness.audit("plan.awaiting_call")
        assert waiting["after"]["call_id"] == "call-1"

        await harness.apply(on_call_opened, call_opened())

        plan = await harness.plan()
        assert plan.template == FROM_CALL
        # Due from the acceptance, not from the call's arrival.
        assert [(m.key, m.due_date) for m in plan.milestones] == [
            ("kickoff", date(2024, 8, 8)),
            ("prototype", date(2024, 9, 30)),
            ("final", date(2024, 10, 30)),
        ]
        [event] = await harness.events(CREATED)
        assert event["subject"] == "team-1"
        # The call's later teams get its plan straight away.
        await harness.apply(on_team_accepted, team_accepted("team-2"))
        assert len((await harness.plan("team-2")).milestones) == 3

    async def test_a_waiting_team_accepted_twice_gets_one_plan(self, harness: Harness) -> None:
        await harness.apply(on_team_accepted, team_accepted())
        await harness.apply(on_team_accepted, team_accepted())

        await harness.apply(on_call_opened, call_opened())

        assert len(await harness.events(CREATED)) == 1
        assert len(await harness.audit("plan.created")) == 1

    async def test_a_second_acceptance_of_the_same_team_plans_nothing_new(
        self, harness: Harness
    ) -> None:
        await harness.accept(team_accepted())
        first = await harness.plan()

        await harness.apply(on_team_accepted, team_accepted())

        assert await harness.plan() == first
        assert len(await harness.events(CREATED)) == 1

    async def test_a_call_opened_twice_keeps_its_first_plan(self, harness: Harness) -> None:
        await harness.apply(on_call_opened, call_opened())
        await harness.apply(
            on_call_opened,
            call_opened(phase_plan=[PhaseStep(key="final", title="F", days_after_acceptance=5)]),
        )
        await harness.apply(on_team_accepted, team_accepted())
        assert len((await harness.plan()).milestones) == 3
        assert len(await harness.audit("call_plan.recorded")) == 1

    def test_a_call_plan_that_breaks_the_rules_never_reaches_the_handler(self) -> None:
        # The contract refuses it: the consumer dead-letters such an event undecoded.
        with pytest.raises(ValidationError):
            call_opened(
                phase_plan=[
                    PhaseStep(key="final", title="A", days_after_acceptance=30),
                    PhaseStep(key="kickoff", title="B", days_after_acceptance=40),
                ]
            )


class TestTeamWithdrawn:
    async def test_withdrawal_closes_the_plan_and_cancels_its_open_milestones(
        self, harness: Harness
    ) -> None:
        await harness.accept(team_accepted())

        await harness.apply(on_team_withdrawn, team_withdrawn())

        plan = await harness.plan()
        assert plan.status == CLOSED
        assert {m.status for m in plan.milestones} == {CANCELLED}
        [event] = await harness.events(CANCELLED_TYPE)
        assert event["data"]["cancelled_milestones"] == 5
        assert event["data"]["call_id"] == "call-1"
        [audit] = await harness.audit("plan.cancelled")
        assert audit["before"]["status"] == "active"
        assert audit["after"] == {"status": "closed", "reason": "Unternehmen insolvent"}

    async def test_a_second_withdrawal_changes_nothing(self, harness: Harness) -> None:
        await harness.accept(team_accepted())
        await harness.apply(on_team_withdrawn, team_withdrawn())
        await harness.apply(on_team_withdrawn, team_withdrawn())
        assert len(await harness.events(CANCELLED_TYPE)) == 1

    async def test_a_withdrawal_before_the_acceptance_arrived_prevents_the_plan(
        self, harness: Harness
    ) -> None:
        await harness.apply(on_call_opened, call_opened())
        await harness.apply(on_team_withdrawn, team_withdrawn())
        await harness.apply(on_team_accepted, team_accepted())
        assert not await harness.has_plan("team-1")
        assert await harness.events() == []

    async def test_a_team_that_withdrew_while_waiting_for_its_call_gets_no_plan(
        self, harness: Harness
    ) -> None:
        await harness.apply(on_team_accepted, team_accepted())
        await harness.apply(on_team_withdrawn, team_withdrawn())

        await harness.apply(on_call_opened, call_opened())

        assert not await harness.has_plan("team-1")
        assert await harness.events() == []

    async def test_a_completed_plan_stays_completed(self, harness: Harness) -> None:
        await harness.accept(team_accepted())
        for milestone in (await harness.plan()).milestones:
            done = CompleteMilestone(milestone.id, Actor("staff", False), note="erledigt")
            await harness.run(partial(complete_and_confirm, cmd=done))
        assert (await harness.plan()).status == COMPLETED

        await harness.apply(on_team_withdrawn, team_withdrawn())

        assert (await harness.plan()).status == COMPLETED
        assert await harness.events(CANCELLED_TYPE) == []


class TestTeamReassigned:
    async def test_the_plan_and_its_milestones_belong_to_the_new_agent(
        self, harness: Harness
    ) -> None:
        before = await harness.accept(team_accepted())

        await harness.apply(on_team_reassigned, team_reassigned())
        await harness.apply(on_team_reassigned, team_reassigned(agent_id="agent-ben"))

        after = await harness.plan()
        assert after.agent_id == "agent-ben"
        assert after.is_coached_by("AGENT-BEN")
        assert not after.is_coached_by("agent-anna")
        assert after.milestones == before.milestones
        [entry] = await harness.audit("plan.reassigned")
        assert (entry["before"], entry["after"]["agent_id"]) == (
            {"agent_id": "agent-anna"},
            "agent-ben",
        )

    async def test_a_team_waiting_for_its_calls_plan_gets_it_under_the_new_agent(
        self, harness: Harness
    ) -> None:
        await harness.apply(on_team_accepted, team_accepted())
        await harness.apply(on_team_reassigned, team_reassigned())
        await harness.apply(on_call_opened, call_opened())

        assert (await harness.plan()).agent_id == "agent-ben"
        [created] = await harness.events(CREATED)
        assert created["data"]["agent_id"] == "agent-ben"
