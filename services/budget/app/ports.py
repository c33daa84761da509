"""What budget's handlers need from storage, as protocols: SQL and in-memory units provide them.

Reads by key go through the unit's memory of what it loaded; ``load`` reads the rows of a
whole batch at once (locked when they will change), so that a batch costs a few queries.
Writes (``add``, ``put``, ``book``) take effect when the unit commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Protocol

from cimis_chassis.unit_of_work import UnitOfWorkPort
from services.budget.domain.budgets import Pot, TeamBudget
from services.budget.domain.cost_plans import CostPlan
from services.budget.domain.expenses import Expense
from services.budget.domain.ledger import Transfer
from services.budget.domain.payouts import BankAccount, PaymentRequest, PaymentRun


class Pots(Protocol):
    async def lock(self, call_ids: Iterable[str]) -> None:
        """Hold these calls until the unit ends, opened here or not, before reading their pots
        or the teams waiting for them: a call opened and one of its teams accepted by two
        instances at once would otherwise each miss the other, and the team would wait for a
        pot that is there."""
        ...

    async def load(self, call_ids: Iterable[str], *, lock: bool = False) -> None: ...

    async def get(self, call_id: str, *, lock: bool = False) -> Pot | None: ...

    def add(self, pot: Pot, *, opened_at: datetime) -> None: ...

    def put(self, pot: Pot) -> None: ...


class Teams(Protocol):
    async def load(self, team_ids: Iterable[str], *, lock: bool = False) -> None: ...

    async def get(self, team_id: str, *, lock: bool = False) -> TeamBudget | None: ...

    def add(self, team: TeamBudget) -> None: ...

    def put(self, team: TeamBudget) -> None: ...

    async def in_line(self, call_id: str, status: str) -> list[TeamBudget]:
        """The call's teams with ``status`` (waiting for its pot to open, or for money), in
        acceptance order, locked."""
        ...


class EarlyCompletions(Protocol):
    """Milestones completed before budget learned of their team (two topics race)."""

    async def load(self, team_ids: Iterable[str]) -> None: ...

    async def note(self, team_id: str, milestone_key: str) -> None: ...

    async def take(self, team_id: str) -> frozenset[str]:
        """The team's early completions, forgotten from now on."""
        ...


class Expenses(Protocol):
    async def get(self, expense_id: str, *, lock: bool = False) -> Expense | None: ...

    def add(self, expense: Expense) -> None: ...

    def put(self, expense: Expense) -> None: ...

    async def standing_with_receipt(
        self, call_id: str, receipt_number: str, payee: str
    ) -> list[Expense]:
        """The call's submitted or approved expenses for this receipt (number and payee, in
        whatever spelling), in any team."""
        ...

    async def committed_by_position(self, team_id: str) -> dict[str, int]:
        """Fundable cents of the team's submitted and approved expenses, per budget line."""
        ...

    async def standing_receipt_dates(self, team_id: str) -> list[date]:
        """The receipt dates of the team's submitted and approved expenses."""
        ...

    async def approved_unrequested(self, team_id: str) -> list[Expense]:
        """The team's approved expenses in no payment request, locked, oldest first."""
        ...

    async def load(self, expense_ids: Iterable[str], *, lock: bool = False) -> None: ...


class CostPlans(Protocol):
    async def of_team(self, team_id: str, *, lock: bool = False) -> list[CostPlan]:
        """Every version of the team's cost plan, oldest first."""
        ...

    def add(self, plan: CostPlan) -> None: ...

    def put(self, plan: CostPlan) -> None: ...


class BankAccounts(Protocol):
    async def get(self, team_id: str) -> BankAccount | None: ...

    async def of_teams(self, team_ids: Iterable[str]) -> dict[str, BankAccount]: ...

    async def put(self, account: BankAccount) -> None:
        """Add or replace the team's account."""
        ...


class PaymentRequests(Protocol):
    async def get(self, request_id: str, *, lock: bool = False) -> PaymentRequest | None: ...

    async def with_status(self, status: str) -> list[PaymentRequest]:
        """Every request in ``status``, locked, oldest first."""
        ...

    def add(self, payment: PaymentRequest) -> None: ...

    def put(self, payment: PaymentRequest) -> None: ...


class PaymentRuns(Protocol):
    async def get(self, run_id: str) -> PaymentRun | None: ...

    def add(self, run: PaymentRun) -> None: ...


class Ledger(Protocol):
    def book(self, transfers: Sequence[Transfer], *, at: datetime, cause: str) -> None:
        """Book each transfer whose id was never booked; a replay books nothing."""
        ...

    async def balance(self, account: str) -> int: ...

    async def transfer_ids(self, call_id: str) -> list[str]:
        """The call's booked transfers, in booking order."""
        ...


class BudgetUnitOfWork(UnitOfWorkPort, Protocol):
    # Read-only properties, so that a unit may hold any implementation of each protocol.
    @property
    def pots(self) -> Pots: ...

    @property
    def teams(self) -> Teams: ...

    @property
    def early_completions(self) -> EarlyCompletions: ...

    @property
    def expenses(self) -> Expenses: ...

    @property
    def cost_plans(self) -> CostPlans: ...

    @property
    def bank_accounts(self) -> BankAccounts: ...

    @property
    def payment_requests(self) -> PaymentRequests: ...

    @property
    def payment_runs(self) -> PaymentRuns: ...

    @property
    def ledger(self) -> Ledger: ...
