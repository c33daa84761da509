"""Notify's units of work: on its database, and in memory for the handler tests."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.clock import Clock
from cimis_chassis.memory import MemoryRepository
from cimis_chassis.unit_of_work import Cause, Flushable, InMemoryUnitOfWork, SqlUnitOfWork
from services.notify.adapters.memory import (
    MemoryAgents,
    MemoryDeliveries,
    MemoryNotifications,
    MemoryParkedEvents,
    MemoryTeams,
)
from services.notify.adapters.memory_digests import MemoryDigestFacts, MemoryDigests
from services.notify.adapters.sql_deliveries import SqlDeliveries
from services.notify.adapters.sql_digests import SqlDigestFacts, SqlDigests
from services.notify.adapters.sql_repositories import (
    SqlAgents,
    SqlNotifications,
    SqlParkedEvents,
    SqlTeams,
)


class SqlNotifyUnitOfWork(SqlUnitOfWork):
    agents: SqlAgents
    teams: SqlTeams
    parked_events: SqlParkedEvents
    notifications: SqlNotifications
    deliveries: SqlDeliveries
    digest_facts: SqlDigestFacts
    digests: SqlDigests

    def open_repositories(self, session: AsyncSession) -> None:
        self.agents = SqlAgents(session)
        self.teams = SqlTeams(session)
        self.parked_events = SqlParkedEvents(session)
        self.notifications = SqlNotifications(session)
        self.deliveries = SqlDeliveries(session, self.notifications)
        self.digest_facts = SqlDigestFacts(session)
        self.digests = SqlDigests(session)

    def stores(self) -> tuple[Flushable, ...]:
        # Deliveries after their notifications (foreign key); the rest stand alone. The
        # digest's repositories write at once and hold nothing for the flush.
        return (self.agents, self.teams, self.parked_events, self.notifications, self.deliveries)


class MemoryNotifyUnitOfWork(InMemoryUnitOfWork):
    def __init__(
        self, *, clock: Clock, source: str = "cimis/notify", cause: Cause | None = None
    ) -> None:
        super().__init__(clock=clock, source=source, cause=cause)
        self.agents = MemoryAgents()
        self.teams = MemoryTeams()
        self.parked_events = MemoryParkedEvents()
        self.notifications = MemoryNotifications()
        self.deliveries = MemoryDeliveries(self.notifications, self.agents)
        self.digest_facts = MemoryDigestFacts(self.teams)
        self.digests = MemoryDigests(self.agents)

    def repositories(self) -> tuple[MemoryRepository, ...]:
        return (
            self.agents,
            self.teams,
            self.parked_events,
            self.notifications,
            self.deliveries,
            self.digest_facts,
            self.digests,
        )
