"""The weekly digest's read model and records keep one contract in memory, on SQLite and on
PostgreSQL; migration 0004 gives existing agents the default digest, and goes back."""

from __future__ import annotations

import asyncio
import datetime as dt
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy import pool, select

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database, sync_url
from cimis_chassis.migrations import alembic_config
from cimis_chassis.unit_of_work import Cause
from services.notify.adapters.queries import NotifyQueries
from services.notify.adapters.tables import digests, notifications
from services.notify.adapters.templates import TemplateRenderer
from services.notify.adapters.unit_of_work import SqlNotifyUnitOfWork
from services.notify.app.digests import WeeklyDigests
from services.notify.domain.alerts import TeamContact
from services.notify.domain.digest import (
    DONE,
    OPEN,
    TeamBudget,
    TrackedMilestone,
    WaitingExpense,
)
from services.notify.domain.digest_schedule import DEFAULT_SCHEDULE, DigestSchedule
from tests.contract.databases import DatabaseContract, OnPostgres, OnSqlite, migrations_of
from tests.contract.test_notify_repository import InDatabase, InMemory, Unit, sql_unit
from tests.unit.notify.builders import NOW, an_agent

WEEK = "2025-W11"
MONDAY_8 = datetime(2025, 3, 10, 7, 0, tzinfo=UTC)  # 08:00 in Berlin


def milestone(ident: str, team_id: str = "t-1", due: dt.date = dt.date(2025, 3, 14)) -> Any:
    return TrackedMilestone(ident, team_id, "prototype", "Prototyp", due, OPEN)


class DigestsContract:
    async def test_budget_facts_are_set_not_added(self, unit: Unit) -> None:
        async with unit as uow:
            await uow.digest_facts.approve_total("t-1", 500)  # before the allocation
            await uow.digest_facts.allocate("t-1", 45_000_00)
            await uow.digest_facts.approve_total("t-1", 1_000_00)
            await uow.digest_facts.allocate("t-1", 45_000_00)
            await uow.digest_facts.close_budget("t-2")
            await uow.digest_facts.withdraw_team("t-2")
        async with unit as uow:
            found = await uow.digest_facts.budgets(["t-1", "t-2", "t-3"])

        assert found == {
            "t-1": TeamBudget("t-1", 45_000_00, 1_000_00),
            "t-2": TeamBudget("t-2", closed=True, withdrawn=True),
        }

    async def test_expenses_wait_until_decided(self, unit: Unit) -> None:
        async with unit as uow:
            for ident, team in (("e-1", "t-1"), ("e-2", "t-1"), ("e-3", "t-2")):
                await uow.digest_facts.expense_waiting(WaitingExpense(ident, team, 100, NOW))
            await uow.digest_facts.expense_waiting(WaitingExpense("e-1", "t-1", 250, NOW))
            await uow.digest_facts.expense_decided("e-2")
            await uow.digest_facts.expense_decided("e-unknown")
        async with unit as uow:
            found = await uow.digest_facts.waiting(["t-1"])

        assert found == [WaitingExpense("e-1", "t-1", 250, NOW)]

    async def test_milestones_are_planned_moved_settled_and_cancelled(self, unit: Unit) -> None:
        async with unit as uow:
            await uow.digest_facts.plan([milestone("m-1"), milestone("m-2"), milestone("m-3")])
            await uow.digest_facts.plan([milestone("m-9", "t-2")])
            await uow.digest_facts.reschedule("m-1", dt.date(2025, 4, 1))
            await uow.digest_facts.set_status("m-2", DONE)
            await uow.digest_facts.set_status("m-unknown", DONE)
            await uow.digest_facts.cancel_plan("t-2")
        async with unit as uow:
            found = {m.milestone_id: m for m in await uow.digest_facts.milestones(["t-1", "t-2"])}

        assert set(found) == {"m-1", "m-2", "m-3"}
        assert found["m-1"].due_date == dt.date(2025, 4, 1)
        assert (found["m-2"].status, found["m-3"].status) == (DONE, OPEN)

    async def test_an_agents_teams_are_those_the_teams_map_gives_them(self, unit: Unit) -> None:
        async with unit as uow:
            await uow.teams.save(TeamContact("t-1", "c-1", "Hofladen", "anna"), accepted_at=NOW)
            await uow.teams.save(TeamContact("t-2", "c-1", "Bäckerei", "bert"), accepted_at=NOW)
        async with unit as uow:
            found = await uow.digest_facts.teams_of("anna")

        assert [t.team_id for t in found] == ["t-1"]

    async def test_a_week_is_claimed_once_per_agent(self, unit: Unit) -> None:
        async with unit as uow:
            await uow.agents.add(an_agent("anna", digest=DEFAULT_SCHEDULE))
            await uow.agents.add(an_agent("bert", digest=DEFAULT_SCHEDULE))
            await uow.agents.add(an_agent("carla", digest=None))
            await uow.agents.add(an_agent("dora", digest=DEFAULT_SCHEDULE, retired_at=NOW))
        async with unit as uow:
            assert [a.id for a in await uow.digests.undecided(WEEK)] == ["anna", "bert"]
            assert await uow.digests.claim(
                "anna", WEEK, outcome="sent", notification_id="n-1", now=NOW
            )
        async with unit as uow:
            assert not await uow.digests.claim(
                "anna", WEEK, outcome="skipped", notification_id=None, now=NOW
            )
            assert [a.id for a in await uow.digests.undecided(WEEK)] == ["bert"]
            assert [a.id for a in await uow.digests.undecided("2025-W12")] == ["anna", "bert"]

    async def test_a_rolled_back_claim_is_no_claim(self, unit: Unit) -> None:
        try:
            async with unit as uow:
                await uow.digests.claim("anna", WEEK, outcome="sent", notification_id=None, now=NOW)
                raise RuntimeError("crash before the commit")
        except RuntimeError:
            pass
        async with unit as uow:
            assert await uow.digests.claim(
                "anna", WEEK, outcome="sent", notification_id=None, now=NOW
            )


class TestDigestsInMemory(InMemory, DigestsContract):
    pass


class DigestsSqlContract(InDatabase, DigestsContract, DatabaseContract):
    service = "notify"

    async def test_an_agents_digest_setting_is_stored(self, db: Database, unit: Unit) -> None:
        friday = DigestSchedule.parse("friday", "16:30")
        async with unit as uow:
            await uow.agents.add(an_agent("anna", digest=friday))
            await uow.agents.add(an_agent("bert", digest=None))
        async with db.sessions() as session:
            queries = NotifyQueries(session)
            anna, bert = await queries.agent("anna"), await queries.agent("bert")

        assert anna is not None
        assert bert is not None
        assert (anna.digest, bert.digest) == (friday, None)

    async def test_two_instances_racing_send_one_digest(
        self, db: Database, clock: ManualClock
    ) -> None:
        clock.set(MONDAY_8)
        async with sql_unit(db, clock) as uow:
            await uow.agents.add(an_agent("anna", digest=DEFAULT_SCHEDULE))
            await uow.teams.save(TeamContact("t-1", "c-1", "Hofladen", "anna"), accepted_at=NOW)
            await uow.digest_facts.plan([milestone("m-1")])

        def units(cause: Cause) -> SqlNotifyUnitOfWork:
            return sql_unit(db, clock)

        outcomes = await asyncio.gather(
            *(WeeklyDigests(units, TemplateRenderer()).run_once() for _ in range(3))
        )

        assert sorted(str(o) for o in outcomes) == ["{'anna': 'sent'}", "{}", "{}"]
        async with db.sessions() as session:
            kinds = (await session.execute(select(notifications.c.kind))).scalars().all()
            weeks = (await session.execute(select(digests.c.week))).scalars().all()
        assert (kinds, weeks) == (["weekly_digest"], [WEEK])


class TestDigestsOnSqlite(OnSqlite, DigestsSqlContract):
    pass


class TestDigestsOnPostgres(OnPostgres, DigestsSqlContract):
    pass


OLD_AGENT = (
    "INSERT INTO agents (id, name, email, language, created_at, updated_at) VALUES "
    "('anna', 'Anna', 'anna@example.org', 'de', '2025-03-01 08:00:00', '2025-03-01 08:00:00')"
)


class MigrationContract(DatabaseContract):
    service = "notify"

    async def test_agents_registered_before_get_the_default_and_a_downgrade_goes_back(
        self, database_url: str
    ) -> None:
        config = alembic_config(migrations_of("notify"), database_url)
        command.downgrade(config, "0003")
        engine = sa.create_engine(sync_url(database_url), poolclass=pool.NullPool)
        with engine.begin() as connection:
            connection.execute(sa.text(OLD_AGENT))

        command.upgrade(config, "head")

        db = Database(database_url)
        try:
            async with db.sessions() as session:
                anna = await NotifyQueries(session).agent("anna")
            assert anna is not None
            assert anna.digest == DEFAULT_SCHEDULE
        finally:
            await db.dispose()

        command.downgrade(config, "0003")

        inspector = sa.inspect(engine)
        tables = set(inspector.get_table_names())
        assert not tables & {"team_budgets", "waiting_expenses", "team_milestones", "digests"}
        assert "digest_weekday" not in {c["name"] for c in inspector.get_columns("agents")}
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT id FROM agents")).scalars().all() == ["anna"]
        engine.dispose()
        command.upgrade(config, "head")


class TestMigrationOnSqlite(OnSqlite, MigrationContract):
    pass


class TestMigrationOnPostgres(OnPostgres, MigrationContract):
    pass
