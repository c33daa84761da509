"""The consumer keeps the weekly digest's read model from budget, milestone and intake events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cimis_chassis.clock import ManualClock
from cimis_chassis.envelope import CloudEvent
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.base import EventData
from cimis_contracts.budget import (
    BudgetClosedV1,
    ExpenseApprovedV1,
    ExpenseReversedV1,
    ExpenseSubmittedV1,
)
from cimis_contracts.intake import TeamAcceptedV1, TeamWithdrawnV1
from cimis_contracts.milestones import (
    MilestoneCompletedV1,
    MilestoneReopenedV1,
    MilestoneRescheduledV1,
    MilestoneWaivedV1,
    PlanCancelledV1,
    PlanCreatedV1,
)
from services.notify.adapters.templates import TemplateRenderer
from services.notify.adapters.unit_of_work import MemoryNotifyUnitOfWork
from services.notify.app.alerts import Alerts, StaffMailbox
from services.notify.app.digest_facts import with_digest_facts
from services.notify.domain.alerts import TEAM_ALERT_EVENTS
from services.notify.domain.digest import DONE, OPEN, REPORTED, TeamBudget, TrackedMilestone
from tests.unit.notify.builders import (
    NOW,
    an_agent,
    budget_allocated,
    envelope,
    expense_rejected,
    milestone_reported,
    team_accepted,
)

T = "team-1"


def plan_created(team_id: str = T) -> PlanCreatedV1:
    return PlanCreatedV1(
        team_id=team_id,
        call_id="call-1",
        agent_id="agent-anna",
        milestones=[
            {
                "milestone_id": "ms-kick",
                "key": "kickoff",
                "title": "Kick-off",
                "due_date": "2025-03-10",
            },
            {
                "milestone_id": "ms-proto",
                "key": "prototype",
                "title": "Prototyp",
                "due_date": "2025-04-01",
            },
        ],
        created_at=NOW,
    )


def submitted(expense_id: str, cents: int, team_id: str = T) -> ExpenseSubmittedV1:
    return ExpenseSubmittedV1(
        team_id=team_id,
        call_id="call-1",
        expense_id=expense_id,
        position="external_services",
        receipt_number=f"RE-{expense_id}",
        net_cents=cents,
        vat_cents=0,
        gross_cents=cents,
        fundable_cents=cents,
        submitted_by="anna",
        submitted_at=NOW,
    )


def approved(expense_id: str, total_cents: int) -> ExpenseApprovedV1:
    return ExpenseApprovedV1(
        team_id=T,
        call_id="call-1",
        expense_id=expense_id,
        position="external_services",
        fundable_cents=100,
        approved_total_cents=total_cents,
        approved_by="finance",
        approved_at=NOW,
    )


def milestone_fields(milestone_id: str) -> dict[str, Any]:
    return {"team_id": T, "call_id": "call-1", "milestone_id": milestone_id, "key": "prototype"}


class Consumer:
    """The consumer's handler map on the fakes: a batch in one unit, as EventConsumer runs it."""

    def __init__(self) -> None:
        self.uow = MemoryNotifyUnitOfWork(clock=ManualClock(NOW))
        self.alerts = Alerts(TemplateRenderer(), StaffMailbox("office@example.org", "de"))
        handlers: dict[type[EventData], Any] = {TeamAcceptedV1: self.alerts.on_team_accepted}
        handlers.update({c: self.alerts.on_team_event for c in TEAM_ALERT_EVENTS})
        self.handlers = with_digest_facts(handlers)

    async def apply(self, *payloads: EventData) -> list[tuple[EventData, CloudEvent]]:
        batch = [(p, envelope(p)) for p in payloads]
        await self.replay(batch)
        return batch

    async def replay(self, batch: list[tuple[EventData, CloudEvent]]) -> None:
        async with self.uow as uow:
            await self.alerts.prepare(uow, batch)
            for payload, event in batch:
                uow.caused_by(Cause(f"event:{event.id}", event.id, event.id))
                await self.handlers[type(payload)](uow, payload, event)

    def milestones(self) -> dict[str, TrackedMilestone]:
        return self.uow.digest_facts.milestone_rows

    def budget(self, team_id: str = T) -> TeamBudget:
        return self.uow.digest_facts.budget_rows[team_id]


class TestBudgets:
    async def test_allocation_and_approved_total_are_kept_per_team(self) -> None:
        consumer = Consumer()

        await consumer.apply(
            budget_allocated(T, from_waiting_list=False), approved("e-1", 1_000_00)
        )
        await consumer.apply(
            ExpenseReversedV1(
                team_id=T,
                call_id="call-1",
                expense_id="e-1",
                position="external_services",
                receipt_number="RE-1",
                fundable_cents=1_000_00,
                approved_total_cents=0,
                reason="Doppelt erfasst",
                reversed_by="finance",
                reversed_at=NOW,
            )
        )

        assert consumer.budget() == TeamBudget(T, allocated_cents=45_000_00, approved_cents=0)

    async def test_facts_before_the_team_is_known_are_kept(self) -> None:
        consumer = Consumer()

        await consumer.apply(budget_allocated("t-early", from_waiting_list=False))

        assert consumer.budget("t-early").allocated_cents == 45_000_00
        assert consumer.uow.teams.rows == {}

    async def test_a_closed_budget_and_a_withdrawn_team_are_marked(self) -> None:
        consumer = Consumer()

        await consumer.apply(
            BudgetClosedV1(
                team_id=T, call_id="call-1", returned_cents=0, approved_cents=0, closed_at=NOW
            ),
            TeamWithdrawnV1(
                team_id="t-2", call_id="call-1", reason="x", was_accepted=True, withdrawn_at=NOW
            ),
        )

        assert consumer.budget().closed
        assert not consumer.budget().withdrawn
        assert consumer.budget("t-2").withdrawn


class TestExpenses:
    async def test_a_submitted_expense_waits_until_approved_or_rejected(self) -> None:
        consumer = Consumer()

        await consumer.apply(
            submitted("e-1", 100_00), submitted("e-2", 200_00), submitted("e-3", 5)
        )
        await consumer.apply(approved("e-1", 100_00), expense_rejected(T, expense_id="e-2"))

        assert list(consumer.uow.digest_facts.expense_rows) == ["e-3"]

    async def test_a_rejection_still_alerts_the_agent(self) -> None:
        consumer = Consumer()
        async with consumer.uow as uow:
            await uow.agents.add(an_agent())

        await consumer.apply(team_accepted(T), submitted("e-1", 100_00))
        await consumer.apply(expense_rejected(T, expense_id="e-1"))

        assert consumer.uow.digest_facts.expense_rows == {}
        kinds = sorted(n.kind for n in consumer.uow.notifications.rows.values())
        assert kinds == ["expense_rejected", "team_assigned"]


class TestMilestones:
    async def test_a_plan_lists_its_milestones_open(self) -> None:
        consumer = Consumer()

        await consumer.apply(plan_created())

        assert consumer.milestones()["ms-kick"] == TrackedMilestone(
            "ms-kick", T, "kickoff", "Kick-off", dt.date(2025, 3, 10), OPEN
        )
        assert consumer.milestones()["ms-proto"].status == OPEN

    async def test_reschedule_report_complete_waive_and_reopen(self) -> None:
        consumer = Consumer()
        await consumer.apply(plan_created())

        await consumer.apply(
            MilestoneRescheduledV1(
                **milestone_fields("ms-proto"),
                previous_due_date=dt.date(2025, 4, 1),
                due_date=dt.date(2025, 4, 15),
                reason="Urlaub",
                rescheduled_by="staff",
                rescheduled_at=NOW,
            ),
            milestone_reported(T, milestone_id="ms-proto"),
        )
        assert consumer.milestones()["ms-proto"].due_date == dt.date(2025, 4, 15)
        assert consumer.milestones()["ms-proto"].status == REPORTED

        await consumer.apply(
            MilestoneCompletedV1(
                **milestone_fields("ms-proto"), completed_by="x", completed_at=NOW
            ),
            MilestoneWaivedV1(
                **milestone_fields("ms-kick"), reason="x", waived_by="x", waived_at=NOW
            ),
        )
        assert {m.status for m in consumer.milestones().values()} == {DONE}

        await consumer.apply(
            MilestoneReopenedV1(
                **milestone_fields("ms-proto"),
                previous_status="completed",
                reason="Nachweis fehlt",
                reopened_by="staff",
                reopened_at=NOW,
            )
        )
        assert consumer.milestones()["ms-proto"].status == OPEN

    async def test_a_cancelled_plan_drops_the_teams_milestones(self) -> None:
        consumer = Consumer()
        await consumer.apply(plan_created(), plan_created("team-2"))

        await consumer.apply(
            PlanCancelledV1(team_id=T, call_id="call-1", cancelled_milestones=2, cancelled_at=NOW)
        )

        assert {m.team_id for m in consumer.milestones().values()} == {"team-2"}

    async def test_a_status_for_an_unknown_milestone_changes_nothing(self) -> None:
        consumer = Consumer()

        await consumer.apply(milestone_reported(T, milestone_id="ms-unknown"))

        assert consumer.milestones() == {}


class TestRedelivery:
    async def test_a_batch_applied_again_after_its_rollback_gives_the_same_rows(self) -> None:
        consumer = Consumer()
        batch = await consumer.apply(
            plan_created(),
            submitted("e-1", 100_00),
            submitted("e-2", 200_00),
            budget_allocated(T, from_waiting_list=False),
            approved("e-1", 100_00),
        )
        facts = consumer.uow.digest_facts
        before = (dict(facts.budget_rows), dict(facts.expense_rows), dict(facts.milestone_rows))

        # The consumer's inbox keeps a committed batch from running again; a batch whose commit
        # failed runs again from the start: applying it twice must not count anything twice.
        await consumer.replay(batch)

        assert (facts.budget_rows, facts.expense_rows, facts.milestone_rows) == before
