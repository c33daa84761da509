"""The milestones repositories keep one contract in memory, on SQLite and on PostgreSQL.

Each contract class runs its bodies in ``async with unit as uow`` on all three backends; the
read-side queries, the schema and the races between instances need a database and run on both.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.keyset import Page
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.base import EventData
from cimis_contracts.budget import BudgetAllocatedV1
from cimis_contracts.intake import CallOpenedV1, TeamAcceptedV1
from cimis_contracts.milestones import MilestoneEscalatedV1, MilestoneOverdueV1
from services.milestones.adapters.queries import MilestoneFilter, MilestoneQueries
from services.milestones.adapters.tables import chassis, metadata
from services.milestones.adapters.unit_of_work import (
    MemoryMilestonesUnitOfWork,
    SqlMilestonesUnitOfWork,
)
from services.milestones.app.budget_events import on_budget_allocated
from services.milestones.app.intake_events import on_call_opened, on_team_accepted
from services.milestones.app.overdue import OverdueScan
from services.milestones.app.ports import Alert, MilestoneCounts, MilestonesUnitOfWork
from services.milestones.domain.funding import ALLOCATED, PENDING, WAITING, Funding
from services.milestones.domain.payouts import TeamPayouts
from services.milestones.domain.plans import (
    ACTIVE,
    CANCELLED,
    CLOSED,
    COMPLETED,
    AcceptedTeam,
    PhaseStep,
    Plan,
    cancel,
    start,
)
from tests.contract.databases import DatabaseContract, OnPostgres, OnSqlite, ServiceSchemaContract
from tests.contract.races import race_two_instances
from tests.unit.milestones.builders import (
    ACCEPTED_AT,
    FIVE_STEPS,
    a_plan,
    allocated,
    call_opened,
    envelope,
    team_accepted,
)
from tests.unit.milestones.builders import report_and_confirm as complete

# 1 September 2024: the kick-off (due 15 August) and the workshop (due 12 September) of a team
# accepted on 1 August differ: one overdue, one open.
TODAY = date(2024, 9, 1)
NOW = datetime(2024, 9, 1, 10, 0, tzinfo=UTC)
CAUSE = Cause("test", "corr-1")
SOURCE = "cimis/milestones"

Unit = AbstractAsyncContextManager[MilestonesUnitOfWork]


def sql_unit(db: Database, clock: ManualClock | None = None) -> SqlMilestonesUnitOfWork:
    clock = clock or ManualClock(NOW)
    return SqlMilestonesUnitOfWork(db, chassis, clock=clock, source=SOURCE, cause=CAUSE)


class InMemory:
    @pytest.fixture
    def memory(self) -> MemoryMilestonesUnitOfWork:
        return MemoryMilestonesUnitOfWork(clock=ManualClock(NOW), source=SOURCE, cause=CAUSE)

    @pytest.fixture
    def unit(self, memory: MemoryMilestonesUnitOfWork) -> Unit:
        return memory

    @pytest.fixture
    def counts(self, memory: MemoryMilestonesUnitOfWork) -> MilestoneCounts:
        return memory.plans


class InDatabase(DatabaseContract):
    service = "milestones"

    @pytest.fixture
    def unit(self, db: Database) -> Unit:
        return sql_unit(db)

    @pytest.fixture
    def counts(self, db: Database) -> MilestoneCounts:
        return MilestoneQueries(db)


async def store(unit: Unit, *plans: Plan) -> None:
    async with unit as uow:
        for plan in plans:
            await uow.plans.add(plan)


async def plan_of(unit: Unit, team_id: str) -> Plan | None:
    async with unit as uow:
        return await uow.plans.get(team_id)


class PlansContract:
    async def test_a_plan_comes_back_with_its_milestones_in_order(self, unit: Unit) -> None:
        plan = a_plan(accepted_at=datetime(2024, 8, 1, 22, 30, tzinfo=UTC))
        await store(unit, plan)

        found = await plan_of(unit, plan.team_id)

        assert found == plan
        assert found is not None
        assert found.accepted_at.tzinfo is UTC
        assert isinstance(found.milestones[0].due_date, date)
        assert found.milestones[0].due_date == date(2024, 8, 16)

    async def test_unknown_ids_find_nothing(self, unit: Unit) -> None:
        async with unit as uow:
            assert await uow.plans.get("nope") is None
            assert await uow.plans.of_milestone("nope", lock=True) is None

    async def test_a_plan_is_found_by_any_of_its_milestones(self, unit: Unit) -> None:
        plan = a_plan()
        await store(unit, plan)
        async with unit as uow:
            assert await uow.plans.of_milestone(plan.milestones[2].id, lock=True) == plan

    async def test_a_plan_added_is_found_in_the_same_unit(self, unit: Unit) -> None:
        plan = a_plan()
        async with unit as uow:
            await uow.plans.add(plan)
            assert await uow.plans.get(plan.team_id) == plan
            assert await uow.plans.of_milestone(plan.milestones[-1].id) == plan

    async def test_saving_stores_completion_and_cancellation(self, unit: Unit) -> None:
        plan = a_plan()
        await store(unit, plan)
        later = ACCEPTED_AT + timedelta(days=3)
        async with unit as uow:
            read = await uow.plans.get(plan.team_id, lock=True)
            assert read is not None
            done = complete(
                read,
                plan.milestones[0].id,
                by="agent-anna",
                now=later,
                note="Auftakt",
                evidence_url="https://example.org/x",
            )
            await uow.plans.save(done.plan)
            cancellation = cancel(done.plan, now=later)
            await uow.plans.save(cancellation.plan)

        found = await plan_of(unit, plan.team_id)
        assert found == cancellation.plan
        assert found is not None
        assert [m.status for m in found.milestones] == [COMPLETED, *[CANCELLED] * 4]
        assert found.milestones[0].completed_at == later

    async def test_a_plan_added_and_changed_in_one_unit_is_stored_as_changed(
        self, unit: Unit
    ) -> None:
        plan = a_plan()
        async with unit as uow:
            await uow.plans.add(plan)
            await uow.plans.save(cancel(plan, now=NOW).plan)
        found = await plan_of(unit, plan.team_id)
        assert found is not None
        assert found.status == CLOSED

    async def test_a_waiting_plan_started_late_keeps_its_start_and_moved_dates(
        self, unit: Unit
    ) -> None:
        waiting = a_plan(funded=False)
        await store(unit, waiting)
        assert await plan_of(unit, waiting.team_id) == waiting
        started = start(waiting, allocated_at=NOW, from_waiting_list=True)
        async with unit as uow:
            read = await uow.plans.get(waiting.team_id, lock=True)
            assert read == waiting
            await uow.plans.save(started.plan)

        found = await plan_of(unit, waiting.team_id)
        assert found == started.plan
        assert found is not None
        assert (found.status, found.started_at) == (ACTIVE, NOW)
        # 31 days later is Sunday 15 September: due on Monday.
        assert found.milestones[0].due_date == date(2024, 9, 16)

    async def test_a_team_has_one_plan(self, unit: Unit) -> None:
        await store(unit, a_plan())
        with pytest.raises(ValueError, match="has a plan already"):
            await store(unit, a_plan(new_id=lambda: str(uuid.uuid4())))

    async def test_a_plan_never_stored_cannot_be_saved(self, unit: Unit) -> None:
        with pytest.raises(KeyError):
            async with unit as uow:
                await uow.plans.save(a_plan())
        assert await plan_of(unit, "team-1") is None

    async def test_a_unit_that_fails_stores_nothing(self, unit: Unit) -> None:
        async def fail_after_adding() -> None:
            async with unit as uow:
                await uow.plans.add(a_plan())
                raise RuntimeError("something failed before the commit")

        with pytest.raises(RuntimeError):
            await fail_after_adding()
        assert await plan_of(unit, "team-1") is None


class CallPlansContract:
    async def test_a_calls_template_is_kept_once(self, unit: Unit) -> None:
        first = (PhaseStep("kickoff", "Auftakt", 7), PhaseStep("final", "Abschluss", 90))
        async with unit as uow:
            await uow.call_plans.load(["call-1", "call-2"])
            assert await uow.call_plans.add("call-1", first, NOW)
            assert not await uow.call_plans.add("call-1", (PhaseStep("final", "F", 9),), NOW)
        async with unit as uow:
            assert not await uow.call_plans.add("call-1", (PhaseStep("final", "F", 9),), NOW)
            assert await uow.call_plans.get("call-1") == first
            assert await uow.call_plans.get("call-2") is None


class WithdrawalsContract:
    async def test_a_withdrawal_is_remembered_once(self, unit: Unit) -> None:
        async with unit as uow:
            await uow.withdrawals.record("team-1", "call-1", NOW)
            await uow.withdrawals.record("team-1", "call-1", NOW)
            assert await uow.withdrawals.is_withdrawn("team-1")
        async with unit as uow:
            await uow.withdrawals.record("team-1", "call-1", NOW)
        async with unit as uow:
            await uow.withdrawals.load(["team-1", "team-2"])
            assert await uow.withdrawals.is_withdrawn("team-1")
            assert not await uow.withdrawals.is_withdrawn("team-2")


class FundingsContract:
    async def test_budgets_word_on_a_team_is_kept_and_replaced(self, unit: Unit) -> None:
        waits = Funding("team-1", "call-1", WAITING, ACCEPTED_AT)
        funded = Funding("team-1", "call-1", ALLOCATED, NOW, from_waiting_list=True)
        async with unit as uow:
            await uow.funding.load(["team-1", "team-2"], lock=True)
            assert await uow.funding.get("team-1") is None
            await uow.funding.put(Funding("team-2", "call-1"))
            await uow.funding.put(waits)
            assert await uow.funding.get("team-1", lock=True) == waits
        async with unit as uow:
            assert await uow.funding.get("team-1", lock=True) == waits
            await uow.funding.put(funded)
        async with unit as uow:
            await uow.funding.load(["team-1", "team-2"])
            assert await uow.funding.get("team-1") == funded
            assert await uow.funding.get("team-2") == Funding("team-2", "call-1", PENDING)
            assert await uow.funding.get("team-3") is None

    async def test_a_word_put_twice_in_one_unit_is_stored_once_as_the_last(
        self, unit: Unit
    ) -> None:
        async with unit as uow:
            await uow.funding.put(Funding("team-1", "call-1"))
            await uow.funding.put(Funding("team-1", "call-1", ALLOCATED, NOW))
        async with unit as uow:
            assert await uow.funding.get("team-1") == Funding("team-1", "call-1", ALLOCATED, NOW)


class PayoutsContract:
    async def test_a_teams_tranches_and_payments_are_kept_in_release_order(
        self, unit: Unit
    ) -> None:
        first = TeamPayouts("team-1", "call-1").release("acceptance", 16_000_00)
        # Beyond 32 bits, as a large call's cents may be.
        paid = first.release("prototype", 3_000_000_000_00).paid(16_000_01)
        async with unit as uow:
            await uow.payouts.load(["team-1"], lock=True)
            assert await uow.payouts.get("team-1") is None
            await uow.payouts.put(first)
            assert await uow.payouts.get("team-1", lock=True) == first
        async with unit as uow:
            assert await uow.payouts.get("team-1", lock=True) == first
            await uow.payouts.put(paid)
            await uow.payouts.put(paid.withdraw("acceptance").release("acceptance", 1))
        async with unit as uow:
            await uow.payouts.load(["team-1", "team-2"])
            kept = await uow.payouts.get("team-1")
            assert kept is not None
            assert kept.released == (("prototype", 3_000_000_000_00), ("acceptance", 1))
            assert kept.paid_total_cents == 16_000_01
            assert kept.paid_out() == {"prototype"}
            assert await uow.payouts.get("team-2") is None


class AwaitingTeamsContract:
    early = AcceptedTeam("team-1", "call-1", "agent-anna", "Eins", ACCEPTED_AT)
    late = AcceptedTeam("team-2", "call-1", "agent-ben", "Zwei", ACCEPTED_AT + timedelta(1))
    other = AcceptedTeam("team-3", "call-2", "agent-anna", "Drei", ACCEPTED_AT)
    gone = AcceptedTeam("team-4", "call-1", "agent-anna", "Vier", ACCEPTED_AT)

    async def test_teams_await_their_call_once_and_are_taken_in_acceptance_order(
        self, unit: Unit
    ) -> None:
        async with unit as uow:
            for team in (self.late, self.early, self.early, self.other, self.gone):
                await uow.awaiting.add(team, NOW)
            await uow.awaiting.remove(["team-4"])
        async with unit as uow:
            await uow.awaiting.add(self.early, NOW)
            assert await uow.awaiting.take("call-1") == [self.early, self.late]
            assert await uow.awaiting.take("call-1") == []
        async with unit as uow:
            await uow.awaiting.load_calls(["call-1", "call-2"])
            assert await uow.awaiting.take("call-1") == []
            assert await uow.awaiting.take("call-2") == [self.other]

    async def test_a_team_added_in_the_unit_that_takes_its_call_is_taken(self, unit: Unit) -> None:
        async with unit as uow:
            await uow.awaiting.add(self.late, NOW)
        async with unit as uow:
            await uow.awaiting.load_calls(["call-1"])
            await uow.awaiting.add(self.early, NOW)
            await uow.awaiting.add(self.gone, NOW)
            await uow.awaiting.remove(["team-4"])
            assert await uow.awaiting.take("call-1") == [self.early, self.late]
        async with unit as uow:
            assert await uow.awaiting.take("call-1") == []

    async def test_a_waiting_team_reassigned_is_taken_with_its_new_agent(self, unit: Unit) -> None:
        async with unit as uow:
            await uow.awaiting.add(self.early, NOW)
            await uow.awaiting.reassign("team-2", "agent-carla")  # not waiting: left alone
        async with unit as uow:
            await uow.awaiting.load_calls(["call-1"])
            await uow.awaiting.add(self.late, NOW)
            await uow.awaiting.reassign("team-1", "agent-carla")
            await uow.awaiting.reassign("team-2", "agent-dora")
        async with unit as uow:
            assert await uow.awaiting.take("call-1") == [
                replace(self.early, agent_id="agent-carla"),
                replace(self.late, agent_id="agent-dora"),
            ]


class OverdueAlertsContract:
    async def test_candidates_skip_what_was_alerted_for_the_same_due_date(self, unit: Unit) -> None:
        plan = a_plan()
        await store(unit, plan)
        kickoff = plan.milestones[0]
        async with unit as uow:
            [candidate] = await uow.overdue.candidates(today=TODAY, limit=10)
            assert candidate.milestone == kickoff
            assert (candidate.call_id, candidate.plan_status) == ("call-1", "active")
            await uow.overdue.claim([Alert(kickoff.id, kickoff.due_date, "e1")], NOW)

        async with unit as uow:
            assert await uow.overdue.candidates(today=TODAY, limit=10) == []
            read = await uow.plans.get(plan.team_id, lock=True)
            assert read is not None
            moved = replace(kickoff, due_date=date(2024, 8, 25))
            await uow.plans.save(read.with_milestone(moved))
            # The unit's own unwritten change counts.
            [again] = await uow.overdue.candidates(today=TODAY, limit=10)
            assert again.milestone.due_date == date(2024, 8, 25)

    async def test_candidates_come_earliest_due_first_up_to_the_limit(self, unit: Unit) -> None:
        await store(
            unit, a_plan("team-1"), a_plan("team-2", accepted_at=ACCEPTED_AT - timedelta(1))
        )
        async with unit as uow:
            found = await uow.overdue.candidates(today=date(2025, 6, 1), limit=3)
        assert [(v.milestone.team_id, v.milestone.key) for v in found] == [
            ("team-2", "kickoff"),
            ("team-1", "kickoff"),
            ("team-2", "workshop"),
        ]

    async def test_escalations_wait_for_each_plans_period_and_are_claimed_once(
        self, unit: Unit
    ) -> None:
        slow = a_plan("team-1")  # kick-off due 15 August, 14 days' grace
        quick = replace(a_plan("team-2"), escalation_days=3)
        await store(unit, slow, quick)
        async with unit as uow:
            found = await uow.overdue.escalation_candidates(today=date(2024, 8, 19), limit=10)
            assert [(v.milestone.team_id, v.milestone.key) for v in found] == [
                ("team-2", "kickoff")
            ]
            [view] = found
            claim = Alert(view.milestone.id, view.milestone.due_date, "x1")
            assert await uow.overdue.claim_escalations([claim], NOW) == {view.milestone.id}
        async with unit as uow:
            again = await uow.overdue.escalation_candidates(today=date(2024, 8, 30), limit=10)
            assert [(v.milestone.team_id, v.milestone.key) for v in again] == [
                ("team-1", "kickoff")
            ]
            assert await uow.overdue.claim_escalations([claim], NOW) == set()

    async def test_an_alert_is_claimed_once_per_milestone_and_due_date(self, unit: Unit) -> None:
        plan = a_plan()
        await store(unit, plan)
        kickoff = plan.milestones[0]
        first = Alert(kickoff.id, kickoff.due_date, "e1")
        async with unit as uow:
            assert await uow.overdue.claim([first], NOW) == {kickoff.id}
            assert await uow.overdue.claim([replace(first, event_id="e2")], NOW) == set()
        async with unit as uow:
            assert await uow.overdue.claim([replace(first, event_id="e3")], NOW) == set()
            later = Alert(kickoff.id, date(2024, 8, 20), "e4")
            assert await uow.overdue.claim([later], NOW) == {kickoff.id}
            assert await uow.overdue.alerted_due_dates(kickoff.id) == [
                date(2024, 8, 15),
                date(2024, 8, 20),
            ]

    async def test_a_rearmed_milestone_is_a_candidate_again_for_its_due_date(
        self, unit: Unit
    ) -> None:
        plan = replace(a_plan(), escalation_days=3)
        await store(unit, plan)
        kickoff = plan.milestones[0]
        claim = Alert(kickoff.id, kickoff.due_date, "e1")
        async with unit as uow:
            assert await uow.overdue.claim([claim], NOW) == {kickoff.id}
            assert await uow.overdue.claim_escalations([claim], NOW) == {kickoff.id}
            earlier = Alert(kickoff.id, date(2024, 8, 14), "e0")
            assert await uow.overdue.claim([earlier], NOW) == {kickoff.id}
        async with unit as uow:
            assert await uow.overdue.candidates(today=TODAY, limit=10) == []
            assert await uow.overdue.escalation_candidates(today=TODAY, limit=10) == []
            await uow.overdue.rearm(kickoff.id, kickoff.due_date)
        async with unit as uow:
            [candidate] = await uow.overdue.candidates(today=TODAY, limit=10)
            [escalation] = await uow.overdue.escalation_candidates(today=TODAY, limit=10)
            assert candidate.milestone.id == escalation.milestone.id == kickoff.id
            # Only the current due date is forgotten; earlier alerts stay on record.
            assert await uow.overdue.alerted_due_dates(kickoff.id) == [date(2024, 8, 14)]

    async def test_overdue_milestones_are_counted(
        self, unit: Unit, counts: MilestoneCounts
    ) -> None:
        await store(
            unit,
            a_plan("team-1"),
            a_plan("team-2"),
            cancel(a_plan("team-3"), now=NOW).plan,
            a_plan("team-4", funded=False),
        )
        assert await counts.count_overdue(today=TODAY) == 2
        assert await counts.count_overdue(today=date(2024, 8, 15)) == 0

    async def test_a_plan_waiting_for_budget_has_no_candidates(self, unit: Unit) -> None:
        await store(unit, a_plan("team-1", funded=False))
        async with unit as uow:
            assert await uow.overdue.candidates(today=date(2025, 6, 1), limit=10) == []


class TestPlansInMemory(InMemory, PlansContract):
    pass


class TestPlansOnSqlite(OnSqlite, InDatabase, PlansContract):
    pass


class TestPlansOnPostgres(OnPostgres, InDatabase, PlansContract):
    pass


class TestCallPlansInMemory(InMemory, CallPlansContract):
    pass


class TestCallPlansOnSqlite(OnSqlite, InDatabase, CallPlansContract):
    pass


class TestCallPlansOnPostgres(OnPostgres, InDatabase, CallPlansContract):
    pass


class TestWithdrawalsInMemory(InMemory, WithdrawalsContract):
    pass


class TestWithdrawalsOnSqlite(OnSqlite, InDatabase, WithdrawalsContract):
    pass


class TestWithdrawalsOnPostgres(OnPostgres, InDatabase, WithdrawalsContract):
    pass


class TestFundingsInMemory(InMemory, FundingsContract):
    pass


class TestFundingsOnSqlite(OnSqlite, InDatabase, FundingsContract):
    pass


class TestFundingsOnPostgres(OnPostgres, InDatabase, FundingsContract):
    pass


class TestPayoutsInMemory(InMemory, PayoutsContract):
    pass


class TestPayoutsOnSqlite(OnSqlite, InDatabase, PayoutsContract):
    pass


class TestPayoutsOnPostgres(OnPostgres, InDatabase, PayoutsContract):
    pass


class TestAwaitingTeamsInMemory(InMemory, AwaitingTeamsContract):
    pass


class TestAwaitingTeamsOnSqlite(OnSqlite, InDatabase, AwaitingTeamsContract):
    pass


class TestAwaitingTeamsOnPostgres(OnPostgres, InDatabase, AwaitingTeamsContract):
    pass


class TestOverdueAlertsInMemory(InMemory, OverdueAlertsContract):
    pass


class TestOverdueAlertsOnSqlite(OnSqlite, InDatabase, OverdueAlertsContract):
    pass


class TestOverdueAlertsOnPostgres(OnPostgres, InDatabase, OverdueAlertsContract):
    pass


class MilestonesDatabaseContract(ServiceSchemaContract):
    """The read-side queries and what only a shared database has: rival instances."""

    metadata = metadata
    service = "milestones"

    async def listed(
        self, db: Database, where: MilestoneFilter, *, limit: int = 200, today: date = TODAY
    ) -> list[tuple[str, str]]:
        views = await MilestoneQueries(db).list_milestones(
            where, Page(after=None, limit=limit), today=today
        )
        return [(v.milestone.team_id, v.milestone.key) for v in views]

    async def test_the_queries_read_plans_by_team_and_by_milestone(self, db: Database) -> None:
        plan = a_plan()
        await store(sql_unit(db), plan)
        queries = MilestoneQueries(db)
        assert await queries.plan(plan.team_id) == plan
        assert await queries.plan_of_milestone(plan.milestones[1].id) == plan
        assert await queries.plan("nope") is None
        assert await queries.plan_of_milestone("nope") is None

    async def test_milestones_are_listed_by_shown_status(self, db: Database) -> None:
        active = a_plan("team-a")
        done = complete(
            active,
            active.milestones[1].id,
            by="staff",
            now=NOW,
            note="Protokoll",
            evidence_url=None,
        )
        withdrawn = cancel(a_plan("team-w"), now=NOW)
        await store(sql_unit(db), done.plan, withdrawn.plan, a_plan("team-p", funded=False))

        assert await self.listed(db, MilestoneFilter(status="overdue")) == [("team-a", "kickoff")]
        assert await self.listed(db, MilestoneFilter(status="completed")) == [
            ("team-a", "workshop")
        ]
        # A plan waiting for budget has only open milestones, however late.
        assert await self.listed(db, MilestoneFilter(status="open")) == [
            ("team-p", "kickoff"),
            ("team-p", "workshop"),
            ("team-a", "prototype"),
            ("team-p", "prototype"),
            ("team-a", "test"),
            ("team-p", "test"),
            ("team-a", "final"),
            ("team-p", "final"),
        ]
        assert len(await self.listed(db, MilestoneFilter(status="cancelled"))) == 5
        # The Berlin day decides: on the kick-off's due day it is still open.
        assert (
            await self.listed(db, MilestoneFilter(status="overdue"), today=date(2024, 8, 15)) == []
        )

    async def test_milestones_are_filtered_by_team_call_key_and_agent(self, db: Database) -> None:
        await store(
            sql_unit(db),
            a_plan("team-1"),
            a_plan("team-2", agent_id="agent-ben"),
            a_plan("team-3", call_id="call-2"),
        )

        assert {t for t, _ in await self.listed(db, MilestoneFilter(agent_id="agent-ben"))} == {
            "team-2"
        }
        assert {t for t, _ in await self.listed(db, MilestoneFilter(call_id="call-2"))} == {
            "team-3"
        }
        assert await self.listed(db, MilestoneFilter(key="final", call_id="call-1")) == [
            ("team-1", "final"),
            ("team-2", "final"),
        ]
        assert len(await self.listed(db, MilestoneFilter(team_id="team-1"))) == 5

    async def test_pages_neither_repeat_nor_skip_equal_due_dates(self, db: Database) -> None:
        plans = [a_plan(f"team-{n:02d}") for n in range(7)]
        await store(sql_unit(db), *plans)
        seen: list[str] = []
        after: tuple[date, str] | None = None
        for _ in range(20):
            page = await MilestoneQueries(db).list_milestones(
                MilestoneFilter(), Page(after=after, limit=4), today=TODAY
            )
            seen.extend(v.milestone.id for v in page)
            if len(page) < 4:
                break
            last = page[-1].milestone
            after = (last.due_date, last.id)
        expected = sorted(
            (m for p in plans for m in p.milestones), key=lambda m: (m.due_date, m.id)
        )
        assert seen == [m.id for m in expected]

    async def test_a_claim_waiting_on_an_uncommitted_one_loses(
        self, db: Database, database_url: str
    ) -> None:
        plan = a_plan()
        await store(sql_unit(db), plan)
        kickoff = plan.milestones[0]
        other = Database(database_url)

        async def claim_elsewhere() -> set[str]:
            async with sql_unit(other) as uow:
                return await uow.overdue.claim([Alert(kickoff.id, kickoff.due_date, "e2")], NOW)

        try:
            async with sql_unit(db) as uow:
                first = await uow.overdue.claim([Alert(kickoff.id, kickoff.due_date, "e1")], NOW)
                # The rival blocks on our uncommitted row (PostgreSQL) or on the write lock
                # (SQLite) and decides only after we commit.
                rival = asyncio.create_task(claim_elsewhere())
                await asyncio.sleep(0.2)
            second = await rival
        finally:
            await other.dispose()
        assert (first, second) == ({kickoff.id}, set())

    async def test_concurrent_scans_alert_each_overdue_milestone_once(
        self, db: Database, database_url: str
    ) -> None:
        await store(sql_unit(db), *[a_plan(f"team-{n:02d}") for n in range(12)])
        clock = ManualClock(datetime(2025, 6, 1, tzinfo=UTC))
        others = [Database(database_url) for _ in range(2)]

        def scan(d: Database) -> OverdueScan:
            def unit(cause: Cause) -> SqlMilestonesUnitOfWork:
                return SqlMilestonesUnitOfWork(d, chassis, clock=clock, source=SOURCE, cause=cause)

            return OverdueScan(unit, MilestoneQueries(d), clock, batch_size=5)

        try:
            results = await asyncio.gather(*(scan(d).run_once() for d in [db, *others]))
        finally:
            for other in others:
                await other.dispose()
        for type_ in (MilestoneOverdueV1.TYPE, MilestoneEscalatedV1.TYPE):
            # Overdue for months: each one alerted once and escalated once, whoever scanned.
            raised = [
                e.data["milestone_id"] for events in results for e in events if e.type == type_
            ]
            assert len(raised) == len(set(raised)) == 60
        assert await _outbox_count(db) == 120

    @pytest.mark.parametrize("first", ["plan", "allocation"])
    async def test_a_plan_and_its_allocation_applied_at_once_by_two_instances_meet(
        self, db: Database, database_url: str, first: str
    ) -> None:
        opened, accepted, funded = call_opened(phase_plan=FIVE_STEPS), team_accepted(), allocated()
        async with sql_unit(db) as uow:
            await on_call_opened(uow, opened, envelope(opened))

        async def apply(uow: SqlMilestonesUnitOfWork, payload: EventData) -> None:
            if isinstance(payload, TeamAcceptedV1):
                await on_team_accepted(uow, payload, envelope(payload))
            else:
                assert isinstance(payload, BudgetAllocatedV1)
                await on_budget_allocated(uow, payload, envelope(payload))

        held, rival = (accepted, funded) if first == "plan" else (funded, accepted)
        await race_two_instances(
            db,
            database_url,
            sql_unit,
            lambda uow: apply(uow, held),
            lambda uow: apply(uow, rival),
            # PostgreSQL: the rival waited for the held unit's row of budget's word and lost
            # on its key; the consumer reads such a batch again.
            rival_retries_on=(IntegrityError,),
        )
        plan = await MilestoneQueries(db).plan(accepted.team_id)
        assert plan is not None
        assert plan.status == ACTIVE

    @pytest.mark.parametrize("first", ["call", "team"])
    async def test_a_call_and_its_team_applied_at_once_by_two_instances_meet(
        self, db: Database, database_url: str, first: str
    ) -> None:
        # A call's events and its teams' are keyed differently, so two instances may apply
        # them at the same moment; neither may leave the team waiting for a call it has.
        opened, accepted = call_opened(phase_plan=FIVE_STEPS), team_accepted()

        async def apply(uow: SqlMilestonesUnitOfWork, payload: EventData) -> None:
            if isinstance(payload, TeamAcceptedV1):
                await on_team_accepted(uow, payload, envelope(payload))
            else:
                assert isinstance(payload, CallOpenedV1)
                await on_call_opened(uow, payload, envelope(payload))

        held, rival = (opened, accepted) if first == "call" else (accepted, opened)
        await race_two_instances(
            db, database_url, sql_unit, lambda uow: apply(uow, held), lambda uow: apply(uow, rival)
        )
        plan = await MilestoneQueries(db).plan(accepted.team_id)
        assert plan is not None, "the team waits for a call that was opened"
        assert len(plan.milestones) == 5


async def _outbox_count(db: Database) -> int:
    async with db.sessions() as session:
        rows: Sequence[object] = (await session.execute(select(chassis.outbox.c.event_id))).all()
    return len(rows)


class TestMilestonesDatabaseOnSqlite(OnSqlite, MilestonesDatabaseContract):
    pass


class TestMilestonesDatabaseOnPostgres(OnPostgres, MilestonesDatabaseContract):
    pass
