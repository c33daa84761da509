"""Intake's events applied as the consumer applies a batch: one unit, in order, prepared first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cimis_chassis.idempotency import request_fingerprint, run_idempotent
from cimis_chassis.problems import Problem
from cimis_chassis.unit_of_work import UnitOfWork
from cimis_contracts.milestones import (
    MilestoneReportedV1,
    PlanCancelledV1,
    PlanCreatedV1,
)
from services.milestones.adapters.unit_of_work import MemoryMilestonesUnitOfWork
from services.milestones.app.commands import Actor, CompleteMilestone
from services.milestones.app.handlers import complete_milestone
from services.milestones.app.intake_events import on_team_accepted
from services.milestones.domain.plans import CLOSED
from tests.unit.milestones.builders import (
    ACCEPTED_AT,
    FIVE_STEPS,
    call_opened,
    envelope,
    team_accepted,
    team_withdrawn,
)
from tests.unit.milestones.conftest import Harness

CREATED, CANCELLED_TYPE = PlanCreatedV1.TYPE, PlanCancelledV1.TYPE


class TestOneBatch:
    async def test_a_call_and_its_teams_in_one_batch_give_one_plan_each(
        self, harness: Harness
    ) -> None:
        await harness.apply_batch(
            call_opened(phase_plan=FIVE_STEPS), *(team_accepted(f"team-{n}") for n in range(3))
        )

        assert [e["subject"] for e in await harness.events(CREATED)] == [
            "team-0",
            "team-1",
            "team-2",
        ]
        assert len((await harness.plan("team-2")).milestones) == 5
        assert harness.unit.commits == 1

    async def test_teams_waiting_in_the_batch_are_planned_in_acceptance_order_when_it_opens(
        self, harness: Harness
    ) -> None:
        await harness.apply_batch(
            team_accepted("team-late", accepted_at=ACCEPTED_AT + timedelta(hours=1)),
            team_accepted("team-early"),
            team_accepted("team-gone"),
            team_withdrawn("team-gone"),
            call_opened(),
        )

        assert [e["subject"] for e in await harness.events(CREATED)] == ["team-early", "team-late"]
        assert not await harness.has_plan("team-gone")
        assert harness.unit.awaiting.waiting == {}

    async def test_a_team_accepted_and_withdrawn_in_one_batch_ends_closed(
        self, harness: Harness
    ) -> None:
        await harness.apply_batch(call_opened(), team_accepted(), team_withdrawn())

        assert (await harness.plan()).status == CLOSED
        assert [e["type"] for e in await harness.events(key="team-1")] == [
            CREATED,
            CANCELLED_TYPE,
        ]
        [created] = await harness.audit("plan.created")
        [cancelled] = await harness.audit("plan.cancelled")
        # Each entry names the event that caused it, although one unit applied both.
        assert created["actor"] != cancelled["actor"]

    async def test_a_withdrawal_ahead_of_the_acceptance_in_one_batch_prevents_the_plan(
        self, harness: Harness
    ) -> None:
        await harness.apply_batch(call_opened(), team_withdrawn(), team_accepted())

        assert not await harness.has_plan("team-1")
        assert await harness.events() == []

    async def test_a_batch_that_fails_leaves_nothing_behind(self, harness: Harness) -> None:
        await harness.apply(on_team_accepted, team_accepted("team-0"))
        payload = team_accepted()

        async def fails_after_applying() -> None:
            async with harness.unit as uow:
                await on_team_accepted(uow, payload, envelope(payload))
                raise RuntimeError("the database went away before the commit")

        with pytest.raises(RuntimeError):
            await fails_after_applying()

        assert list(harness.unit.awaiting.waiting) == ["team-0"]
        assert len(await harness.audit("plan.awaiting_call")) == 1
        assert harness.unit.commits == 1


class TestReplays:
    async def test_an_event_delivered_again_is_claimed_once_by_the_inbox(
        self, harness: Harness
    ) -> None:
        event = envelope(team_accepted())
        async with harness.unit as uow:
            first = await uow.inbox.claim(
                "milestones", [(event.id, event.type)], received_at=ACCEPTED_AT
            )
        async with harness.unit as uow:
            again = await uow.inbox.claim(
                "milestones", [(event.id, event.type)], received_at=ACCEPTED_AT
            )
        assert (first, again) == ({event.id}, set())

    async def test_a_completion_replayed_with_its_idempotency_key_answers_the_same_once(
        self, harness: Harness
    ) -> None:
        plan = await harness.accept(team_accepted())
        cmd = CompleteMilestone(
            plan.milestones[0].id, Actor("staff", is_agent=False), note="erledigt"
        )

        async def work(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
            assert isinstance(uow, MemoryMilestonesUnitOfWork)
            _, milestone = await complete_milestone(uow, cmd)
            return 200, {"status": milestone.status, "completed_at": str(milestone.completed_at)}

        async def replay(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            return await run_idempotent(
                lambda: harness.unit,
                principal="staff",
                key="key-1",
                fingerprint=request_fingerprint("POST", "/complete", body),
                work=work,
            )

        first = await replay({})
        harness.clock.advance(timedelta(hours=1))
        assert await replay({}) == first
        assert len(await harness.events(MilestoneReportedV1.TYPE)) == 1
        with pytest.raises(Problem) as reused:
            await replay({"note": "another body"})
        assert reused.value.status == 409
