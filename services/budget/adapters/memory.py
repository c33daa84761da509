"""Budget's repositories in memory: the fakes its handler tests run on, held to the same
contract as the database ones (tests/contract/test_budget_repositories.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from cimis_chassis.memory import MemoryRepository
from services.budget.domain.budgets import Pot, TeamBudget
from services.budget.domain.cost_plans import CostPlan
from services.budget.domain.expenses import (
    ACTIVE,
    APPROVED,
    Expense,
    committed_by_position,
    payee_key,
    receipt_key,
)
from services.budget.domain.ledger import Books, Transfer
from services.budget.domain.payouts import BankAccount, PaymentRequest, PaymentRun


class MemoryPots(MemoryRepository):
    def __init__(self) -> None:
        self.pots: dict[str, Pot] = {}
        self.opened_at: dict[str, datetime] = {}

    async def lock(self, call_ids: Iterable[str]) -> None:
        """One unit at a time runs in memory."""

    async def load(self, call_ids: Iterable[str], *, lock: bool = False) -> None:
        """Everything is loaded already."""

    async def get(self, call_id: str, *, lock: bool = False) -> Pot | None:
        return self.pots.get(call_id)

    def add(self, pot: Pot, *, opened_at: datetime) -> None:
        if pot.call_id in self.pots:
            raise ValueError(f"pots {pot.call_id} exists already")
        self.pots[pot.call_id] = pot
        self.opened_at[pot.call_id] = opened_at

    def put(self, pot: Pot) -> None:
        if pot.call_id not in self.pots:
            raise KeyError(f"pots {pot.call_id} was not read in this unit of work")
        self.pots[pot.call_id] = pot


class MemoryTeams(MemoryRepository):
    def __init__(self) -> None:
        self.teams: dict[str, TeamBudget] = {}

    async def load(self, team_ids: Iterable[str], *, lock: bool = False) -> None:
        """Everything is loaded already."""

    async def get(self, team_id: str, *, lock: bool = False) -> TeamBudget | None:
        return self.teams.get(team_id)

    def add(self, team: TeamBudget) -> None:
        if team.team_id in self.teams:
            raise ValueError(f"team_budgets {team.team_id} exists already")
        self.teams[team.team_id] = team

    def put(self, team: TeamBudget) -> None:
        if team.team_id not in self.teams:
            raise KeyError(f"team_budgets {team.team_id} was not read in this unit of work")
        self.teams[team.team_id] = team

    async def in_line(self, call_id: str, status: str) -> list[TeamBudget]:
        waiting = [t for t in self.teams.values() if t.call_id == call_id and t.status == status]
        return sorted(waiting, key=lambda t: (t.accepted_at, t.team_id))


class MemoryEarlyCompletions(MemoryRepository):
    def __init__(self) -> None:
        self.keys: dict[str, set[str]] = {}

    async def load(self, team_ids: Iterable[str]) -> None:
        """Everything is loaded already."""

    async def note(self, team_id: str, milestone_key: str) -> None:
        self.keys.setdefault(team_id, set()).add(milestone_key)

    async def take(self, team_id: str) -> frozenset[str]:
        return frozenset(self.keys.pop(team_id, set()))


class DuplicateReceipt(Exception):
    """The fake's unique standing (team, receipt, payee): the database raises an
    IntegrityError here."""


class MemoryExpenses(MemoryRepository):
    def __init__(self) -> None:
        self.expenses: dict[str, Expense] = {}

    async def get(self, expense_id: str, *, lock: bool = False) -> Expense | None:
        return self.expenses.get(expense_id)

    def add(self, expense: Expense) -> None:
        if expense.id in self.expenses:
            raise ValueError(f"expenses {expense.id} exists already")
        same = self._standing(expense.call_id, expense.receipt_number, expense.payee)
        if expense.status in ACTIVE and any(e.team_id == expense.team_id for e in same):
            raise DuplicateReceipt(expense.team_id, expense.receipt_number)
        self.expenses[expense.id] = expense

    def put(self, expense: Expense) -> None:
        if expense.id not in self.expenses:
            raise KeyError(f"expenses {expense.id} was not read in this unit of work")
        self.expenses[expense.id] = expense

    async def standing_with_receipt(
        self, call_id: str, receipt_number: str, payee: str
    ) -> list[Expense]:
        return self._standing(call_id, receipt_number, payee)

    async def committed_by_position(self, team_id: str) -> dict[str, int]:
        return committed_by_position(e for e in self.expenses.values() if e.team_id == team_id)

    async def standing_receipt_dates(self, team_id: str) -> list[date]:
        return [
            e.receipt_date
            for e in self.expenses.values()
            if e.team_id == team_id and e.status in ACTIVE
        ]

    async def approved_unrequested(self, team_id: str) -> list[Expense]:
        return sorted(
            (
                e
                for e in self.expenses.values()
                if e.team_id == team_id and e.status == APPROVED and e.payment_request_id is None
            ),
            key=lambda e: (e.submitted_at, e.id),
        )

    async def load(self, expense_ids: Iterable[str], *, lock: bool = False) -> None:
        """Everything is loaded already."""

    def _standing(self, call_id: str, receipt_number: str, payee: str) -> list[Expense]:
        wanted = (receipt_key(receipt_number), payee_key(payee))
        return [
            e
            for e in self.expenses.values()
            if e.call_id == call_id
            and e.status in ACTIVE
            and (receipt_key(e.receipt_number), payee_key(e.payee)) == wanted
        ]


class MemoryCostPlans(MemoryRepository):
    def __init__(self) -> None:
        self.plans: dict[str, CostPlan] = {}

    async def of_team(self, team_id: str, *, lock: bool = False) -> list[CostPlan]:
        return sorted(
            (p for p in self.plans.values() if p.team_id == team_id), key=lambda p: p.version
        )

    def add(self, plan: CostPlan) -> None:
        if plan.id in self.plans:
            raise ValueError(f"cost_plans {plan.id} exists already")
        self.plans[plan.id] = plan

    def put(self, plan: CostPlan) -> None:
        if plan.id not in self.plans:
            raise KeyError(f"cost_plans {plan.id} was not read in this unit of work")
        self.plans[plan.id] = plan


class MemoryBankAccounts(MemoryRepository):
    def __init__(self) -> None:
        self.accounts: dict[str, BankAccount] = {}

    async def get(self, team_id: str) -> BankAccount | None:
        return self.accounts.get(team_id)

    async def of_teams(self, team_ids: Iterable[str]) -> dict[str, BankAccount]:
        return {t: self.accounts[t] for t in team_ids if t in self.accounts}

    async def put(self, account: BankAccount) -> None:
        self.accounts[account.team_id] = account


class MemoryPaymentRequests(MemoryRepository):
    def __init__(self) -> None:
        self.requests: dict[str, PaymentRequest] = {}

    async def get(self, request_id: str, *, lock: bool = False) -> PaymentRequest | None:
        return self.requests.get(request_id)

    async def with_status(self, status: str) -> list[PaymentRequest]:
        return sorted(
            (p for p in self.requests.values() if p.status == status),
            key=lambda p: (p.requested_at, p.id),
        )

    def add(self, payment: PaymentRequest) -> None:
        if payment.id in self.requests:
            raise ValueError(f"payment_requests {payment.id} exists already")
        self.requests[payment.id] = payment

    def put(self, payment: PaymentRequest) -> None:
        if payment.id not in self.requests:
            raise KeyError(f"payment_requests {payment.id} was not read in this unit of work")
        self.requests[payment.id] = payment


class MemoryPaymentRuns(MemoryRepository):
    def __init__(self) -> None:
        self.runs: dict[str, PaymentRun] = {}

    async def get(self, run_id: str) -> PaymentRun | None:
        return self.runs.get(run_id)

    def add(self, run: PaymentRun) -> None:
        if run.id in self.runs:
            raise ValueError(f"payment_runs {run.id} exists already")
        self.runs[run.id] = run


@dataclass(frozen=True)
class BookedTransfer:
    transfer: Transfer
    at: datetime
    cause: str


class MemoryLedger(MemoryRepository):
    def __init__(self) -> None:
        self.books = Books()
        self.booked: list[BookedTransfer] = []

    def book(self, transfers: Sequence[Transfer], *, at: datetime, cause: str) -> None:
        for transfer in transfers:
            if self.books.post(transfer):
                self.booked.append(BookedTransfer(transfer, at, cause[:200]))

    async def balance(self, account: str) -> int:
        return self.books.balance(account)

    async def transfer_ids(self, call_id: str) -> list[str]:
        return [b.transfer.id for b in self.booked if b.transfer.call_id == call_id]
