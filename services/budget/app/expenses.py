"""Handlers of the expense commands: submit, approve (four eyes) and reject, each in one unit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial

from cimis_chassis.audit import snapshot
from cimis_chassis.auth import Principal
from cimis_chassis.text import clip
from cimis_contracts.budget import (
    ExpenseApprovedV1,
    ExpenseRejectedV1,
    ExpenseReversedV1,
    ExpenseSubmittedV1,
    ThresholdCrossedV1,
)
from services.budget.app.allocation import allocate_waiting
from services.budget.app.ports import BudgetUnitOfWork
from services.budget.domain import budgets, cost_plans
from services.budget.domain import expenses as rules
from services.budget.domain.budgets import Pot, TeamBudget
from services.budget.domain.calendar import BERLIN
from services.budget.domain.errors import BudgetStateConflict, NotFound
from services.budget.domain.expenses import Expense
from services.budget.domain.ledger import Transfer

# A rule that returns an expense's money: (expense, team, pot) -> new states and the transfer.
GiveBack = Callable[
    [Expense, TeamBudget, Pot | None], tuple[Expense, TeamBudget, Pot | None, Transfer | None]
]


@dataclass(frozen=True)
class SubmitExpense:
    team_id: str
    position: str
    net_cents: int
    vat_cents: int
    receipt_number: str
    receipt_date: date
    payee: str
    purpose: str


async def _team(uow: BudgetUnitOfWork, team_id: str) -> TeamBudget:
    team = await uow.teams.get(team_id, lock=True)
    if team is None:
        raise NotFound("team budget", team_id)
    return team


async def submit_expense(uow: BudgetUnitOfWork, cmd: SubmitExpense, by: Principal) -> Expense:
    team = await _team(uow, cmd.team_id)
    rules.check_receipt_number(cmd.receipt_number)
    standing = await uow.expenses.standing_with_receipt(team.call_id, cmd.receipt_number, cmd.payee)
    if any(e.team_id == team.team_id for e in standing):
        raise BudgetStateConflict(
            "duplicate-receipt",
            f"Receipt {clip(cmd.receipt_number.strip())} from {clip(cmd.payee.strip())} is "
            "already submitted or approved for this team (numbers and payees are compared "
            "ignoring case, dashes and invisible characters). A rejected or reversed receipt "
            "may be entered again.",
        )
    now = uow.clock.now()
    pot = await uow.pots.get(team.call_id)
    period = budgets.funding_period(team, pot)
    expense, updated, moved = rules.submit(
        team,
        expense_id=str(uuid.uuid4()),
        position=cmd.position,
        net_cents=cmd.net_cents,
        vat_cents=cmd.vat_cents,
        receipt_number=cmd.receipt_number,
        receipt_date=cmd.receipt_date,
        payee=cmd.payee,
        purpose=cmd.purpose,
        submitted_by=by.name,
        now=now,
        today=now.astimezone(BERLIN).date(),
        period=period,
        possible_duplicates=tuple(sorted(e.id for e in standing)),
    )
    plan = cost_plans.in_force(await uow.cost_plans.of_team(team.team_id))
    if plan is not None:
        committed = await uow.expenses.committed_by_position(team.team_id)
        cost_plans.check_expense(
            plan,
            position=expense.position,
            fundable_cents=expense.fundable_cents,
            committed_cents=committed.get(expense.position, 0),
            tolerance_percent=budgets.cost_plan_tolerance(pot),
        )
    uow.expenses.add(expense)
    uow.teams.put(updated)
    uow.ledger.book([moved], at=now, cause=uow.cause.actor)
    await uow.audit(
        "expense.submitted", "expense", expense.id, before=None, after=snapshot(expense)
    )
    await uow.emit(
        ExpenseSubmittedV1(
            team_id=team.team_id,
            call_id=team.call_id,
            expense_id=expense.id,
            position=expense.position,
            receipt_number=expense.receipt_number,
            net_cents=expense.net_cents,
            vat_cents=expense.vat_cents,
            gross_cents=expense.gross_cents,
            fundable_cents=expense.fundable_cents,
            submitted_by=by.name,
            submitted_at=now,
        )
    )
    return expense


async def _expense_and_team(uow: BudgetUnitOfWork, expense_id: str) -> tuple[Expense, TeamBudget]:
    expense = await uow.expenses.get(expense_id, lock=True)
    if expense is None:
        raise NotFound("expense", expense_id)
    return expense, await _team(uow, expense.team_id)


async def approve_expense(uow: BudgetUnitOfWork, expense_id: str, by: Principal) -> Expense:
    expense, team = await _expense_and_team(uow, expense_id)
    now = uow.clock.now()
    approved, updated, moved, crossed = rules.approve(expense, team, approver=by.name, now=now)
    if moved is None:
        return approved
    uow.expenses.put(approved)
    uow.teams.put(updated)
    uow.ledger.book([moved], at=now, cause=uow.cause.actor)
    await uow.audit(
        "expense.approved",
        "expense",
        expense.id,
        before=snapshot(expense),
        after=snapshot(approved),
    )
    await uow.emit(
        ExpenseApprovedV1(
            team_id=team.team_id,
            call_id=team.call_id,
            expense_id=expense.id,
            position=expense.position,
            fundable_cents=expense.fundable_cents,
            approved_total_cents=updated.approved_cents,
            approved_by=by.name,
            approved_at=now,
        )
    )
    for threshold in crossed:
        await uow.emit(
            ThresholdCrossedV1(
                team_id=team.team_id,
                call_id=team.call_id,
                threshold_percent=threshold,
                approved_cents=updated.approved_cents,
                allocated_cents=updated.allocated_cents,
                crossed_at=now,
            )
        )
    return approved


async def _give_back(
    uow: BudgetUnitOfWork, expense_id: str, rule: GiveBack, action: str
) -> tuple[Expense, Expense, TeamBudget] | None:
    """Load, apply a rule that returns an expense's money, and store it; None if unchanged."""
    expense, team = await _expense_and_team(uow, expense_id)
    pot = await uow.pots.get(team.call_id, lock=True)
    decided, updated, new_pot, moved = rule(expense, team, pot)
    if moved is None:
        return None
    uow.expenses.put(decided)
    uow.teams.put(updated)
    uow.ledger.book([moved], at=uow.clock.now(), cause=uow.cause.actor)
    await uow.audit(
        action, "expense", expense.id, before=snapshot(expense), after=snapshot(decided)
    )
    if new_pot is not None:
        uow.pots.put(new_pot)
        # A closed team's money went back to the pot: teams waiting for money may fit now.
        if new_pot.waiting_teams and new_pot != pot:
            await allocate_waiting(uow, new_pot, uow.cause.actor)
    return expense, decided, updated


async def reverse_expense(
    uow: BudgetUnitOfWork, expense_id: str, reason: str, by: Principal
) -> Expense:
    now = uow.clock.now()
    changed = await _give_back(
        uow,
        expense_id,
        partial(rules.reverse, by=by.name, reason=reason, now=now),
        "expense.reversed",
    )
    if changed is None:
        return await _unchanged(uow, expense_id)
    expense, reversed_, team = changed
    await uow.emit(
        ExpenseReversedV1(
            team_id=team.team_id,
            call_id=team.call_id,
            expense_id=expense.id,
            position=expense.position,
            receipt_number=expense.receipt_number,
            fundable_cents=expense.fundable_cents,
            approved_total_cents=team.approved_cents,
            reason=reversed_.reversal_reason or reason,
            reversed_by=by.name,
            reversed_at=now,
        )
    )
    return reversed_


async def reject_expense(
    uow: BudgetUnitOfWork, expense_id: str, reason: str, by: Principal
) -> Expense:
    now = uow.clock.now()
    changed = await _give_back(
        uow,
        expense_id,
        partial(rules.reject, by=by.name, reason=reason, now=now),
        "expense.rejected",
    )
    if changed is None:
        return await _unchanged(uow, expense_id)
    expense, rejected, team = changed
    await uow.emit(
        ExpenseRejectedV1(
            team_id=team.team_id,
            call_id=team.call_id,
            expense_id=expense.id,
            position=expense.position,
            receipt_number=expense.receipt_number,
            fundable_cents=expense.fundable_cents,
            reason=rejected.rejection_reason or reason,
            rejected_by=by.name,
            rejected_at=now,
        )
    )
    return rejected


async def _unchanged(uow: BudgetUnitOfWork, expense_id: str) -> Expense:
    expense = await uow.expenses.get(expense_id)
    assert expense is not None
    return expense
