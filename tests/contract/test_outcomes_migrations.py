"""Outcomes' migrations on SQLite and PostgreSQL: 0005 takes the blueprints' history from the
audit log, so the blueprints public on a past day are counted as they were, and back again;
0006 keeps the milestones known before, none of them waived."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import command
from sqlalchemy import pool

from cimis_chassis.database import Database, sync_url
from cimis_chassis.migrations import alembic_config
from services.outcomes.adapters.queries import OutcomesQueries
from services.outcomes.adapters.repositories import blueprint_row
from services.outcomes.adapters.tables import blueprints, chassis, forecast_milestones
from services.outcomes.domain import blueprints as rules
from services.outcomes.domain.report import end_of_day
from tests.contract.databases import DatabaseContract, OnPostgres, OnSqlite, migrations_of
from tests.unit.outcomes.builders import NOW, a_team, content


def audit(action: str, at: object) -> dict[str, object]:
    return {
        "occurred_at": at,
        "actor": "sam",
        "action": action,
        "entity_type": "blueprint",
        "entity_id": "bp-1",
        "before": None,
        "after": None,
        "correlation_id": None,
    }


class MigrationContract(DatabaseContract):
    service = "outcomes"

    async def test_the_history_of_blueprints_stored_before_comes_from_the_audit_log(
        self, database_url: str
    ) -> None:
        config = alembic_config(migrations_of("outcomes"), database_url)
        command.downgrade(config, "0004")
        # Published on day one, withdrawn on day two, resubmitted on day three: its own dates
        # are cleared by now.
        day = timedelta(days=1)
        submitted = rules.submit(a_team(), None, content(), blueprint_id="bp-1", by="x", now=NOW)
        engine = sa.create_engine(sync_url(database_url), poolclass=pool.NullPool)
        with engine.begin() as connection:
            connection.execute(blueprints.insert().values(**blueprint_row(submitted)))
            connection.execute(
                chassis.audit_log.insert(),
                [
                    audit("blueprint.submitted", NOW),
                    audit("blueprint.published", NOW),
                    audit("blueprint.withdrawn", NOW + day),
                    audit("blueprint.submitted", NOW + 2 * day),
                ],
            )
        engine.dispose()

        command.upgrade(config, "head")

        db = Database(database_url)
        try:
            async with db.sessions() as session:
                queries = OutcomesQueries(session)
                counts = [
                    await queries.published_count("call-1", end_of_day((NOW + n * day).date()))
                    for n in range(3)
                ]
        finally:
            await db.dispose()
        assert counts == [1, 0, 0]
        command.downgrade(config, "0004")
        command.upgrade(config, "head")

    async def test_milestones_known_before_waivers_were_kept_are_not_waived(
        self, database_url: str
    ) -> None:
        config = alembic_config(migrations_of("outcomes"), database_url)
        command.downgrade(config, "0005")
        engine = sa.create_engine(sync_url(database_url), poolclass=pool.NullPool)
        try:
            with engine.begin() as connection:
                connection.execute(
                    sa.text(
                        "INSERT INTO forecast_milestones (team_id, milestone_id, key, rank, "
                        "due_date) VALUES ('team-1', 'm-f', 'final', 0, '2025-07-01')"
                    )
                )
            command.upgrade(config, "head")
            with engine.connect() as connection:
                rows = connection.execute(
                    sa.select(forecast_milestones.c.milestone_id, forecast_milestones.c.waived)
                ).all()
        finally:
            engine.dispose()
        assert [tuple(r) for r in rows] == [("m-f", False)]
        command.downgrade(config, "0005")
        command.upgrade(config, "head")


class TestMigrationsOnSqlite(OnSqlite, MigrationContract):
    pass


class TestMigrationsOnPostgres(OnPostgres, MigrationContract):
    pass
