"""Budget's repositories on the database: rows read once per unit, written once at its flush."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.bulk import insert_rows
from cimis_chassis.key_locks import KeyLocks
from cimis_chassis.row_store import CHUNK, RowStore
from services.budget.adapters.rows import (
    bank_account_from_row,
    bank_account_row,
    cost_plan_from_row,
    cost_plan_row,
    expense_from_row,
    expense_row,
    payment_request_from_row,
    payment_request_row,
    payment_run_from_row,
    payment_run_row,
    pot_from_row,
    pot_row,
    team_from_row,
    team_row,
)
from services.budget.adapters.tables import (
    bank_accounts,
    cost_plans,
    early_completions,
    expenses,
    payment_requests,
    payment_runs,
    pots,
    team_budgets,
)
from services.budget.domain.budgets import Pot, TeamBudget
from services.budget.domain.cost_plans import CostPlan
from services.budget.domain.expenses import ACTIVE, APPROVED, Expense, payee_key, receipt_key
from services.budget.domain.payouts import BankAccount, PaymentRequest, PaymentRun


class SqlPots:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = RowStore(session, pots, key="call_id", to_row=pot_row, from_row=pot_from_row)
        self._locks = KeyLocks(session, "budget.call")

    async def lock(self, call_ids: Iterable[str]) -> None:
        await self._locks.lock(call_ids)

    async def load(self, call_ids: Iterable[str], *, lock: bool = False) -> None:
        await self._rows.load(call_ids, lock=lock)

    async def get(self, call_id: str, *, lock: bool = False) -> Pot | None:
        return await self._rows.get(call_id, lock=lock)

    def add(self, pot: Pot, *, opened_at: datetime) -> None:
        self._rows.add(pot.call_id, pot, opened_at=opened_at)

    def put(self, pot: Pot) -> None:
        self._rows.put(pot.call_id, pot)

    async def flush(self) -> None:
        await self._rows.flush()


class SqlTeams:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = RowStore(
            session, team_budgets, key="team_id", to_row=team_row, from_row=team_from_row
        )

    async def load(self, team_ids: Iterable[str], *, lock: bool = False) -> None:
        await self._rows.load(team_ids, lock=lock)

    async def get(self, team_id: str, *, lock: bool = False) -> TeamBudget | None:
        return await self._rows.get(team_id, lock=lock)

    def add(self, team: TeamBudget) -> None:
        self._rows.add(team.team_id, team)

    def put(self, team: TeamBudget) -> None:
        self._rows.put(team.team_id, team)

    async def in_line(self, call_id: str, status: str) -> list[TeamBudget]:
        t = team_budgets
        return await self._rows.select_where(
            select(t)
            .where(and_(t.c.call_id == call_id, t.c.status == status))
            .order_by(t.c.accepted_at, t.c.team_id)
            .with_for_update()
        )

    async def flush(self) -> None:
        await self._rows.flush()


class SqlEarlyCompletions:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._keys: dict[str, set[str]] = {}
        self._noted: set[tuple[str, str]] = set()
        self._taken: set[str] = set()

    async def load(self, team_ids: Iterable[str]) -> None:
        wanted = [t for t in dict.fromkeys(team_ids) if t not in self._keys]
        e = early_completions
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            for team_id in chunk:
                self._keys[team_id] = set()
            rows = await self._session.execute(
                select(e.c.team_id, e.c.milestone_key).where(e.c.team_id.in_(chunk))
            )
            for team_id, key in rows.all():
                self._keys[team_id].add(key)

    async def note(self, team_id: str, milestone_key: str) -> None:
        await self.load([team_id])
        if milestone_key not in self._keys[team_id]:
            self._keys[team_id].add(milestone_key)
            self._noted.add((team_id, milestone_key))

    async def take(self, team_id: str) -> frozenset[str]:
        await self.load([team_id])
        keys = frozenset(self._keys[team_id])
        if keys:
            self._keys[team_id] = set()
            self._taken.add(team_id)
            self._noted = {(t, k) for t, k in self._noted if t != team_id}
        return keys

    async def flush(self) -> None:
        e = early_completions
        taken, self._taken = sorted(self._taken), set()
        for start in range(0, len(taken), CHUNK):
            await self._session.execute(
                delete(e).where(e.c.team_id.in_(taken[start : start + CHUNK]))
            )
        noted, self._noted = sorted(self._noted), set()
        if noted:
            # Another instance may have noted the same completion meanwhile: one row is enough.
            await insert_rows(
                self._session,
                e,
                [{"team_id": t, "milestone_key": k} for t, k in noted],
                skip_conflicts_on=(),
            )


class SqlExpenses:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._rows = RowStore(
            session, expenses, key="id", to_row=expense_row, from_row=expense_from_row
        )

    async def get(self, expense_id: str, *, lock: bool = False) -> Expense | None:
        return await self._rows.get(expense_id, lock=lock)

    def add(self, expense: Expense) -> None:
        self._rows.add(expense.id, expense)

    def put(self, expense: Expense) -> None:
        self._rows.put(expense.id, expense)

    async def standing_with_receipt(
        self, call_id: str, receipt_number: str, payee: str
    ) -> list[Expense]:
        return await self._rows.select_where(
            select(expenses).where(
                and_(
                    expenses.c.call_id == call_id,
                    expenses.c.receipt_key == receipt_key(receipt_number),
                    expenses.c.payee_key == payee_key(payee),
                    expenses.c.status.in_(ACTIVE),
                )
            )
        )

    async def flush(self) -> None:
        await self._rows.flush()

    async def standing_receipt_dates(self, team_id: str) -> list[date]:
        await self._rows.flush()
        e = expenses
        rows = await self._session.execute(
            select(e.c.receipt_date).where(and_(e.c.team_id == team_id, e.c.status.in_(ACTIVE)))
        )
        return list(rows.scalars())

    async def approved_unrequested(self, team_id: str) -> list[Expense]:
        e = expenses
        return await self._rows.select_where(
            select(e)
            .where(
                and_(
                    e.c.team_id == team_id,
                    e.c.status == APPROVED,
                    e.c.payment_request_id.is_(None),
                )
            )
            .order_by(e.c.submitted_at, e.c.id)
            .with_for_update()
        )

    async def load(self, expense_ids: Iterable[str], *, lock: bool = False) -> None:
        await self._rows.load(expense_ids, lock=lock)

    async def committed_by_position(self, team_id: str) -> dict[str, int]:
        await self._rows.flush()
        e = expenses
        rows = await self._session.execute(
            select(e.c.position, func.sum(e.c.fundable_cents))
            .where(and_(e.c.team_id == team_id, e.c.status.in_(ACTIVE)))
            .group_by(e.c.position)
        )
        return {position: int(total) for position, total in rows.all()}


class SqlCostPlans:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = RowStore(
            session, cost_plans, key="id", to_row=cost_plan_row, from_row=cost_plan_from_row
        )

    async def of_team(self, team_id: str, *, lock: bool = False) -> list[CostPlan]:
        query = (
            select(cost_plans).where(cost_plans.c.team_id == team_id).order_by(cost_plans.c.version)
        )
        return await self._rows.select_where(query.with_for_update() if lock else query)

    def add(self, plan: CostPlan) -> None:
        self._rows.add(plan.id, plan)

    def put(self, plan: CostPlan) -> None:
        self._rows.put(plan.id, plan)

    async def flush(self) -> None:
        await self._rows.flush()


class SqlBankAccounts:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = RowStore(
            session,
            bank_accounts,
            key="team_id",
            to_row=bank_account_row,
            from_row=bank_account_from_row,
        )

    async def get(self, team_id: str) -> BankAccount | None:
        return await self._rows.get(team_id)

    async def of_teams(self, team_ids: Iterable[str]) -> dict[str, BankAccount]:
        wanted = sorted(set(team_ids))
        await self._rows.load(wanted)
        found = {t: await self._rows.get(t) for t in wanted}
        return {t: a for t, a in found.items() if a is not None}

    async def put(self, account: BankAccount) -> None:
        if await self._rows.get(account.team_id, lock=True) is None:
            self._rows.add(account.team_id, account)
        else:
            self._rows.put(account.team_id, account)

    async def flush(self) -> None:
        await self._rows.flush()


class SqlPaymentRequests:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = RowStore(
            session,
            payment_requests,
            key="id",
            to_row=payment_request_row,
            from_row=payment_request_from_row,
        )

    async def get(self, request_id: str, *, lock: bool = False) -> PaymentRequest | None:
        return await self._rows.get(request_id, lock=lock)

    async def with_status(self, status: str) -> list[PaymentRequest]:
        p = payment_requests
        return await self._rows.select_where(
            select(p)
            .where(p.c.status == status)
            .order_by(p.c.requested_at, p.c.id)
            .with_for_update()
        )

    def add(self, payment: PaymentRequest) -> None:
        self._rows.add(payment.id, payment)

    def put(self, payment: PaymentRequest) -> None:
        self._rows.put(payment.id, payment)

    async def flush(self) -> None:
        await self._rows.flush()


class SqlPaymentRuns:
    def __init__(self, session: AsyncSession) -> None:
        self._rows = RowStore(
            session, payment_runs, key="id", to_row=payment_run_row, from_row=payment_run_from_row
        )

    async def get(self, run_id: str) -> PaymentRun | None:
        return await self._rows.get(run_id)

    def add(self, run: PaymentRun) -> None:
        self._rows.add(run.id, run)

    async def flush(self) -> None:
        await self._rows.flush()
