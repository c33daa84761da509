"""Payouts: requests bundle approved, unrequested expenses; four eyes; a run takes each team's
account as it is; paid and returned move money between ``spent`` and ``paid``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from services.budget.domain import ledger, payouts
from services.budget.domain.budgets import ALLOCATED, TeamBudget
from services.budget.domain.errors import (
    BudgetRuleViolation,
    BudgetStateConflict,
    FourEyesViolation,
)
from services.budget.domain.expenses import APPROVED, SUBMITTED, Expense
from services.budget.domain.payouts import PaymentRequest
from tests.unit.budget.test_budgets import a_team

AT = datetime(2024, 10, 1, 9, 0, tzinfo=UTC)
TODAY = date(2024, 10, 1)
TEAM = replace(
    a_team(), status=ALLOCATED, allocated_cents=10_000_00, reserved_cents=7_000_00,
    available_cents=1_000_00, approved_cents=2_000_00,
)  # fmt: skip
ACCOUNT = payouts.bank_account(
    "t1", account_holder=" Möbel GbR ", iban="de02 1203 0000 0000 2020 51", bic=None,
    by="sabine", now=AT,
)  # fmt: skip


def an_expense(expense_id: str, cents: int, position: str = "travel", **kw: object) -> Expense:
    fields: dict[str, object] = {
        "id": expense_id, "team_id": "t1", "call_id": "c1", "position": position,
        "net_cents": cents, "vat_cents": 0, "gross_cents": cents, "fundable_cents": cents,
        "receipt_number": expense_id, "receipt_date": TODAY, "payee": "P", "purpose": "x",
        "status": APPROVED, "submitted_by": "anna", "submitted_at": AT,
    }  # fmt: skip
    return Expense(**(fields | kw))  # type: ignore[arg-type]


def requested(*expenses: Expense, by: str = "sabine") -> tuple[PaymentRequest, tuple[Expense, ...]]:
    return payouts.request(TEAM, expenses, request_id="p1", account=ACCOUNT, by=by, now=AT)


class TestBankAccount:
    def test_iban_and_holder_are_normalised(self) -> None:
        assert (ACCOUNT.iban, ACCOUNT.account_holder) == ("DE02120300000000202051", "Möbel GbR")

    @pytest.mark.parametrize(
        ("iban", "bic", "code"),
        [
            ("DE02120300000000202052", None, "invalid-iban"),
            ("XX02120300000000202051", None, "invalid-iban"),
            ("DE02120300000000202051", "NOTABIC", "invalid-bic"),
        ],
    )
    def test_a_wrong_iban_or_bic_is_refused(self, iban: str, bic: str | None, code: str) -> None:
        with pytest.raises(BudgetRuleViolation) as refused:
            payouts.bank_account("t1", account_holder="A", iban=iban, bic=bic, by="s", now=AT)
        assert refused.value.code == code


class TestRequests:
    def test_approved_expenses_not_yet_requested_are_bundled_per_line(self) -> None:
        payment, bundled = requested(
            an_expense("e1", 300_00),
            an_expense("e2", 200_00, position="material"),
            an_expense("e3", 50_00, status=SUBMITTED),
            an_expense("e4", 70_00, payment_request_id="older"),
        )
        assert (payment.amount_cents, payment.expense_ids) == (500_00, ("e1", "e2"))
        assert payment.positions == (("material", 200_00), ("travel", 300_00))
        assert {e.payment_request_id for e in bundled} == {"p1"}

    def test_nothing_to_pay_and_no_account_are_conflicts(self) -> None:
        with pytest.raises(BudgetStateConflict) as nothing:
            requested(an_expense("e1", 1, status=SUBMITTED))
        assert nothing.value.code == "nothing-to-pay"
        with pytest.raises(BudgetStateConflict) as no_account:
            payouts.request(
                TEAM, [an_expense("e1", 1)], request_id="p1", account=None, by="s", now=AT
            )
        assert no_account.value.code == "bank-account-missing"

    def test_four_eyes_and_approving_twice_changes_nothing(self) -> None:
        payment, _ = requested(an_expense("e1", 1), by="fiona")
        with pytest.raises(FourEyesViolation):
            payouts.approve(payment, by="fiona", now=AT)
        approved = payouts.approve(payment, by="frank", now=AT)
        assert approved is not None
        assert approved.status == "approved"
        assert payouts.approve(approved, by="frank", now=AT) is None

    def test_cancelling_frees_the_expenses_until_the_export(self) -> None:
        payment, bundled = requested(an_expense("e1", 1))
        changed = payouts.cancel(payment, bundled, by="s", reason="doppelt", now=AT)
        assert changed is not None
        cancelled, freed = changed
        assert cancelled.status == "cancelled"
        assert [e.payment_request_id for e in freed] == [None]
        exported = replace(payment, status="exported")
        with pytest.raises(BudgetStateConflict):
            payouts.cancel(exported, bundled, by="s", reason="zu spät", now=AT)


class TestRunsAndBank:
    def approved(self, request_id: str, team_id: str = "t1") -> PaymentRequest:
        payment, _ = requested(an_expense("e1", 100_00))
        return replace(payment, id=request_id, team_id=team_id, status="approved", approved_at=AT)

    def test_a_run_takes_every_approved_request_with_its_teams_account_now(self) -> None:
        run, exported = payouts.export(
            [self.approved("p2"), self.approved("p1")], {"t1": ACCOUNT}, run_id="r1",
            execution_date=TODAY, today=TODAY, by="fiona", now=AT,
        )  # fmt: skip
        assert (run.request_ids, run.total_cents) == (("p1", "p2"), 200_00)
        assert {(p.status, p.run_id, p.iban) for p in exported} == {
            ("exported", "r1", "DE02120300000000202051")
        }

    def test_a_run_in_the_past_or_without_an_account_is_refused(self) -> None:
        with pytest.raises(BudgetRuleViolation):
            payouts.export(
                [self.approved("p1")], {"t1": ACCOUNT}, run_id="r1",
                execution_date=TODAY - timedelta(days=1), today=TODAY, by="f", now=AT,
            )  # fmt: skip
        with pytest.raises(BudgetStateConflict):
            payouts.export(
                [self.approved("p1", team_id="t2")], {"t1": ACCOUNT}, run_id="r1",
                execution_date=TODAY, today=TODAY, by="f", now=AT,
            )  # fmt: skip

    def test_paid_moves_money_from_spent_to_paid_and_returned_moves_it_back(self) -> None:
        payment = replace(self.approved("p1"), status="exported")
        changed = payouts.mark_paid(
            payment, TEAM, value_date=TODAY, today=TODAY, by="fiona", now=AT
        )
        assert changed is not None
        paid, team, moved = changed
        assert (moved.from_account, moved.to_account) == (ledger.spent("t1"), ledger.paid("t1"))
        assert team.paid_cents == 100_00
        assert payouts.mark_paid(paid, team, value_date=TODAY, today=TODAY, by="f", now=AT) is None
        back = payouts.mark_returned(paid, team, [], by="fiona", reason="Konto erloschen", now=AT)
        assert back is not None
        returned, team, _, moved_back = back
        assert moved_back is not None
        assert (moved_back.from_account, moved_back.to_account, team.paid_cents) == (
            ledger.paid("t1"),
            ledger.spent("t1"),
            0,
        )
        assert returned.end_reason == "Konto erloschen"

    def test_an_exported_payment_returned_before_it_was_marked_paid_books_nothing(self) -> None:
        payment = replace(self.approved("p1"), status="exported")
        back = payouts.mark_returned(payment, TEAM, [], by="f", reason="abgelehnt", now=AT)
        assert back is not None
        assert back[3] is None

    def test_a_value_date_in_the_future_is_refused(self) -> None:
        payment = replace(self.approved("p1"), status="exported")
        with pytest.raises(BudgetRuleViolation):
            payouts.mark_paid(
                payment, TEAM, value_date=TODAY + timedelta(days=1), today=TODAY, by="f", now=AT
            )

    def test_a_team_is_never_paid_more_than_was_approved(self) -> None:
        with pytest.raises(AssertionError):
            TeamBudget(**{**vars(TEAM), "paid_cents": TEAM.approved_cents + 1})
