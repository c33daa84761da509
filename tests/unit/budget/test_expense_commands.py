"""Budget's expense commands on the in-memory unit of work: submit, approve, reject, reverse."""

from __future__ import annotations

from datetime import date

import pytest

from cimis_chassis.auth import Principal, Role
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.budget import (
    BudgetAllocatedV1,
    ExpenseApprovedV1,
    ExpenseRejectedV1,
    ExpenseReversedV1,
    ExpenseSubmittedV1,
    ThresholdCrossedV1,
)
from services.budget.app.expenses import (
    SubmitExpense,
    approve_expense,
    reject_expense,
    reverse_expense,
    submit_expense,
)
from services.budget.domain import expenses, ledger
from services.budget.domain.errors import (
    BudgetRuleViolation,
    BudgetStateConflict,
    FourEyesViolation,
    NotFound,
)
from services.budget.domain.expenses import Expense
from tests.unit.budget.test_event_handlers import (
    Budget,
    call_opened,
    milestone_completed,
    team_accepted,
    withdrawn,
)

AGENT = Principal("agent-anna", Role.AGENT, "k1")
FINANCE = Principal("fiona", Role.FINANCE, "k2")
FINANCE_2 = Principal("frank", Role.FINANCE, "k3")


def receipt(number: str = "RE-1", net: int = 1_000_00, vat: int = 190_00) -> SubmitExpense:
    return SubmitExpense(
        team_id="t1",
        position="material",
        net_cents=net,
        vat_cents=vat,
        receipt_number=number,
        receipt_date=date(2025, 3, 1),
        payee="Holzhandel Zwickau",
        purpose="Material für den Prototyp",
    )


@pytest.fixture
async def budget() -> Budget:
    """A call with one team, t1, allocated 40,000 EUR of which 16,000 EUR are released."""
    budget = Budget()
    # Accepted three days ago: the receipts of 1 March fall in its funding period.
    await budget.apply(call_opened(), team_accepted("t1", 40_000_00, minutes=-3 * 24 * 60))
    return budget


async def submit(budget: Budget, cmd: SubmitExpense, by: Principal = AGENT) -> Expense:
    async with budget.uow as uow:
        uow.caused_by(Cause(f"api:{by.name}", "corr"))
        return await submit_expense(uow, cmd, by)


async def approve(budget: Budget, expense_id: str, by: Principal = FINANCE) -> Expense:
    async with budget.uow as uow:
        return await approve_expense(uow, expense_id, by)


class TestSubmit:
    async def test_a_receipt_moves_its_fundable_amount_from_available_to_pending(
        self, budget: Budget
    ) -> None:
        expense = await submit(budget, receipt(net=1_000_00, vat=190_00))

        # VAT is fundable when the team cannot deduct input VAT.
        assert expense.fundable_cents == 1_190_00
        team = budget.team("t1")
        assert (team.available_cents, team.pending_cents) == (16_000_00 - 1_190_00, 1_190_00)
        assert budget.balance(ledger.pending("t1")) == 1_190_00
        [submitted] = budget.events(ExpenseSubmittedV1)
        assert (submitted["expense_id"], submitted["fundable_cents"]) == (expense.id, 1_190_00)
        assert budget.uow.audit_log[-1].action == "expense.submitted"
        assert budget.uow.audit_log[-1].actor == "api:agent-anna"

    async def test_the_same_receipt_in_another_spelling_is_refused(self, budget: Budget) -> None:
        await submit(budget, receipt("RE-1"))

        with pytest.raises(BudgetStateConflict, match="already submitted"):
            await submit(budget, receipt(" re-1 "))
        assert len(budget.uow.expenses.expenses) == 1

    async def test_more_than_is_released_is_refused_and_changes_nothing(
        self, budget: Budget
    ) -> None:
        with pytest.raises(BudgetRuleViolation):
            await submit(budget, receipt(net=16_000_01, vat=0))

        assert budget.team("t1").pending_cents == 0
        assert budget.events(ExpenseSubmittedV1) == []

    async def test_an_unknown_team_is_not_found(self, budget: Budget) -> None:
        cmd = SubmitExpense(**{**receipt().__dict__, "team_id": "nobody"})
        with pytest.raises(NotFound):
            await submit(budget, cmd)


class TestDecide:
    async def test_approval_moves_the_money_to_spent_and_reports_thresholds(
        self, budget: Budget
    ) -> None:
        await budget.apply(milestone_completed("t1", "prototype"))  # 32,000 EUR released
        expense = await submit(budget, receipt(net=20_000_00 - 1, vat=0))
        await approve(budget, expense.id)

        # 19,999.99 of 40,000 EUR is short of 50 %; one more cent crosses it.
        assert budget.events(ThresholdCrossedV1) == []
        second = await submit(budget, receipt("RE-2", net=1, vat=0))
        await approve(budget, second.id)

        assert budget.team("t1").approved_cents == 20_000_00
        assert budget.balance(ledger.spent("t1")) == 20_000_00
        assert [e["threshold_percent"] for e in budget.events(ThresholdCrossedV1)] == [50]
        assert len(budget.events(ExpenseApprovedV1)) == 2

    async def test_the_submitter_cannot_approve_their_own_receipt(self, budget: Budget) -> None:
        expense = await submit(budget, receipt(), by=FINANCE)

        with pytest.raises(FourEyesViolation):
            await approve(budget, expense.id, by=FINANCE)
        assert budget.uow.expenses.expenses[expense.id].status == expenses.SUBMITTED

    async def test_approving_twice_changes_nothing_the_second_time(self, budget: Budget) -> None:
        expense = await submit(budget, receipt())
        await approve(budget, expense.id)
        again = await approve(budget, expense.id)

        assert again.status == expenses.APPROVED
        assert len(budget.events(ExpenseApprovedV1)) == 1

    async def test_rejection_gives_the_money_back_to_available(self, budget: Budget) -> None:
        expense = await submit(budget, receipt())
        async with budget.uow as uow:
            rejected = await reject_expense(uow, expense.id, "Beleg unleserlich", FINANCE)

        assert rejected.status == expenses.REJECTED
        assert budget.team("t1").available_cents == 16_000_00
        assert budget.balance(ledger.pending("t1")) == 0
        [event] = budget.events(ExpenseRejectedV1)
        assert event["reason"] == "Beleg unleserlich"

    async def test_reversing_an_approved_expense_returns_it_and_the_books_stay_balanced(
        self, budget: Budget
    ) -> None:
        expense = await submit(budget, receipt())
        await approve(budget, expense.id)
        async with budget.uow as uow:
            reversed_ = await reverse_expense(uow, expense.id, "Doppelt gebucht", FINANCE_2)

        assert reversed_.status == expenses.REVERSED
        assert budget.team("t1").approved_cents == 0
        assert budget.balance(ledger.spent("t1")) == 0
        assert len(budget.events(ExpenseReversedV1)) == 1
        assert budget.uow.ledger.books.total() == 0


class TestMoneyBackToThePot:
    async def test_a_closed_teams_rejected_expense_funds_the_next_team_waiting(
        self, budget: Budget
    ) -> None:
        # t1 holds 40,000 of the 100,000 EUR pot; t2 takes 50,000; t3 needs 45,000 and waits.
        await budget.apply(team_accepted("t2", 50_000_00), team_accepted("t3", 45_000_00))
        assert budget.team("t3").status == "waiting"
        pending = await submit(budget, receipt(net=10_000_00, vat=0))
        # t1 withdraws: 30,000 EUR go back (10,000 + 30,000 < 45,000: t3 still waits), the
        # 10,000 EUR under review stay pending until finance decides.
        await budget.apply(withdrawn("t1"))
        assert budget.team("t3").status == "waiting"
        async with budget.uow as uow:
            uow.caused_by(Cause("api:fiona", "corr"))
            await reject_expense(uow, pending.id, "kein Beleg", FINANCE)
        assert budget.team("t3").status == "allocated"
        [allocated] = [e for e in budget.events(BudgetAllocatedV1) if e["team_id"] == "t3"]
        assert allocated["from_waiting_list"] is True
        assert budget.pot().waiting_teams == 0
