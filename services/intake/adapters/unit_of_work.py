"""Intake's units of work: on the database for the service, in memory for the handler tests."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.clock import Clock
from cimis_chassis.memory import MemoryRepository
from cimis_chassis.unit_of_work import Cause, Flushable, InMemoryUnitOfWork, SqlUnitOfWork
from services.intake.adapters.memory import (
    MemoryAgents,
    MemoryApplications,
    MemoryCalls,
    MemoryMemberships,
    MemoryTeams,
)
from services.intake.adapters.sql_repositories import (
    SqlAgents,
    SqlApplications,
    SqlCalls,
    SqlMemberships,
    SqlTeams,
)


class SqlIntakeUnitOfWork(SqlUnitOfWork):
    calls: SqlCalls
    applications: SqlApplications
    teams: SqlTeams
    memberships: SqlMemberships
    agents: SqlAgents

    def open_repositories(self, session: AsyncSession) -> None:
        self.calls = SqlCalls(session)
        self.applications = SqlApplications(session)
        self.teams = SqlTeams(session)
        self.memberships = SqlMemberships(session)
        self.agents = SqlAgents(session)

    def stores(self) -> tuple[Flushable, ...]:
        # Foreign keys: applications name a call, teams both, memberships a team.
        return (self.calls, self.applications, self.teams, self.memberships, self.agents)


class MemoryIntakeUnitOfWork(InMemoryUnitOfWork):
    def __init__(
        self, *, clock: Clock, source: str = "cimis/intake", cause: Cause | None = None
    ) -> None:
        super().__init__(clock=clock, source=source, cause=cause)
        self.calls = MemoryCalls()
        self.applications = MemoryApplications()
        self.teams = MemoryTeams()
        self.memberships = MemoryMemberships()
        self.agents = MemoryAgents()

    def repositories(self) -> tuple[MemoryRepository, ...]:
        return (self.calls, self.applications, self.teams, self.memberships, self.agents)
