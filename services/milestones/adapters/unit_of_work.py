"""The milestones units of work: on the service's database, and in memory for handler tests."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.clock import Clock
from cimis_chassis.memory import MemoryRepository
from cimis_chassis.unit_of_work import Cause, Flushable, InMemoryUnitOfWork, SqlUnitOfWork
from services.milestones.adapters.memory import (
    MemoryAwaitingTeams,
    MemoryCallPlans,
    MemoryFundings,
    MemoryOverdueAlerts,
    MemoryPayouts,
    MemoryPlans,
    MemoryWithdrawals,
)
from services.milestones.adapters.sql_funding import SqlFundings, SqlPayouts
from services.milestones.adapters.sql_intake_state import (
    SqlAwaitingTeams,
    SqlCallPlans,
    SqlWithdrawals,
)
from services.milestones.adapters.sql_overdue import SqlOverdueAlerts
from services.milestones.adapters.sql_plans import SqlPlans


class SqlMilestonesUnitOfWork(SqlUnitOfWork):
    call_plans: SqlCallPlans
    plans: SqlPlans
    awaiting: SqlAwaitingTeams
    withdrawals: SqlWithdrawals
    funding: SqlFundings
    payouts: SqlPayouts
    overdue: SqlOverdueAlerts

    def open_repositories(self, session: AsyncSession) -> None:
        self.call_plans = SqlCallPlans(session)
        self.plans = SqlPlans(session)
        self.awaiting = SqlAwaitingTeams(session)
        self.withdrawals = SqlWithdrawals(session)
        self.funding = SqlFundings(session)
        self.payouts = SqlPayouts(session)
        self.overdue = SqlOverdueAlerts(session, self.plans)

    def stores(self) -> tuple[Flushable, ...]:
        # Plans before anything that refers to their milestones (the alert claims write at once).
        return (
            self.call_plans,
            self.plans,
            self.awaiting,
            self.withdrawals,
            self.funding,
            self.payouts,
        )


class MemoryMilestonesUnitOfWork(InMemoryUnitOfWork):
    def __init__(
        self, *, clock: Clock, source: str = "cimis/milestones", cause: Cause | None = None
    ) -> None:
        super().__init__(clock=clock, source=source, cause=cause)
        self.call_plans = MemoryCallPlans()
        self.plans = MemoryPlans()
        self.awaiting = MemoryAwaitingTeams()
        self.withdrawals = MemoryWithdrawals()
        self.funding = MemoryFundings()
        self.payouts = MemoryPayouts()
        self.overdue = MemoryOverdueAlerts(self.plans)

    def repositories(self) -> tuple[MemoryRepository, ...]:
        return (
            self.call_plans,
            self.plans,
            self.awaiting,
            self.withdrawals,
            self.funding,
            self.payouts,
            self.overdue,
        )
