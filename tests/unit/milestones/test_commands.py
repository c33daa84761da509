"""Completing and rescheduling through the handlers: events, audit entries and who may act."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cimis_contracts.milestones import (
    MilestoneCompletedV1,
    MilestoneReopenedV1,
    MilestoneReportedV1,
    MilestoneRescheduledV1,
    PlanCompletedV1,
)
from services.milestones.app.commands import (
    Actor,
    CompleteMilestone,
    ConfirmMilestone,
    ReopenMilestone,
    RescheduleMilestone,
)
from services.milestones.app.handlers import (
    complete_milestone,
    confirm_milestone,
    reopen_milestone,
    reschedule_milestone,
)
from services.milestones.domain.errors import (
    FourEyesViolation,
    NotFound,
    NotYourTeam,
    StateConflict,
)
from services.milestones.domain.plans import Plan
from tests.unit.milestones.builders import team_accepted
from tests.unit.milestones.conftest import Harness

STAFF = Actor("staff", is_agent=False)
ANNA = Actor("agent-anna", is_agent=True)
BEN = Actor("agent-ben", is_agent=True)
CONFIRMER = Actor("sven-staff", is_agent=False)


@pytest.fixture
async def plan(harness: Harness) -> Plan:
    return await harness.accept(team_accepted())


def milestone_id(plan: Plan, key: str) -> str:
    return next(m.id for m in plan.milestones if m.key == key)


async def complete(harness: Harness, plan: Plan, key: str, actor: Actor = STAFF, **kw: str) -> None:
    """``actor`` reports the milestone done, and another staff member confirms it."""
    cmd = CompleteMilestone(milestone_id(plan, key), actor, **({"note": "erledigt"} | kw))
    await harness.run(lambda uow: complete_milestone(uow, cmd), actor=f"api:{actor.name}")
    yes = ConfirmMilestone(milestone_id(plan, key), CONFIRMER)
    await harness.run(lambda uow: confirm_milestone(uow, yes), actor=f"api:{CONFIRMER.name}")


class TestCompleteMilestone:
    async def test_the_teams_agent_completes_a_milestone_with_note_and_evidence(
        self, harness: Harness, plan: Plan
    ) -> None:
        harness.clock.advance(timedelta(days=10))

        await complete(
            harness, plan, "kickoff", ANNA, note="Auftakt", evidence_url="https://ex.org/p.pdf"
        )

        [event] = await harness.events(MilestoneCompletedV1.TYPE)
        assert event["subject"] == plan.team_id
        assert event["data"] == {
            "team_id": plan.team_id,
            "call_id": "call-1",
            "milestone_id": milestone_id(plan, "kickoff"),
            "key": "kickoff",
            "completed_by": "sven-staff",
            "completed_at": harness.clock.now().isoformat().replace("+00:00", "Z"),
            "note": "Auftakt",
            "evidence_url": "https://ex.org/p.pdf",
            "reported_by": "agent-anna",
        }
        [reported] = await harness.events(MilestoneReportedV1.TYPE)
        assert reported["data"]["reported_by"] == "agent-anna"
        [audit] = await harness.audit("milestone.completed")
        assert audit["actor"] == "api:sven-staff"
        assert (audit["before"]["status"], audit["after"]["status"]) == ("reported", "completed")

    async def test_the_reporter_cannot_confirm_and_a_report_alone_releases_nothing(
        self, harness: Harness, plan: Plan
    ) -> None:
        kickoff = milestone_id(plan, "kickoff")
        await harness.run(
            lambda uow: complete_milestone(uow, CompleteMilestone(kickoff, STAFF, note="erledigt"))
        )
        with pytest.raises(FourEyesViolation):
            await harness.run(lambda uow: confirm_milestone(uow, ConfirmMilestone(kickoff, STAFF)))
        assert await harness.events(MilestoneCompletedV1.TYPE) == []

    async def test_reopening_a_confirmation_is_an_event_with_its_reason(
        self, harness: Harness, plan: Plan
    ) -> None:
        await complete(harness, plan, "prototype", ANNA)
        cmd = ReopenMilestone(milestone_id(plan, "prototype"), "falsches Team", STAFF)
        await harness.run(lambda uow: reopen_milestone(uow, cmd))
        [event] = await harness.events(MilestoneReopenedV1.TYPE)
        assert (event["data"]["previous_status"], event["data"]["reason"]) == (
            "completed",
            "falsches Team",
        )
        assert (await harness.plan()).milestone(milestone_id(plan, "prototype")).status == "open"

    async def test_completing_twice_emits_one_event(self, harness: Harness, plan: Plan) -> None:
        await complete(harness, plan, "kickoff")
        await complete(harness, plan, "kickoff", ANNA)
        assert len(await harness.events(MilestoneCompletedV1.TYPE)) == 1
        assert len(await harness.audit("milestone.completed")) == 1

    async def test_another_agent_may_not_complete_it(self, harness: Harness, plan: Plan) -> None:
        with pytest.raises(NotYourTeam):
            await complete(harness, plan, "kickoff", BEN)
        assert await harness.events(MilestoneCompletedV1.TYPE) == []

    async def test_the_final_milestone_completes_the_plan_once(
        self, harness: Harness, plan: Plan
    ) -> None:
        for key in ("kickoff", "workshop", "prototype", "test", "final", "final"):
            await complete(harness, plan, key)

        completed = await harness.events(MilestoneCompletedV1.TYPE)
        assert [e["data"]["key"] for e in completed] == [
            "kickoff",
            "workshop",
            "prototype",
            "test",
            "final",
        ]
        [done] = await harness.events(PlanCompletedV1.TYPE)
        assert done["data"]["team_id"] == plan.team_id
        # The plan completion follows the final milestone's event on the team's key.
        types = [e["type"] for e in await harness.events(key=plan.team_id)]
        assert types[-2:] == [MilestoneCompletedV1.TYPE, PlanCompletedV1.TYPE]
        assert (await harness.plan()).status == "completed"

    async def test_an_unknown_milestone_is_not_found(self, harness: Harness, plan: Plan) -> None:
        cmd = CompleteMilestone("missing", STAFF, note="erledigt")
        with pytest.raises(NotFound):
            await harness.run(lambda uow: complete_milestone(uow, cmd))


class TestRescheduleMilestone:
    async def test_rescheduling_is_emitted_and_audited_before_and_after(
        self, harness: Harness, plan: Plan
    ) -> None:
        cmd = RescheduleMilestone(
            milestone_id(plan, "workshop"), date(2024, 9, 30), " Ferien ", STAFF
        )
        await harness.run(lambda uow: reschedule_milestone(uow, cmd))

        [event] = await harness.events(MilestoneRescheduledV1.TYPE)
        data = event["data"]
        assert (data["previous_due_date"], data["due_date"]) == ("2024-09-12", "2024-09-30")
        assert (data["reason"], data["rescheduled_by"], data["key"]) == (
            "Ferien",
            "staff",
            "workshop",
        )
        [audit] = await harness.audit("milestone.rescheduled")
        assert audit["before"] == {"due_date": "2024-09-12"}
        assert audit["after"] == {"due_date": "2024-09-30", "reason": "Ferien"}
        assert (await harness.plan()).milestones[1].due_date == date(2024, 9, 30)

    async def test_the_same_day_again_emits_nothing(self, harness: Harness, plan: Plan) -> None:
        cmd = RescheduleMilestone(milestone_id(plan, "workshop"), date(2024, 9, 12), "x", STAFF)
        await harness.run(lambda uow: reschedule_milestone(uow, cmd))
        assert await harness.events(MilestoneRescheduledV1.TYPE) == []

    async def test_a_completed_milestone_cannot_be_moved(
        self, harness: Harness, plan: Plan
    ) -> None:
        await complete(harness, plan, "kickoff")
        cmd = RescheduleMilestone(milestone_id(plan, "kickoff"), date(2024, 9, 1), "x", STAFF)
        with pytest.raises(StateConflict):
            await harness.run(lambda uow: reschedule_milestone(uow, cmd))
