"""Expenses: fundable amounts, overrun refused, four eyes, thresholds once, reversals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.budget.domain import budgets, expenses
from services.budget.domain.budgets import FundingPeriod, TeamBudget
from services.budget.domain.errors import (
    BudgetRuleViolation,
    BudgetStateConflict,
    FourEyesViolation,
)
from tests.unit.budget.test_budgets import a_pot, a_team

AT = datetime(2024, 11, 5, 10, 0, tzinfo=UTC)
TODAY = date(2024, 11, 5)


def allocated(**kw: Any) -> TeamBudget:
    pot, _ = a_pot()
    return budgets.allocate(a_team(**kw), pot).team  # 45,000.00 allocated, 18,000.00 released


def submit(team: TeamBudget, net: int, vat: int = 0, **kw: Any) -> tuple[Any, TeamBudget, Any]:
    args: dict[str, Any] = {
        "expense_id": "e1",
        "position": "external_services",
        "net_cents": net,
        "vat_cents": vat,
        "receipt_number": "RE-1",
        "receipt_date": TODAY,
        "payee": "Agentur Erzgebirge",
        "purpose": "Prototyp",
        "submitted_by": "agent-anna",
        "now": AT,
        "today": TODAY,
        "period": FundingPeriod(date(2024, 10, 1), date(2025, 6, 30)),
    }
    args.update(kw)
    return expenses.submit(team, **args)


class TestSubmit:
    def test_gross_is_fundable_without_input_vat_deduction(self) -> None:
        expense, team, moved = submit(allocated(), 1_000_00, 190_00)
        assert (expense.gross_cents, expense.fundable_cents) == (1_190_00, 1_190_00)
        assert team.available_cents == 18_000_00 - 1_190_00
        assert team.pending_cents == 1_190_00
        assert moved.amount_cents == 1_190_00

    def test_only_net_is_fundable_with_input_vat_deduction(self) -> None:
        expense, _, _ = submit(allocated(input_vat_deductible=True), 1_000_00, 190_00)
        assert expense.fundable_cents == 1_000_00

    def test_more_than_available_is_budget_exceeded_and_changes_nothing(self) -> None:
        team = allocated()
        with pytest.raises(BudgetRuleViolation) as err:
            submit(team, 18_000_01)
        assert err.value.code == "budget-exceeded"
        assert team.available_cents == 18_000_00

    def test_pending_expenses_count_against_what_is_available(self) -> None:
        _, team, _ = submit(allocated(), 10_000_00)
        with pytest.raises(BudgetRuleViolation, match=r"8000\.00"):
            submit(team, 8_000_01, expense_id="e2", receipt_number="RE-2")

    def test_a_closed_budget_takes_no_expenses(self) -> None:
        pot, _ = a_pot()
        outcome = budgets.allocate(a_team(), pot)
        closed = budgets.close(outcome.team, outcome.pot, AT).team
        with pytest.raises(BudgetStateConflict) as err:
            submit(closed, 1_00)
        assert err.value.code == "budget-closed"

    def test_a_receipt_from_the_future_is_refused(self) -> None:
        with pytest.raises(BudgetRuleViolation, match="future"):
            submit(allocated(), 1_00, receipt_date=date(2024, 11, 6))


class TestApproveAndReject:
    def test_four_eyes_the_submitter_cannot_approve(self) -> None:
        expense, team, _ = submit(allocated(), 1_000_00)
        with pytest.raises(FourEyesViolation):
            expenses.approve(expense, team, approver="agent-anna", now=AT)

    def test_four_eyes_see_one_person_in_any_spelling_of_the_name(self) -> None:
        expense, team, _ = submit(allocated(), 1_000_00)
        for same in ("Agent-Anna", "AGENT‐ANNA", "ａｇｅｎｔ-ａｎｎａ"):
            with pytest.raises(FourEyesViolation):
                expenses.approve(expense, team, approver=same, now=AT)

    def test_approval_moves_pending_to_spent(self) -> None:
        expense, team, _ = submit(allocated(), 1_000_00)
        approved, team, moved, crossed = expenses.approve(expense, team, approver="fiona", now=AT)
        assert approved.status == "approved"
        assert (team.pending_cents, team.approved_cents) == (0, 1_000_00)
        assert moved is not None
        assert crossed == ()

    def test_approving_twice_changes_nothing(self) -> None:
        expense, team, _ = submit(allocated(), 1_000_00)
        approved, team, _, _ = expenses.approve(expense, team, approver="fiona", now=AT)
        again = expenses.approve(approved, team, approver="fiona", now=AT)
        assert again[2] is None

    def test_thresholds_are_crossed_once_each(self) -> None:
        pot, _ = a_pot()
        team = budgets.allocate(a_team(requested=10_000_00), pot).team
        team = budgets.complete_milestone(team, pot, "prototype").team
        team = budgets.complete_milestone(team, pot, "final").team
        seen: list[int] = []
        for i, net in enumerate([4_000_00, 1_000_00, 3_500_00, 1_500_00]):
            expense, team, _ = submit(team, net, expense_id=f"e{i}", receipt_number=f"R{i}")
            _, team, _, crossed = expenses.approve(expense, team, approver="fiona", now=AT)
            seen.extend(crossed)
        assert seen == [50, 80, 100]

    def test_one_big_approval_crosses_several_thresholds(self) -> None:
        pot, _ = a_pot()
        team = budgets.allocate(a_team(requested=10_000_00), pot).team
        team = budgets.complete_milestone(team, pot, "prototype").team
        expense, team, _ = submit(team, 8_000_00)
        assert expenses.approve(expense, team, approver="fiona", now=AT)[3] == (50, 80)

    def test_rejection_returns_the_money_to_available(self) -> None:
        expense, team, _ = submit(allocated(), 1_000_00)
        rejected, team, _, moved = expenses.reject(
            expense, team, None, by="fiona", reason="Beleg fehlt", now=AT
        )
        assert rejected.status == "rejected"
        assert team.available_cents == 18_000_00
        assert moved is not None

    def test_an_approved_expense_cannot_be_rejected(self) -> None:
        expense, team, _ = submit(allocated(), 1_000_00)
        approved, team, _, _ = expenses.approve(expense, team, approver="fiona", now=AT)
        with pytest.raises(BudgetStateConflict):
            expenses.reject(approved, team, None, by="fiona", reason="x", now=AT)


class TestReverse:
    def approved(self) -> tuple[Any, TeamBudget]:
        expense, team, _ = submit(allocated(), 1_000_00)
        approved, team, _, _ = expenses.approve(expense, team, approver="fiona", now=AT)
        return approved, team

    def test_a_reversal_gives_the_money_back_and_keeps_the_approval(self) -> None:
        approved, team = self.approved()
        reversed_, team, _, moved = expenses.reverse(
            approved, team, None, by="frank", reason="doppelt", now=AT
        )
        assert reversed_.status == "reversed"
        assert (reversed_.decided_by, reversed_.reversed_by) == ("fiona", "frank")
        assert (team.approved_cents, team.available_cents) == (0, 18_000_00)
        assert moved is not None
        assert (moved.from_account, moved.to_account) == ("team:t1:spent", "team:t1:released")

    def test_the_approver_cannot_reverse_alone(self) -> None:
        approved, team = self.approved()
        with pytest.raises(FourEyesViolation):
            expenses.reverse(approved, team, None, by="fiona", reason="x", now=AT)

    def test_only_approved_expenses_are_reversed(self) -> None:
        expense, team, _ = submit(allocated(), 1_000_00)
        with pytest.raises(BudgetStateConflict) as err:
            expenses.reverse(expense, team, None, by="frank", reason="x", now=AT)
        assert err.value.code == "expense-not-approved"

    def test_reversing_twice_changes_nothing(self) -> None:
        approved, team = self.approved()
        once, team, _, _ = expenses.reverse(approved, team, None, by="frank", reason="x", now=AT)
        assert expenses.reverse(once, team, None, by="frank", reason="x", now=AT)[3] is None

    def test_a_reversed_expense_is_neither_approved_nor_rejected_again(self) -> None:
        approved, team = self.approved()
        once, team, _, _ = expenses.reverse(approved, team, None, by="frank", reason="x", now=AT)
        with pytest.raises(BudgetStateConflict) as err:
            expenses.approve(once, team, approver="frank", now=AT)
        assert err.value.code == "expense-reversed"
        with pytest.raises(BudgetStateConflict):
            expenses.reject(once, team, None, by="frank", reason="x", now=AT)
