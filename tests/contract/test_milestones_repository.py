"""MilestonesRepository and the overdue claim behave alike on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.keyset import Page
from services.milestones.adapters.repository import Alert, MilestoneFilter, MilestonesRepository
from services.milestones.adapters.tables import chassis, metadata
from services.milestones.app.overdue import OverdueScan
from services.milestones.domain.plans import (
    CANCELLED,
    COMPLETED,
    AcceptedTeam,
    PhaseStep,
    Plan,
    cancel,
    complete,
)
from tests.contract.databases import OnPostgres, OnSqlite, ServiceSchemaContract
from tests.unit.milestones.builders import ACCEPTED_AT, a_plan

# 1 September 2024: the kick-off (due 15 August) and the workshop (due 12 September) of a team
# accepted on 1 August differ: one overdue, one open.
TODAY = date(2024, 9, 1)
NOW = datetime(2024, 9, 1, 10, 0, tzinfo=UTC)


class MilestonesRepositoryContract(ServiceSchemaContract):
    metadata = metadata
    service = "milestones"

    async def store(self, db: Database, *plans: Plan) -> None:
        async with db.transaction() as session:
            repo = MilestonesRepository(session)
            for plan in plans:
                await repo.add_plan(plan)

    async def listed(
        self, db: Database, where: MilestoneFilter, *, limit: int = 200, today: date = TODAY
    ) -> list[tuple[str, str]]:
        async with db.sessions() as session:
            views = await MilestonesRepository(session).list_milestones(
                where, Page(after=None, limit=limit), today=today
            )
        return [(v.milestone.team_id, v.milestone.key) for v in views]

    # plans

    async def test_a_plan_comes_back_with_its_milestones_in_order(self, db: Database) -> None:
        plan = a_plan(accepted_at=datetime(2024, 8, 1, 22, 30, tzinfo=UTC))
        await self.store(db, plan)

        async with db.sessions() as session:
            found = await MilestonesRepository(session).get_plan(plan.team_id)

        assert found == plan
        assert found is not None
        assert found.accepted_at.tzinfo is UTC
        assert isinstance(found.milestones[0].due_date, date)
        assert found.milestones[0].due_date == date(2024, 8, 16)

    async def test_unknown_ids_find_nothing(self, db: Database) -> None:
        async with db.sessions() as session:
            repo = MilestonesRepository(session)
            assert await repo.get_plan("nope") is None
            assert await repo.plan_of_milestone("nope") is None

    async def test_a_plan_is_found_by_any_of_its_milestones_for_update(self, db: Database) -> None:
        plan = a_plan()
        await self.store(db, plan)
        async with db.transaction() as session:
            found = await MilestonesRepository(session).plan_of_milestone(
                plan.milestones[2].id, for_update=True
            )
        assert found == plan

    async def test_saving_stores_completion_and_cancellation(self, db: Database) -> None:
        plan = a_plan()
        await self.store(db, plan)
        later = ACCEPTED_AT + timedelta(days=3)
        done = complete(
            plan,
            plan.milestones[0].id,
            by="agent-anna",
            now=later,
            note="Auftakt",
            evidence_url="https://example.org/x",
        )
        cancellation = cancel(done.plan, now=later)
        async with db.transaction() as session:
            repo = MilestonesRepository(session)
            await repo.save(done.plan, [done.milestone])
            await repo.save(cancellation.plan, cancellation.cancelled)

        async with db.sessions() as session:
            found = await MilestonesRepository(session).get_plan(plan.team_id)
        assert found == cancellation.plan
        assert found is not None
        assert [m.status for m in found.milestones] == [COMPLETED, *[CANCELLED] * 4]
        assert found.milestones[0].completed_at == later

    async def test_a_team_has_one_plan(self, db: Database) -> None:
        await self.store(db, a_plan())
        with pytest.raises(IntegrityError):
            await self.store(db, a_plan(new_id=lambda: str(uuid.uuid4())))

    # call templates and withdrawals

    async def test_a_calls_template_is_kept_once(self, db: Database) -> None:
        first = (PhaseStep("kickoff", "Auftakt", 7), PhaseStep("final", "Abschluss", 90))
        async with db.transaction() as session:
            repo = MilestonesRepository(session)
            assert await repo.add_call_plan("call-1", first, NOW)
            assert not await repo.add_call_plan("call-1", (PhaseStep("final", "F", 9),), NOW)
        async with db.sessions() as session:
            repo = MilestonesRepository(session)
            assert await repo.get_call_plan("call-1") == first
            assert await repo.get_call_plan("call-2") is None

    async def test_a_withdrawal_is_remembered_once(self, db: Database) -> None:
        async with db.transaction() as session:
            repo = MilestonesRepository(session)
            await repo.record_withdrawal("team-1", "call-1", NOW)
            await repo.record_withdrawal("team-1", "call-1", NOW)
        async with db.sessions() as session:
            repo = MilestonesRepository(session)
            assert await repo.is_withdrawn("team-1")
            assert not await repo.is_withdrawn("team-2")

    async def test_teams_await_their_call_once_and_are_taken_in_acceptance_order(
        self, db: Database
    ) -> None:
        early = AcceptedTeam("team-1", "call-1", "agent-anna", "Eins", ACCEPTED_AT)
        late = AcceptedTeam("team-2", "call-1", "agent-ben", "Zwei", ACCEPTED_AT + timedelta(1))
        other = AcceptedTeam("team-3", "call-2", "agent-anna", "Drei", ACCEPTED_AT)
        gone = AcceptedTeam("team-4", "call-1", "agent-anna", "Vier", ACCEPTED_AT)
        async with db.transaction() as session:
            repo = MilestonesRepository(session)
            for team in (late, early, early, other, gone):
                await repo.await_call(team, NOW)
            await repo.stop_awaiting("team-4")
        async with db.transaction() as session:
            repo = MilestonesRepository(session)
            assert await repo.take_awaiting("call-1") == [early, late]
            assert await repo.take_awaiting("call-1") == []
        async with db.transaction() as session:
            assert await MilestonesRepository(session).take_awaiting("call-2") == [other]

    # listings

    async def test_milestones_are_listed_by_shown_status(self, db: Database) -> None:
        active = a_plan("team-a")
        done = complete(
            active, active.milestones[1].id, by="staff", now=NOW, note=None, evidence_url=None
        )
        withdrawn = a_plan("team-w")
        cancellation = cancel(withdrawn, now=NOW)
        await self.store(db, active, withdrawn)
        async with db.transaction() as session:
            repo = MilestonesRepository(session)
            await repo.save(done.plan, [done.milestone])
            await repo.save(cancellation.plan, cancellation.cancelled)

        assert await self.listed(db, MilestoneFilter(status="overdue")) == [("team-a", "kickoff")]
        assert await self.listed(db, MilestoneFilter(status="completed")) == [
            ("team-a", "workshop")
        ]
        assert await self.listed(db, MilestoneFilter(status="open")) == [
            ("team-a", "prototype"),
            ("team-a", "test"),
            ("team-a", "final"),
        ]
        assert len(await self.listed(db, MilestoneFilter(status="cancelled"))) == 5
        # The Berlin day decides: on the kick-off's due day it is still open.
        assert (
            await self.listed(db, MilestoneFilter(status="overdue"), today=date(2024, 8, 15)) == []
        )

    async def test_milestones_are_filtered_by_team_call_key_and_agent(self, db: Database) -> None:
        await self.store(
            db,
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
        await self.store(db, *plans)
        seen: list[str] = []
        after: tuple[date, str] | None = None
        for _ in range(20):
            async with db.sessions() as session:
                page = await MilestonesRepository(session).list_milestones(
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

    # the overdue claim

    async def test_overdue_candidates_skip_what_was_alerted_for_the_same_due_date(
        self, db: Database
    ) -> None:
        plan = a_plan()
        await self.store(db, plan)
        kickoff = plan.milestones[0]
        async with db.transaction() as session:
            repo = MilestonesRepository(session)
            [candidate] = await repo.overdue_candidates(today=TODAY, limit=10)
            assert candidate.milestone == kickoff
            assert candidate.call_id == "call-1"
            await repo.claim_alerts([Alert(kickoff.id, kickoff.due_date, "e1")], NOW)

        async with db.transaction() as session:
            repo = MilestonesRepository(session)
            assert await repo.overdue_candidates(today=TODAY, limit=10) == []
            moved = replace(kickoff, due_date=date(2024, 8, 25))
            await repo.save(plan.with_milestone(moved), [moved])
            [again] = await repo.overdue_candidates(today=TODAY, limit=10)
            assert again.milestone.due_date == date(2024, 8, 25)

    async def test_an_alert_is_claimed_once_per_milestone_and_due_date(self, db: Database) -> None:
        plan = a_plan()
        await self.store(db, plan)
        kickoff = plan.milestones[0]
        async with db.transaction() as session:
            repo = MilestonesRepository(session)
            first = Alert(kickoff.id, kickoff.due_date, "e1")
            assert await repo.claim_alerts([first], NOW) == {kickoff.id}
            assert await repo.claim_alerts([replace(first, event_id="e2")], NOW) == set()
            assert await repo.claim_alerts([Alert(kickoff.id, date(2024, 8, 20), "e3")], NOW) == {
                kickoff.id
            }
            assert await repo.alerts_of(kickoff.id) == [date(2024, 8, 15), date(2024, 8, 20)]

    async def test_a_claim_waiting_on_an_uncommitted_one_loses(
        self, db: Database, database_url: str
    ) -> None:
        plan = a_plan()
        await self.store(db, plan)
        kickoff = plan.milestones[0]
        other = Database(database_url)

        async def claim_elsewhere() -> set[str]:
            async with other.transaction() as session:
                return await MilestonesRepository(session).claim_alerts(
                    [Alert(kickoff.id, kickoff.due_date, "e2")], NOW
                )

        try:
            async with db.transaction() as session:
                first = await MilestonesRepository(session).claim_alerts(
                    [Alert(kickoff.id, kickoff.due_date, "e1")], NOW
                )
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
        await self.store(db, *[a_plan(f"team-{n:02d}") for n in range(12)])
        clock = ManualClock(datetime(2025, 6, 1, tzinfo=UTC))
        others = [Database(database_url) for _ in range(2)]
        try:
            results = await asyncio.gather(
                *(OverdueScan(d, chassis, clock, batch_size=5).run_once() for d in [db, *others])
            )
        finally:
            for other in others:
                await other.dispose()
        raised = [e.data["milestone_id"] for events in results for e in events]
        assert len(raised) == len(set(raised)) == 60
        assert await _outbox_count(db) == 60

    async def test_overdue_milestones_are_counted(self, db: Database) -> None:
        await self.store(db, a_plan("team-1"), a_plan("team-2"))
        async with db.sessions() as session:
            repo = MilestonesRepository(session)
            assert await repo.count_overdue(today=TODAY) == 2
            assert await repo.count_overdue(today=date(2024, 8, 15)) == 0


async def _outbox_count(db: Database) -> int:
    async with db.sessions() as session:
        rows: Sequence[object] = (await session.execute(select(chassis.outbox.c.event_id))).all()
    return len(rows)


class TestMilestonesRepositoryOnSqlite(OnSqlite, MilestonesRepositoryContract):
    pass


class TestMilestonesRepositoryOnPostgres(OnPostgres, MilestonesRepositoryContract):
    pass
