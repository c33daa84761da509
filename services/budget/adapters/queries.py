"""What the API and the gauges read: pots, team budgets, expenses and the ledger, as stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.keyset import Page, keyset_page
from services.budget.adapters.rows import (
    bank_account_from_row,
    cost_plan_from_row,
    expense_from_row,
    payment_request_from_row,
    payment_run_from_row,
    pot_from_row,
    team_from_row,
)
from services.budget.adapters.tables import (
    bank_accounts,
    cost_plans,
    expenses,
    ledger_entries,
    ledger_transfers,
    payment_requests,
    payment_runs,
    pots,
    team_budgets,
)
from services.budget.domain.budgets import Pot, TeamBudget
from services.budget.domain.cost_plans import CostPlan
from services.budget.domain.expenses import Expense
from services.budget.domain.final_statement import Booking
from services.budget.domain.payouts import BankAccount, PaymentRequest, PaymentRun


class BudgetQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_pot(self, call_id: str) -> Pot | None:
        row = (await self.session.execute(select(pots).where(pots.c.call_id == call_id))).first()
        return None if row is None else pot_from_row(row)

    async def list_pots(self) -> list[Pot]:
        return [pot_from_row(r) for r in (await self.session.execute(select(pots))).all()]

    async def get_team(self, team_id: str) -> TeamBudget | None:
        query = select(team_budgets).where(team_budgets.c.team_id == team_id)
        row = (await self.session.execute(query)).first()
        return None if row is None else team_from_row(row)

    async def teams_of_call(self, call_id: str) -> list[TeamBudget]:
        rows = await self.session.execute(
            select(team_budgets).where(team_budgets.c.call_id == call_id)
        )
        return [team_from_row(r) for r in rows.all()]

    async def get_expense(self, expense_id: str) -> Expense | None:
        row = (
            await self.session.execute(select(expenses).where(expenses.c.id == expense_id))
        ).first()
        return None if row is None else expense_from_row(row)

    async def page_of_expenses(self, team_id: str, page: Page[datetime]) -> list[Expense]:
        """A page of the team's expenses in submission order, after (submitted_at, id)."""
        query = select(expenses).where(expenses.c.team_id == team_id)
        query = keyset_page(query, expenses.c.submitted_at, expenses.c.id, page)
        return [expense_from_row(r) for r in (await self.session.execute(query)).all()]

    async def expenses_of_team(self, team_id: str) -> list[Expense]:
        """The receipt list order: by position, then receipt date and number."""
        rows = await self.session.execute(
            select(expenses)
            .where(expenses.c.team_id == team_id)
            .order_by(expenses.c.position, expenses.c.receipt_date, expenses.c.receipt_number)
        )
        return [expense_from_row(r) for r in rows.all()]

    async def cost_plans_of_team(self, team_id: str) -> list[CostPlan]:
        rows = await self.session.execute(
            select(cost_plans).where(cost_plans.c.team_id == team_id).order_by(cost_plans.c.version)
        )
        return [cost_plan_from_row(r) for r in rows.all()]

    async def bank_account(self, team_id: str) -> BankAccount | None:
        query = select(bank_accounts).where(bank_accounts.c.team_id == team_id)
        row = (await self.session.execute(query)).first()
        return None if row is None else bank_account_from_row(row)

    async def payment_request(self, request_id: str) -> PaymentRequest | None:
        query = select(payment_requests).where(payment_requests.c.id == request_id)
        row = (await self.session.execute(query)).first()
        return None if row is None else payment_request_from_row(row)

    async def page_of_payment_requests(
        self, *, team_id: str | None, status: str | None, page: Page[datetime]
    ) -> list[PaymentRequest]:
        """Payment requests in the order they were made, after (requested_at, id)."""
        p = payment_requests
        query = select(p)
        if team_id is not None:
            query = query.where(p.c.team_id == team_id)
        if status is not None:
            query = query.where(p.c.status == status)
        query = keyset_page(query, p.c.requested_at, p.c.id, page)
        return [payment_request_from_row(r) for r in (await self.session.execute(query)).all()]

    async def payment_requests_of_team(self, team_id: str) -> list[PaymentRequest]:
        p = payment_requests
        rows = await self.session.execute(
            select(p).where(p.c.team_id == team_id).order_by(p.c.requested_at, p.c.id)
        )
        return [payment_request_from_row(r) for r in rows.all()]

    async def payment_run(self, run_id: str) -> tuple[PaymentRun, list[PaymentRequest]] | None:
        row = (
            await self.session.execute(select(payment_runs).where(payment_runs.c.id == run_id))
        ).first()
        if row is None:
            return None
        run = payment_run_from_row(row)
        rows = await self.session.execute(
            select(payment_requests).where(payment_requests.c.run_id == run_id)
        )
        by_id = {r.id: payment_request_from_row(r) for r in rows.all()}
        return run, [by_id[i] for i in run.request_ids if i in by_id]

    async def expenses_by_ids(self, ids: Sequence[str]) -> dict[str, Expense]:
        if not ids:
            return {}
        rows = await self.session.execute(select(expenses).where(expenses.c.id.in_(ids)))
        return {r.id: expense_from_row(r) for r in rows.all()}

    async def transfers(
        self,
        *,
        team_id: str | None,
        call_id: str | None,
        since: datetime | None,
        after_position: int | None,
        limit: int,
    ) -> list[Row[Any]]:
        t = ledger_transfers
        query = select(t)
        if team_id:
            query = query.where(t.c.team_id == team_id)
        if call_id:
            query = query.where(t.c.call_id == call_id)
        if since:
            query = query.where(t.c.booked_at >= since)
        if after_position is not None:
            query = query.where(t.c.position > after_position)
        return list((await self.session.execute(query.order_by(t.c.position).limit(limit))).all())

    async def bookings_of_team(self, team_id: str) -> list[Booking]:
        """The team's ledger transfers in booking order, each with its expense's budget line."""
        t, e = ledger_transfers, expenses
        rows = await self.session.execute(
            select(t.c.transfer_id, t.c.kind, t.c.amount_cents, t.c.booked_at, e.c.position)
            .outerjoin(e, e.c.id == t.c.expense_id)
            .where(t.c.team_id == team_id)
            .order_by(t.c.position)
        )
        return [Booking(*row) for row in rows.all()]

    async def entries_of_call(self, call_id: str) -> list[Row[Any]]:
        t, e = ledger_transfers, ledger_entries
        query = (
            select(
                t.c.position,
                t.c.transfer_id,
                t.c.booked_at,
                t.c.kind,
                t.c.team_id,
                t.c.expense_id,
                e.c.account,
                e.c.amount_cents,
            )
            .join(e, e.c.transfer_position == t.c.position)
            .where(t.c.call_id == call_id)
            .order_by(t.c.position, e.c.id)
        )
        return list((await self.session.execute(query)).all())
