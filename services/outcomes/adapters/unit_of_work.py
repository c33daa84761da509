"""Outcomes' unit of work on the database."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.unit_of_work import SqlUnitOfWork
from services.outcomes.adapters.forecast_store import SqlForecastPlans, SqlForecastStates
from services.outcomes.adapters.report_store import SqlReportFacts
from services.outcomes.adapters.repositories import SqlBlueprints, SqlCosts, SqlTeams


class SqlOutcomesUnitOfWork(SqlUnitOfWork):
    teams: SqlTeams
    costs: SqlCosts
    blueprints: SqlBlueprints
    report: SqlReportFacts
    forecasts: SqlForecastStates
    forecast_plans: SqlForecastPlans

    def open_repositories(self, session: AsyncSession) -> None:
        self.teams = SqlTeams(session)
        self.costs = SqlCosts(session)
        self.blueprints = SqlBlueprints(session)
        self.report = SqlReportFacts(session)
        self.forecasts = SqlForecastStates(session)
        self.forecast_plans = SqlForecastPlans(session)
