"""Loads and stores pots, team budgets and expenses within one session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.keyset import Page, keyset_page
from services.budget.adapters.tables import (
    early_completions,
    expenses,
    ledger_entries,
    ledger_transfers,
    pots,
    team_budgets,
)
from services.budget.domain.budgets import AWAITING_CALL, Pot, TeamBudget
from services.budget.domain.expenses import Expense, receipt_key
from services.budget.domain.tranches import TrancheRule


class BudgetRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # pots

    async def get_pot(self, call_id: str, *, for_update: bool = False) -> Pot | None:
        query = select(pots).where(pots.c.call_id == call_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else _pot(row)

    async def add_pot(self, pot: Pot, opened_at: datetime) -> None:
        await self.session.execute(insert(pots).values(**_pot_values(pot), opened_at=opened_at))

    async def save_pot(self, pot: Pot) -> None:
        values = _pot_values(pot)
        del values["call_id"]
        await self.session.execute(
            update(pots).where(pots.c.call_id == pot.call_id).values(**values)
        )

    async def list_pots(self) -> list[Pot]:
        return [_pot(r) for r in (await self.session.execute(select(pots))).all()]

    # team budgets

    async def get_team(self, team_id: str, *, for_update: bool = False) -> TeamBudget | None:
        query = select(team_budgets).where(team_budgets.c.team_id == team_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else _team(row)

    async def add_team(self, team: TeamBudget) -> None:
        await self.session.execute(insert(team_budgets).values(**_team_values(team)))

    async def save_team(self, team: TeamBudget) -> None:
        values = _team_values(team)
        del values["team_id"]
        await self.session.execute(
            update(team_budgets).where(team_budgets.c.team_id == team.team_id).values(**values)
        )

    async def teams_awaiting_call(self, call_id: str) -> list[TeamBudget]:
        rows = await self.session.execute(
            select(team_budgets)
            .where(and_(team_budgets.c.call_id == call_id, team_budgets.c.status == AWAITING_CALL))
            .order_by(team_budgets.c.accepted_at, team_budgets.c.team_id)
            .with_for_update()
        )
        return [_team(r) for r in rows.all()]

    async def teams_of_call(self, call_id: str) -> list[TeamBudget]:
        rows = await self.session.execute(
            select(team_budgets).where(team_budgets.c.call_id == call_id)
        )
        return [_team(r) for r in rows.all()]

    async def note_early_completion(self, team_id: str, key: str) -> None:
        existing = await self.session.execute(
            select(early_completions).where(
                and_(
                    early_completions.c.team_id == team_id, early_completions.c.milestone_key == key
                )
            )
        )
        if existing.first() is None:
            await self.session.execute(
                insert(early_completions).values(team_id=team_id, milestone_key=key)
            )

    async def take_early_completions(self, team_id: str) -> frozenset[str]:
        rows = await self.session.execute(
            select(early_completions.c.milestone_key).where(early_completions.c.team_id == team_id)
        )
        keys = frozenset(rows.scalars())
        if keys:
            await self.session.execute(
                delete(early_completions).where(early_completions.c.team_id == team_id)
            )
        return keys

    # expenses

    async def add_expense(self, expense: Expense) -> None:
        await self.session.execute(insert(expenses).values(**_expense_values(expense)))

    async def save_expense(self, expense: Expense) -> None:
        values = _expense_values(expense)
        del values["id"]
        await self.session.execute(
            update(expenses).where(expenses.c.id == expense.id).values(**values)
        )

    async def get_expense(self, expense_id: str, *, for_update: bool = False) -> Expense | None:
        query = select(expenses).where(expenses.c.id == expense_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else _expense(row)

    async def receipt_taken(self, team_id: str, receipt_number: str) -> bool:
        """Whether the team has this receipt already, in whatever spelling (its key)."""
        row = await self.session.execute(
            select(expenses.c.id).where(
                and_(
                    expenses.c.team_id == team_id,
                    expenses.c.receipt_key == receipt_key(receipt_number),
                )
            )
        )
        return row.first() is not None

    async def page_of_expenses(self, team_id: str, page: Page[datetime]) -> list[Expense]:
        """A page of the team's expenses in submission order, after (submitted_at, id)."""
        query = select(expenses).where(expenses.c.team_id == team_id)
        query = keyset_page(query, expenses.c.submitted_at, expenses.c.id, page)
        return [_expense(r) for r in (await self.session.execute(query)).all()]

    async def expenses_of_team(self, team_id: str) -> list[Expense]:
        """The receipt list order: by position, then receipt date and number."""
        rows = await self.session.execute(
            select(expenses)
            .where(expenses.c.team_id == team_id)
            .order_by(expenses.c.position, expenses.c.receipt_date, expenses.c.receipt_number)
        )
        return [_expense(r) for r in rows.all()]

    # ledger reads

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

    async def expenses_by_ids(self, ids: Sequence[str]) -> dict[str, Expense]:
        if not ids:
            return {}
        rows = await self.session.execute(select(expenses).where(expenses.c.id.in_(ids)))
        return {r.id: _expense(r) for r in rows.all()}


def _pot(r: Row[Any]) -> Pot:
    return Pot(
        call_id=r.call_id,
        title=r.title,
        total_cents=r.total_cents,
        max_team_cents=r.max_team_cents,
        plan=tuple(TrancheRule(p["trigger"], p["percent"]) for p in r.plan),
        available_cents=r.available_cents,
        allocated_cents=r.allocated_cents,
    )


def _pot_values(pot: Pot) -> dict[str, Any]:
    return {
        "call_id": pot.call_id,
        "title": pot.title,
        "total_cents": pot.total_cents,
        "max_team_cents": pot.max_team_cents,
        "plan": [{"trigger": p.trigger, "percent": p.percent} for p in pot.plan],
        "available_cents": pot.available_cents,
        "allocated_cents": pot.allocated_cents,
    }


def _team(r: Row[Any]) -> TeamBudget:
    return TeamBudget(
        team_id=r.team_id,
        call_id=r.call_id,
        agent_id=r.agent_id,
        title=r.title,
        input_vat_deductible=r.input_vat_deductible,
        requested_cents=r.requested_cents,
        accepted_at=r.accepted_at,
        status=r.status,
        allocated_cents=r.allocated_cents,
        released_cents=r.released_cents,
        reserved_cents=r.reserved_cents,
        available_cents=r.available_cents,
        pending_cents=r.pending_cents,
        approved_cents=r.approved_cents,
        returned_cents=r.returned_cents,
        released_triggers=frozenset(r.released_triggers),
        completed_milestones=frozenset(r.completed_milestones),
        thresholds_crossed=frozenset(r.thresholds_crossed),
        refusal_code=r.refusal_code,
        refusal_reason=r.refusal_reason,
        closed_at=r.closed_at,
    )


def _team_values(team: TeamBudget) -> dict[str, Any]:
    return {
        "team_id": team.team_id,
        "call_id": team.call_id,
        "agent_id": team.agent_id,
        "title": team.title,
        "input_vat_deductible": team.input_vat_deductible,
        "requested_cents": team.requested_cents,
        "accepted_at": team.accepted_at,
        "status": team.status,
        "allocated_cents": team.allocated_cents,
        "released_cents": team.released_cents,
        "reserved_cents": team.reserved_cents,
        "available_cents": team.available_cents,
        "pending_cents": team.pending_cents,
        "approved_cents": team.approved_cents,
        "returned_cents": team.returned_cents,
        "released_triggers": sorted(team.released_triggers),
        "completed_milestones": sorted(team.completed_milestones),
        "thresholds_crossed": sorted(team.thresholds_crossed),
        "refusal_code": team.refusal_code,
        "refusal_reason": team.refusal_reason,
        "closed_at": team.closed_at,
    }


def _expense(r: Row[Any]) -> Expense:
    return Expense(
        id=r.id,
        team_id=r.team_id,
        call_id=r.call_id,
        position=r.position,
        net_cents=r.net_cents,
        vat_cents=r.vat_cents,
        gross_cents=r.gross_cents,
        fundable_cents=r.fundable_cents,
        receipt_number=r.receipt_number,
        receipt_date=r.receipt_date,
        payee=r.payee,
        purpose=r.purpose,
        status=r.status,
        submitted_by=r.submitted_by,
        submitted_at=r.submitted_at,
        decided_by=r.decided_by,
        decided_at=r.decided_at,
        rejection_reason=r.rejection_reason,
        reversed_by=r.reversed_by,
        reversed_at=r.reversed_at,
        reversal_reason=r.reversal_reason,
    )


def _expense_values(expense: Expense) -> dict[str, Any]:
    return {
        "id": expense.id,
        "team_id": expense.team_id,
        "call_id": expense.call_id,
        "position": expense.position,
        "net_cents": expense.net_cents,
        "vat_cents": expense.vat_cents,
        "gross_cents": expense.gross_cents,
        "fundable_cents": expense.fundable_cents,
        "receipt_number": expense.receipt_number,
        "receipt_key": receipt_key(expense.receipt_number),
        "receipt_date": expense.receipt_date,
        "payee": expense.payee,
        "purpose": expense.purpose,
        "status": expense.status,
        "submitted_by": expense.submitted_by,
        "submitted_at": expense.submitted_at,
        "decided_by": expense.decided_by,
        "decided_at": expense.decided_at,
        "rejection_reason": expense.rejection_reason,
        "reversed_by": expense.reversed_by,
        "reversed_at": expense.reversed_at,
        "reversal_reason": expense.reversal_reason,
    }
