"""Budget's units of work: on its database, and in memory for the handler tests."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.clock import Clock
from cimis_chassis.memory import MemoryRepository
from cimis_chassis.unit_of_work import Cause, Flushable, InMemoryUnitOfWork, SqlUnitOfWork
from services.budget.adapters.ledger_store import SqlLedger
from services.budget.adapters.memory import (
    MemoryBankAccounts,
    MemoryCostPlans,
    MemoryEarlyCompletions,
    MemoryExpenses,
    MemoryLedger,
    MemoryPaymentRequests,
    MemoryPaymentRuns,
    MemoryPots,
    MemoryTeams,
)
from services.budget.adapters.sql_repositories import (
    SqlBankAccounts,
    SqlCostPlans,
    SqlEarlyCompletions,
    SqlExpenses,
    SqlPaymentRequests,
    SqlPaymentRuns,
    SqlPots,
    SqlTeams,
)


class SqlBudgetUnitOfWork(SqlUnitOfWork):
    pots: SqlPots
    teams: SqlTeams
    early_completions: SqlEarlyCompletions
    expenses: SqlExpenses
    cost_plans: SqlCostPlans
    bank_accounts: SqlBankAccounts
    payment_requests: SqlPaymentRequests
    payment_runs: SqlPaymentRuns
    ledger: SqlLedger

    def open_repositories(self, session: AsyncSession) -> None:
        self.pots = SqlPots(session)
        self.teams = SqlTeams(session)
        self.early_completions = SqlEarlyCompletions(session)
        self.expenses = SqlExpenses(session)
        self.cost_plans = SqlCostPlans(session)
        self.bank_accounts = SqlBankAccounts(session)
        self.payment_requests = SqlPaymentRequests(session)
        self.payment_runs = SqlPaymentRuns(session)
        self.ledger = SqlLedger(session)

    def stores(self) -> tuple[Flushable, ...]:
        # Expenses and cost plans refer to their team's row, so teams are written first.
        return (
            self.pots,
            self.teams,
            self.early_completions,
            self.expenses,
            self.cost_plans,
            self.bank_accounts,
            self.payment_requests,
            self.payment_runs,
            self.ledger,
        )


class MemoryBudgetUnitOfWork(InMemoryUnitOfWork):
    def __init__(
        self, *, clock: Clock, source: str = "cimis/budget", cause: Cause | None = None
    ) -> None:
        super().__init__(clock=clock, source=source, cause=cause)
        self.pots = MemoryPots()
        self.teams = MemoryTeams()
        self.early_completions = MemoryEarlyCompletions()
        self.expenses = MemoryExpenses()
        self.cost_plans = MemoryCostPlans()
        self.bank_accounts = MemoryBankAccounts()
        self.payment_requests = MemoryPaymentRequests()
        self.payment_runs = MemoryPaymentRuns()
        self.ledger = MemoryLedger()

    def repositories(self) -> tuple[MemoryRepository, ...]:
        return (
            self.pots,
            self.teams,
            self.early_completions,
            self.expenses,
            self.cost_plans,
            self.bank_accounts,
            self.payment_requests,
            self.payment_runs,
            self.ledger,
        )
