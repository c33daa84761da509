"""Budget's events: a plan waits for the team's money, starts when it is allocated (late, from
the waiting list, with its dates moved) and closes when budget refuses it for good or closes it,
whatever order budget's and intake's events arrive in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import partial

import pytest

from cimis_contracts.milestones import (
    MilestoneOverdueV1,
    MilestoneRescheduledV1,
    PlanCancelledV1,
    PlanCreatedV1,
)
from services.milestones.app.budget_events import (
    on_allocation_refused,
    on_budget_allocated,
    on_budget_closed,
    on_payment_request_changed,
    on_tranche_released,
    on_tranche_withdrawn,
)
from services.milestones.app.commands import (
    Actor,
    CompleteMilestone,
    ReopenMilestone,
    RescheduleMilestone,
)
from services.milestones.app.handlers import (
    complete_milestone,
    reopen_milestone,
    reschedule_milestone,
)
from services.milestones.app.intake_events import (
    on_call_opened,
    on_team_accepted,
    on_team_withdrawn,
)
from services.milestones.domain.errors import StateConflict
from services.milestones.domain.funding import ALLOCATED, PENDING, REFUSED, WAITING, Funding
from services.milestones.domain.plans import (
    ACTIVE,
    CANCELLED,
    CLOSED,
    COMPLETED,
    OPEN,
    PENDING_BUDGET,
)
from tests.unit.milestones.builders import (
    ACCEPTED_AT,
    FIVE_STEPS,
    allocated,
    budget_closed,
    call_opened,
    envelope,
    payment_changed,
    refused,
    team_accepted,
    team_withdrawn,
    tranche_released,
    tranche_withdrawn,
)
from tests.unit.milestones.conftest import Harness, complete_and_confirm

CREATED, CANCELLED_TYPE = PlanCreatedV1.TYPE, PlanCancelledV1.TYPE
RESCHEDULED, OVERDUE = MilestoneRescheduledV1.TYPE, MilestoneOverdueV1.TYPE
STAFF = Actor("staff", is_agent=False)
# 10 September 2024 in Berlin, 40 days after the acceptance on 1 August.
FROM_WAITING_LIST_AT = datetime(2024, 9, 10, 7, 0, tzinfo=UTC)
# Saxon working days: a due date on a weekend or holiday moves to the next working day.
ON_THE_ORIGINAL_DATES = [
    date(2024, 8, 15),
    date(2024, 9, 12),
    date(2024, 11, 29),
    date(2024, 12, 30),  # 150 days: Sunday 29 December
    date(2025, 1, 28),
]
FORTY_DAYS_LATER = [
    date(2024, 9, 24),
    date(2024, 10, 22),
    date(2025, 1, 8),
    date(2025, 2, 10),  # Saturday 8 February
    date(2025, 3, 10),  # Sunday 9 March
]
LONG_AFTER = datetime(2026, 1, 1, tzinfo=UTC)


async def waiting_plan(harness: Harness) -> None:
    await harness.accept(team_accepted(), funded=False)


async def due_dates(harness: Harness) -> list[date]:
    return [m.due_date for m in (await harness.plan()).milestones]


class TestAllocated:
    async def test_an_accepted_teams_plan_waits_for_budget(self, harness: Harness) -> None:
        await waiting_plan(harness)

        plan = await harness.plan()
        assert (plan.status, plan.started_at) == (PENDING_BUDGET, None)
        # Budget learns the plan's end from it, whether or not the money is there yet.
        assert len(await harness.events(CREATED)) == 1
        assert harness.unit.funding.fundings["team-1"] == Funding("team-1", "call-1", PENDING)

    async def test_an_allocation_on_time_starts_the_plan_on_its_dates(
        self, harness: Harness
    ) -> None:
        await waiting_plan(harness)

        await harness.apply(on_budget_allocated, allocated(allocated_at=ACCEPTED_AT))

        plan = await harness.plan()
        assert (plan.status, plan.started_at) == (ACTIVE, ACCEPTED_AT)
        assert await due_dates(harness) == ON_THE_ORIGINAL_DATES
        assert await harness.events(RESCHEDULED) == []
        [started] = await harness.audit("plan.started")
        assert started["actor"].startswith("event:")
        assert (started["before"], started["after"]["waited_days"]) == (
            {"status": "pending_budget"},
            0,
        )
        [heard] = await harness.audit("team.funding")
        assert (heard["before"]["status"], heard["after"]["status"]) == (PENDING, ALLOCATED)

    async def test_a_team_funded_from_the_waiting_list_starts_late_on_moved_dates(
        self, harness: Harness
    ) -> None:
        await waiting_plan(harness)
        await harness.apply(on_allocation_refused, refused(code="pot-exhausted"))
        assert (await harness.plan()).status == PENDING_BUDGET

        await harness.apply(
            on_budget_allocated,
            allocated(allocated_at=FROM_WAITING_LIST_AT, from_waiting_list=True),
        )

        plan = await harness.plan()
        assert (plan.status, plan.started_at) == (ACTIVE, FROM_WAITING_LIST_AT)
        assert await due_dates(harness) == FORTY_DAYS_LATER
        # Each move is a rescheduling others see: budget reads the plan's new end from it.
        moves = await harness.events(RESCHEDULED)
        assert [(e["data"]["previous_due_date"], e["data"]["due_date"]) for e in moves] == [
            (before.isoformat(), after.isoformat())
            for before, after in zip(ON_THE_ORIGINAL_DATES, FORTY_DAYS_LATER, strict=True)
        ]
        assert {e["data"]["rescheduled_by"] for e in moves} == {"budget"}
        assert "2024-09-10, 40 days after acceptance" in moves[-1]["data"]["reason"]
        assert len(await harness.audit("milestone.rescheduled")) == 5

    async def test_overdue_alerts_come_only_once_the_plan_runs(self, harness: Harness) -> None:
        await waiting_plan(harness)
        await harness.apply(on_allocation_refused, refused(code="waiting-list"))
        harness.clock.set(FROM_WAITING_LIST_AT)
        assert await harness.scan().run_once() == []
        assert await harness.scan().count_overdue() == 0

        await harness.apply(
            on_budget_allocated,
            allocated(allocated_at=FROM_WAITING_LIST_AT, from_waiting_list=True),
        )
        assert await harness.scan().run_once() == []

        # The kick-off is now due 14 days after the allocation, 24 September.
        harness.clock.set(datetime(2024, 9, 24, 22, 0, tzinfo=UTC))
        [alert] = await harness.scan().run_once()
        assert (alert.data["key"], alert.data["due_date"]) == ("kickoff", "2024-09-24")

    async def test_a_waiting_plans_milestone_can_be_neither_completed_nor_rescheduled(
        self, harness: Harness
    ) -> None:
        await waiting_plan(harness)
        kickoff = (await harness.plan()).milestones[0].id

        with pytest.raises(StateConflict) as completing:
            await harness.run(
                lambda uow: complete_milestone(
                    uow, CompleteMilestone(kickoff, STAFF, note="erledigt")
                )
            )
        move = RescheduleMilestone(kickoff, date(2024, 9, 1), "Urlaub", STAFF)
        with pytest.raises(StateConflict) as rescheduling:
            await harness.run(lambda uow: reschedule_milestone(uow, move))

        assert completing.value.code == rescheduling.value.code == "plan-not-active"
        assert await harness.events(RESCHEDULED) == []
        assert {m.status for m in (await harness.plan()).milestones} == {OPEN}


class TestRefusedOrClosed:
    async def test_a_refusal_for_good_closes_the_waiting_plan(self, harness: Harness) -> None:
        await waiting_plan(harness)

        await harness.apply(on_allocation_refused, refused(code="above-team-maximum"))

        plan = await harness.plan()
        assert plan.status == CLOSED
        assert {m.status for m in plan.milestones} == {CANCELLED}
        [event] = await harness.events(CANCELLED_TYPE)
        assert event["data"]["cancelled_milestones"] == 5
        [audit] = await harness.audit("plan.cancelled")
        assert audit["after"] == {"status": "closed", "reason": "budget refused the team's money"}
        harness.clock.set(LONG_AFTER)
        assert await harness.scan().run_once() == []

    async def test_a_wait_on_the_waiting_list_keeps_the_plan_waiting(
        self, harness: Harness
    ) -> None:
        await waiting_plan(harness)

        await harness.apply(on_allocation_refused, refused(code="pot-exhausted"))

        assert (await harness.plan()).status == PENDING_BUDGET
        assert harness.unit.funding.fundings["team-1"].status == WAITING
        assert await harness.events(CANCELLED_TYPE) == []

    async def test_a_closed_budget_closes_a_running_plan_and_the_withdrawal_then_does_nothing(
        self, harness: Harness
    ) -> None:
        await harness.accept(team_accepted())

        await harness.apply(on_budget_closed, budget_closed())
        await harness.apply(on_team_withdrawn, team_withdrawn())

        assert (await harness.plan()).status == CLOSED
        assert len(await harness.events(CANCELLED_TYPE)) == 1
        [audit] = await harness.audit("plan.cancelled")
        assert audit["after"]["reason"] == "budget closed the team's money"

    async def test_the_withdrawal_first_gives_the_same_closed_plan(self, harness: Harness) -> None:
        await harness.accept(team_accepted())

        await harness.apply(on_team_withdrawn, team_withdrawn())
        await harness.apply(on_budget_closed, budget_closed())

        plan = await harness.plan()
        assert plan.status == CLOSED
        assert {m.status for m in plan.milestones} == {CANCELLED}
        assert len(await harness.events(CANCELLED_TYPE)) == 1

    async def test_a_completed_plan_stays_completed_when_budget_closes(
        self, harness: Harness
    ) -> None:
        plan = await harness.accept(team_accepted())
        for milestone in plan.milestones:
            done = CompleteMilestone(milestone.id, STAFF, note="erledigt")
            await harness.run(partial(complete_and_confirm, cmd=done))

        await harness.apply(on_budget_closed, budget_closed())

        assert (await harness.plan()).status == COMPLETED
        assert await harness.events(CANCELLED_TYPE) == []

    async def test_a_late_word_does_not_reopen_what_budget_refused_for_good(
        self, harness: Harness
    ) -> None:
        await waiting_plan(harness)
        await harness.apply(on_allocation_refused, refused(code="above-team-maximum"))

        # Say, an allocation replayed from the dead letters long after.
        await harness.apply(on_budget_allocated, allocated())

        assert (await harness.plan()).status == CLOSED
        assert harness.unit.funding.fundings["team-1"].status == REFUSED
        assert len(await harness.audit("team.funding")) == 1


class TestBudgetBeforeTheAcceptance:
    async def test_an_allocation_heard_first_starts_the_plan_as_it_is_made(
        self, harness: Harness
    ) -> None:
        await harness.apply(on_call_opened, call_opened(phase_plan=FIVE_STEPS))
        await harness.apply(
            on_budget_allocated,
            allocated(allocated_at=FROM_WAITING_LIST_AT, from_waiting_list=True),
        )
        assert not await harness.has_plan("team-1")

        await harness.apply(on_team_accepted, team_accepted())

        plan = await harness.plan()
        assert (plan.status, plan.started_at) == (ACTIVE, FROM_WAITING_LIST_AT)
        assert await due_dates(harness) == FORTY_DAYS_LATER
        # The same events as in the usual order: the plan as made, then its moves.
        types = [e["type"] for e in await harness.events(key="team-1")]
        assert types == [CREATED, *[RESCHEDULED] * 5]

    async def test_an_allocation_heard_while_the_team_awaits_its_call_is_followed(
        self, harness: Harness
    ) -> None:
        await harness.apply(on_team_accepted, team_accepted())
        await harness.apply(on_budget_allocated, allocated())

        await harness.apply(on_call_opened, call_opened(phase_plan=FIVE_STEPS))

        assert (await harness.plan()).status == ACTIVE

    async def test_a_refusal_heard_first_closes_the_plan_as_it_is_made(
        self, harness: Harness
    ) -> None:
        await harness.apply(on_allocation_refused, refused(code="above-team-maximum"))

        await harness.accept(team_accepted(), funded=False)

        assert (await harness.plan()).status == CLOSED
        types = [e["type"] for e in await harness.events(key="team-1")]
        assert types == [CREATED, CANCELLED_TYPE]

    async def test_both_orders_in_one_batch_give_a_running_plan(self, harness: Harness) -> None:
        await harness.apply_batch(
            call_opened(phase_plan=FIVE_STEPS),
            allocated("team-early"),
            team_accepted("team-early"),
            team_accepted("team-late"),
            allocated("team-late"),
        )

        assert (await harness.plan("team-early")).status == ACTIVE
        assert (await harness.plan("team-late")).status == ACTIVE
        assert harness.unit.commits == 1


class TestRedelivery:
    async def test_the_same_event_delivered_again_is_claimed_once_by_the_inbox(
        self, harness: Harness
    ) -> None:
        await waiting_plan(harness)
        event = envelope(allocated(allocated_at=FROM_WAITING_LIST_AT, from_waiting_list=True))
        async with harness.unit as uow:
            fresh = await uow.inbox.claim(
                "milestones", [(event.id, event.type)], received_at=ACCEPTED_AT
            )
        async with harness.unit as uow:
            again = await uow.inbox.claim(
                "milestones", [(event.id, event.type)], received_at=ACCEPTED_AT
            )
        assert (fresh, again) == ({event.id}, set())

    async def test_the_same_word_heard_again_changes_nothing(self, harness: Harness) -> None:
        await waiting_plan(harness)
        late = allocated(allocated_at=FROM_WAITING_LIST_AT, from_waiting_list=True)

        await harness.apply(on_budget_allocated, late)
        await harness.apply(on_budget_allocated, late)
        await harness.apply(on_allocation_refused, refused(code="above-team-maximum"))
        await harness.apply(on_allocation_refused, refused(code="above-team-maximum"))

        assert await due_dates(harness) == [date(2024, 9, 24), *FORTY_DAYS_LATER[1:]]
        assert len(await harness.events(RESCHEDULED)) == 5
        assert len(await harness.audit("plan.started")) == 1
        assert len(await harness.events(CANCELLED_TYPE)) == 1


class TestPaidOutTranches:
    """The default tranche plan: 40 % on acceptance, 40 % with the prototype, 20 % with the
    final presentation; of 40,000 EUR: 16,000, 16,000 and 8,000 EUR."""

    async def completed_prototype(self, harness: Harness) -> str:
        plan = await harness.accept(team_accepted())
        prototype = next(m.id for m in plan.milestones if m.key == "prototype")
        for m in plan.milestones[:3]:
            cmd = CompleteMilestone(m.id, STAFF, note="Protokoll")
            await harness.run(partial(complete_and_confirm, cmd=cmd))
        await harness.apply(on_tranche_released, tranche_released("acceptance", 16_000_00))
        await harness.apply(on_tranche_released, tranche_released("prototype", 16_000_00))
        return prototype

    async def reopen(self, harness: Harness, milestone_id: str) -> None:
        cmd = ReopenMilestone(milestone_id, "falsches Protokoll", STAFF)
        await harness.run(lambda uow: reopen_milestone(uow, cmd))

    async def test_while_payments_cover_only_the_acceptance_tranche_it_may_be_reopened(
        self, harness: Harness
    ) -> None:
        prototype = await self.completed_prototype(harness)
        await harness.apply(on_payment_request_changed, payment_changed(16_000_00))

        await self.reopen(harness, prototype)

        assert (await harness.plan()).milestone(prototype).status == OPEN

    async def test_once_its_tranche_has_money_paid_out_it_stays_completed(
        self, harness: Harness
    ) -> None:
        prototype = await self.completed_prototype(harness)
        await harness.apply(on_payment_request_changed, payment_changed(16_000_01))

        with pytest.raises(StateConflict) as refused_:
            await self.reopen(harness, prototype)

        assert refused_.value.code == "tranche-paid-out"
        assert "prototype" in refused_.value.message
        assert (await harness.plan()).milestone(prototype).status == COMPLETED

    async def test_an_earlier_milestone_the_paid_tranche_waited_for_stays_too(
        self, harness: Harness
    ) -> None:
        prototype = await self.completed_prototype(harness)
        kickoff = (await harness.plan()).milestones[0].id
        await harness.apply(on_payment_request_changed, payment_changed(20_000_00))

        with pytest.raises(StateConflict) as refused_:
            await self.reopen(harness, kickoff)

        assert refused_.value.code == "tranche-paid-out"
        assert (await harness.plan()).milestone(prototype).status == COMPLETED

    async def test_money_returned_by_the_bank_or_a_withdrawn_tranche_allows_it_again(
        self, harness: Harness
    ) -> None:
        prototype = await self.completed_prototype(harness)
        await harness.apply(on_payment_request_changed, payment_changed(20_000_00))
        # The bank returned the payment: nothing of the prototype's tranche is paid any more.
        returned = payment_changed(15_000_00, status="returned")
        await harness.apply(on_payment_request_changed, returned)

        await self.reopen(harness, prototype)
        await harness.apply(on_tranche_withdrawn, tranche_withdrawn("prototype", 16_000_00))

        assert harness.unit.payouts.payouts["team-1"].released == (("acceptance", 16_000_00),)

    async def test_a_reported_milestone_may_always_be_reopened(self, harness: Harness) -> None:
        plan = await harness.accept(team_accepted())
        final = plan.milestones[-1].id
        await harness.apply(on_tranche_released, tranche_released("acceptance", 16_000_00))
        await harness.apply(on_payment_request_changed, payment_changed(40_000_00))
        cmd = CompleteMilestone(final, STAFF, note="Präsentation gehalten")
        await harness.run(lambda uow: complete_milestone(uow, cmd))

        await self.reopen(harness, final)

        assert (await harness.plan()).milestone(final).status == OPEN
