"""Outcomes' repositories on SQLite and PostgreSQL: its migrations build exactly its tables,
facts arriving in any order join up, and a blueprint comes back as it was stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.keyset import page_from
from cimis_chassis.unit_of_work import Cause
from services.outcomes.adapters.forecast_store import team_progress
from services.outcomes.adapters.queries import OutcomesQueries
from services.outcomes.adapters.tables import chassis, metadata
from services.outcomes.adapters.unit_of_work import SqlOutcomesUnitOfWork
from services.outcomes.domain import blueprints as rules
from services.outcomes.domain.forecast import DEFAULT_TRANCHES, Milestone, Tranche
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

    async def test_a_forecast_follows_the_latest_due_days_and_cost_plan_in_force(
        self, db: Database
    ) -> None:
        kickoff, final = (
            Milestone("kickoff", date(2025, 2, 1)),
            Milestone("final", date(2025, 7, 1)),
        )
        async with unit(db) as uow:
            await uow.teams.add(a_team(plan_status=RUNNING))
            await uow.forecast_plans.call_plan("call-1", [Tranche(None, 100)], 30)
            await uow.forecast_plans.call_plan("call-1", DEFAULT_TRANCHES, 90)  # seen already
            await uow.forecast_plans.milestones("team-1", [("m-k", kickoff), ("m-f", final)])
            await uow.forecast_plans.cost_plan("team-1", 2, {"personnel": 70_00, "travel": 30_00})
        async with unit(db) as uow:
            await uow.forecast_plans.cost_plan("team-1", 1, {"personnel": 100_00})  # older
            await uow.forecast_plans.reschedule("team-1", "m-f", date(2025, 8, 1))
            await uow.forecast_plans.milestones("team-1", [("m-f", final)])  # again: no change

        async with db.sessions() as session:
            progress = await team_progress(session, "team-1", NOW)

        assert progress is not None
        assert (progress.tranches, progress.settlement_days) == ((Tranche(None, 100),), 30)
        assert progress.milestones == (kickoff, Milestone("final", date(2025, 8, 1)))
        assert progress.cost_plan == {"personnel": 70_00, "travel": 30_00}
        # No allocation known yet: the plan runs from the acceptance.
        assert progress.starts_on == a_team().accepted_at.date()

        # No milestone waived.
        assert progress.waived == frozenset()

    async def test_a_waived_milestone_counts_until_it_is_reopened(self, db: Database) -> None:
        planned = [
            ("m-p", Milestone("prototype", date(2025, 5, 1))),
            ("m-f", Milestone("final", date(2025, 7, 1))),
        ]
        async with unit(db) as uow:
            await uow.teams.add(a_team(plan_status=RUNNING))
            await uow.forecast_plans.milestones("team-1", planned)
            await uow.forecast_plans.waive("team-1", "m-p", waived=True)
            await uow.forecast_plans.waive("team-1", "m-f", waived=True)
            await uow.forecast_plans.waive("team-2", "m-p", waived=True)  # another team's
        async with unit(db) as uow:
            await uow.forecast_plans.waive("team-1", "m-f", waived=False)  # reopened
            await uow.forecast_plans.milestones("team-1", planned)  # again: no change

        async with db.sessions() as session:
            progress = await team_progress(session, "team-1", NOW)

        assert progress is not None
        assert progress.milestones == tuple(m for _, m in planned)
        assert progress.waived == frozenset({"prototype"})


class TestOutcomesOnSqlite(OnSqlite, OutcomesContract):
    pass


class TestOutcomesOnPostgres(OnPostgres, OutcomesContract):
    pass
