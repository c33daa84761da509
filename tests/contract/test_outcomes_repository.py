"""Outcomes' repositories on SQLite and PostgreSQL: its migrations build exactly its tables,
facts arriving in any order join up, and a blueprint comes back as it was stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.keyset import page_from
from cimis_chassis.unit_of_work import Cause
from services.outcomes.adapters.queries import OutcomesQueries
from services.outcomes.adapters.tables import chassis, metadata
from services.outcomes.adapters.unit_of_work import SqlOutcomesUnitOfWork
from services.outcomes.domain import blueprints as rules
from services.outcomes.domain.teams import COMPLETED, RUNNING
from tests.contract.databases import OnPostgres, OnSqlite, ServiceSchemaContract
from tests.unit.outcomes.builders import NOW, a_team, content


@asynccontextmanager
async def unit(db: Database) -> AsyncIterator[SqlOutcomesUnitOfWork]:
    uow = SqlOutcomesUnitOfWork(
        db, chassis, clock=ManualClock(NOW), source="cimis/outcomes", cause=Cause("test", "c", "c")
    )
    async with uow:
        yield uow


class OutcomesContract(ServiceSchemaContract):
    metadata = metadata
    service = "outcomes"

    async def test_a_plans_word_before_its_team_joins_it_when_the_team_comes(
        self, db: Database
    ) -> None:
        async with unit(db) as uow:
            await uow.teams.set_plan_status("team-1", COMPLETED)
            assert await uow.teams.get("team-1") is None
        async with unit(db) as uow:
            assert await uow.teams.add(a_team(plan_status=RUNNING))
            assert not await uow.teams.add(a_team(title="again"))
            await uow.teams.reassign("team-1", "agent-ben")
        async with unit(db) as uow:
            team = await uow.teams.get("team-1")

        assert team == a_team(agent_id="agent-ben", plan_status=COMPLETED)

    async def test_costs_add_up_per_line_and_a_reversal_takes_back(self, db: Database) -> None:
        async with unit(db) as uow:
            await uow.costs.add("team-1", "personnel", 1_000_00)
            await uow.costs.add("team-1", "personnel", 500_00)
            await uow.costs.add("team-1", "travel", 80_00)
            await uow.costs.add("team-2", "travel", 1)
        async with unit(db) as uow:
            await uow.costs.add("team-1", "personnel", -500_00)
            costs = await uow.costs.of(["team-1", "team-3"])

        assert costs == {"team-1": {"personnel": 1_000_00, "travel": 80_00}, "team-3": {}}

    async def test_a_blueprint_comes_back_as_stored_and_only_published_ones_are_public(
        self, db: Database
    ) -> None:
        submitted = rules.submit(a_team(), None, content(), blueprint_id="bp-1", by="x", now=NOW)
        async with unit(db) as uow:
            await uow.teams.add(a_team())
            await uow.blueprints.add(submitted)
        published = rules.publish(submitted, now=NOW)
        async with unit(db) as uow:
            assert await uow.blueprints.of_team("team-1", lock=True) == submitted
            await uow.blueprints.put(published)

        async with db.sessions() as session:
            queries = OutcomesQueries(session)
            assert await queries.blueprint("bp-1") == published
            assert await queries.published() == [published]
            assert await queries.team_agent("team-1") == "agent-anna"
            mine = await queries.blueprints(page_from(50, None), status=None, agent_id="agent-anna")
            theirs = await queries.blueprints(
                page_from(50, None), status=None, agent_id="agent-ben"
            )
        assert (mine, theirs) == ([published], [])


class TestOutcomesOnSqlite(OnSqlite, OutcomesContract):
    pass


class TestOutcomesOnPostgres(OnPostgres, OutcomesContract):
    pass
