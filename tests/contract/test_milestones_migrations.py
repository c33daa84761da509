"""Migration 0003 on SQLite and PostgreSQL: existing plans keep running, and back again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy import pool

from cimis_chassis.database import Database, sync_url
from cimis_chassis.migrations import alembic_config
from services.milestones.adapters.queries import MilestoneQueries
from services.milestones.domain.funding import Funding
from services.milestones.domain.plans import ACTIVE, CLOSED, COMPLETED, PENDING_BUDGET, cancel
from tests.contract.databases import DatabaseContract, OnPostgres, OnSqlite, migrations_of
from tests.contract.test_milestones_repository import NOW, sql_unit, store
from tests.unit.milestones.builders import a_plan

# A plan row as schema 0002 had it.
OLD_PLAN = (
    "INSERT INTO plans (team_id, call_id, agent_id, team_title, template, status, accepted_at, "
    "created_at) VALUES (:team, 'call-1', 'agent-anna', 'Team', 'call', :status, "
    "'2024-08-01 08:00:00', '2024-08-01 08:00:00')"
)


class MigrationContract(DatabaseContract):
    service = "milestones"

    async def test_plans_started_on_acceptance_keep_running_and_a_downgrade_restores_them(
        self, database_url: str
    ) -> None:
        config = alembic_config(migrations_of("milestones"), database_url)
        command.downgrade(config, "0002")
        engine = sa.create_engine(sync_url(database_url), poolclass=pool.NullPool)
        old = {"t-running": "active", "t-done": "completed", "t-gone": "cancelled"}
        with engine.begin() as connection:
            for team, status in old.items():
                connection.execute(sa.text(OLD_PLAN), {"team": team, "status": status})

        command.upgrade(config, "head")

        db = Database(database_url)
        try:
            queries = MilestoneQueries(db)
            found = {team: await queries.plan(team) for team in old}
            assert {t: p.status for t, p in found.items() if p} == {
                "t-running": ACTIVE,
                "t-done": COMPLETED,
                "t-gone": CLOSED,
            }
            assert all(p and p.started_at == p.accepted_at for p in found.values())
            waiting, refused = a_plan("t-waiting", funded=False), a_plan("t-refused", funded=False)
            await store(sql_unit(db), waiting, cancel(refused, now=NOW).plan)
            async with sql_unit(db) as uow:
                await uow.funding.put(Funding("t-waiting", "call-1"))
            assert (await queries.plan("t-waiting")) == waiting
            assert waiting.status == PENDING_BUDGET
        finally:
            await db.dispose()

        command.downgrade(config, "0002")

        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT team_id, status FROM plans")).all()
        # The old rule knew no waiting plan: it ran from acceptance.
        assert {r.team_id: r.status for r in rows} == old | {
            "t-waiting": "active",
            "t-refused": "cancelled",
        }
        inspector = sa.inspect(engine)
        assert "team_funding" not in inspector.get_table_names()
        assert "started_at" not in {c["name"] for c in inspector.get_columns("plans")}
        engine.dispose()
        command.upgrade(config, "head")


class TestMigrationOnSqlite(OnSqlite, MigrationContract):
    pass


class TestMigrationOnPostgres(OnPostgres, MigrationContract):
    pass
