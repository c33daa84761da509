"""Budget's repositories keep one contract in memory, on SQLite and on PostgreSQL.

The same test bodies run on the fakes the handler tests use and on both databases, so a
handler that passes on the fakes behaves the same in production (the eventsourcing pattern).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.unit_of_work import Cause
from cimis_contracts.budget import BudgetClosedV1
from services.budget.adapters.memory import DuplicateReceipt
from services.budget.adapters.tables import chassis
from services.budget.adapters.unit_of_work import MemoryBudgetUnitOfWork, SqlBudgetUnitOfWork
from services.budget.app.ports import BudgetUnitOfWork
from services.budget.domain import budgets, cost_plans, expenses, ledger, payouts
from services.budget.domain.budgets import AWAITING_CALL, Pot
from services.budget.domain.cost_plans import CostPlan
from services.budget.domain.tranches import DEFAULT_PLAN
from tests.contract.databases import DatabaseContract, OnPostgres, OnSqlite
from tests.unit.budget.test_budgets import a_team

AT = datetime(2024, 10, 1, 9, 0, tzinfo=UTC)
CLOSED = BudgetClosedV1(
    team_id="t1", call_id="c1", returned_cents=0, approved_cents=0, closed_at=AT
)

# A new unit of work on the backend under test; every call sees what earlier units committed.
Units = Callable[[], "BudgetUnit"]


class BudgetUnit(BudgetUnitOfWork, Protocol):
    """What the contract asks of both unit classes: the handlers' view, and a transaction."""

    async def __aenter__(self) -> BudgetUnit: ...

    async def __aexit__(self, *exc_info: object) -> None: ...


def a_pot(call_id: str = "c1", total: int = 100_000_00) -> tuple[Pot, ledger.Transfer]:
    return budgets.open_pot(
        call_id=call_id, title="CIMIS II", total_cents=total, max_team_cents=50_000_00,
        plan=DEFAULT_PLAN,
    )  # fmt: skip


def a_cost_plan(team_id: str, version: int, status: str = "pending_approval") -> CostPlan:
    return CostPlan(
        team_id=team_id, call_id="c1", version=version,
        lines=(("personnel", 600_00), ("travel", 400_00)), reason="Kostenplan",
        proposed_by="sabine", proposed_at=AT, status=status,
        decided_by="sabine" if status == "in_force" else None,
        decided_at=AT if status == "in_force" else None,
    )  # fmt: skip


def a_payment(request_id: str, at: datetime) -> payouts.PaymentRequest:
    return payouts.PaymentRequest(
        id=request_id, team_id="t1", call_id="c1", status="requested", amount_cents=119,
        expense_ids=("e1",), positions=(("material", 119),), requested_by="sabine",
        requested_at=at,
    )  # fmt: skip


def an_expense(
    team_id: str, expense_id: str, receipt: str, payee: str = "Müller GmbH"
) -> expenses.Expense:
    expense, _, _ = expenses.submit(
        replace(a_team(team_id), status=budgets.ALLOCATED, allocated_cents=1_000_00,
                available_cents=1_000_00),
        expense_id=expense_id, position="material", net_cents=100, vat_cents=19,
        receipt_number=receipt, receipt_date=date(2024, 9, 1), payee=payee, purpose="x",
        submitted_by="anna", now=AT, today=date(2024, 10, 1),
        period=budgets.FundingPeriod(date(2024, 1, 1), None),
    )  # fmt: skip
    return expense


class BudgetRepositoryContract:
    @pytest.fixture
    def units(self) -> Units:
        raise NotImplementedError("a backend subclass provides its units of work")

    async def test_a_pot_is_stored_read_and_changed_across_units(self, units: Units) -> None:
        pot, _ = a_pot()
        async with units() as uow:
            assert await uow.pots.get("c1") is None
            uow.pots.add(pot, opened_at=AT)
        async with units() as uow:
            assert await uow.pots.get("c1", lock=True) == pot
            uow.pots.put(replace(pot, available_cents=5))
        async with units() as uow:
            await uow.pots.load(["c1", "unknown"], lock=True)
            assert await uow.pots.get("c1") == replace(pot, available_cents=5)
            assert await uow.pots.get("unknown") is None

    async def test_a_team_added_and_changed_in_one_unit_is_stored_as_last_put(
        self, units: Units
    ) -> None:
        team = a_team("t1")
        async with units() as uow:
            uow.teams.add(team)
            uow.teams.put(replace(team, status=budgets.REFUSED, refusal_code="no-money"))
        async with units() as uow:
            stored = await uow.teams.get("t1")
        assert stored == replace(team, status=budgets.REFUSED, refusal_code="no-money")

    async def test_a_team_cannot_be_added_twice(self, units: Units) -> None:
        async with units() as uow:
            uow.teams.add(a_team("t1"))

        async def add_again() -> None:
            async with units() as uow:
                await uow.teams.load(["t1"])
                uow.teams.add(a_team("t1"))

        with pytest.raises((ValueError, IntegrityError)):
            await add_again()

    async def test_putting_a_team_never_read_is_refused(self, units: Units) -> None:
        with pytest.raises(KeyError):
            async with units() as uow:
                uow.teams.put(a_team("never-read"))

    async def test_teams_awaiting_a_call_come_in_acceptance_order_with_this_units_changes(
        self, units: Units
    ) -> None:
        early, late = a_team("t-late", accepted_at=AT + timedelta(hours=2)), a_team("t-early")
        async with units() as uow:
            uow.teams.add(early)
            uow.teams.add(a_team("other-call", call_id="c2"))
        async with units() as uow:
            uow.teams.add(late)
            uow.teams.add(a_team("t-done", accepted_at=AT - timedelta(hours=1)))
            done = await uow.teams.get("t-done")
            assert done is not None
            uow.teams.put(replace(done, status=budgets.WAITING))
            waiting = await uow.teams.in_line("c1", AWAITING_CALL)
            for_money = await uow.teams.in_line("c1", budgets.WAITING)
        assert [t.team_id for t in waiting] == ["t-early", "t-late"]
        assert all(t.status == AWAITING_CALL for t in waiting)
        assert [t.team_id for t in for_money] == ["t-done"]

    async def test_early_completions_are_taken_once(self, units: Units) -> None:
        async with units() as uow:
            await uow.early_completions.note("t1", "prototype")
            await uow.early_completions.note("t1", "prototype")
            await uow.early_completions.note("t1", "final")
            await uow.early_completions.note("t2", "final")
        async with units() as uow:
            await uow.early_completions.load(["t1", "t2", "t3"])
            assert await uow.early_completions.take("t1") == {"prototype", "final"}
            assert await uow.early_completions.take("t1") == frozenset()
            assert await uow.early_completions.take("t3") == frozenset()
        async with units() as uow:
            assert await uow.early_completions.take("t1") == frozenset()
            assert await uow.early_completions.take("t2") == {"final"}

    async def test_a_completion_noted_after_a_take_in_the_same_unit_is_kept(
        self, units: Units
    ) -> None:
        async with units() as uow:
            await uow.early_completions.note("t1", "prototype")
        async with units() as uow:
            assert await uow.early_completions.take("t1") == {"prototype"}
            await uow.early_completions.note("t1", "final")
        async with units() as uow:
            assert await uow.early_completions.take("t1") == {"final"}

    async def test_a_transfer_is_booked_once_however_often_and_wherever_it_is_posted(
        self, units: Units
    ) -> None:
        _, funded = a_pot("c9", total=5_00)
        async with units() as uow:
            uow.ledger.book([funded, funded], at=AT, cause="first")
            uow.ledger.book([funded], at=AT, cause="again")
        async with units() as uow:
            uow.ledger.book([funded], at=AT, cause="replay")
        async with units() as uow:
            assert await uow.ledger.balance(ledger.pot("c9")) == 5_00
            assert await uow.ledger.balance(ledger.funding("c9")) == -5_00
            assert await uow.ledger.transfer_ids("c9") == ["fund:c9"]

    async def test_bookings_of_one_unit_keep_their_order_and_add_up(self, units: Units) -> None:
        pot, funded = a_pot()
        outcome = budgets.allocate(a_team("t1", requested=45_000_00), pot)
        async with units() as uow:
            uow.ledger.book([funded], at=AT, cause="open")
            uow.ledger.book(outcome.transfers, at=AT, cause="allocate")
        async with units() as uow:
            ids = await uow.ledger.transfer_ids("c1")
            balances = [
                await uow.ledger.balance(account)
                for account in (ledger.pot("c1"), ledger.reserved("t1"), ledger.released("t1"))
            ]
        assert ids == ["fund:c1", *(t.id for t in outcome.transfers)]
        assert balances == [55_000_00, 27_000_00, 18_000_00]

    async def test_an_expense_round_trips_and_its_receipt_is_taken_in_any_spelling(
        self, units: Units
    ) -> None:
        expense = an_expense("t1", "e1", "R-1")
        async with units() as uow:
            uow.teams.add(a_team("t1"))
            uow.expenses.add(expense)
        async with units() as uow:
            assert await uow.expenses.get("e1", lock=True) == expense
            assert await uow.expenses.standing_with_receipt("c1", " r-1 ", "MÜLLER  GmbH") == [
                expense
            ]
            assert await uow.expenses.standing_with_receipt("c1", "R-1", "Schulz KG") == []
            assert await uow.expenses.standing_with_receipt("c2", "R-1", "Müller GmbH") == []
            uow.expenses.put(replace(expense, status="approved"))
        async with units() as uow:
            stored = await uow.expenses.get("e1")
        assert stored is not None
        assert stored.status == "approved"

    async def test_a_receipt_is_claimed_once_per_team(self, units: Units) -> None:
        async with units() as uow:
            uow.teams.add(a_team("t1"))
            uow.expenses.add(an_expense("t1", "e1", "R-1"))
        with pytest.raises((IntegrityError, DuplicateReceipt)):
            async with units() as uow:
                uow.expenses.add(an_expense("t1", "e2", "r-1"))
        async with units() as uow:
            assert await uow.expenses.get("e2") is None

    async def test_a_rejected_receipt_may_be_entered_again_and_another_payees_too(
        self, units: Units
    ) -> None:
        first = an_expense("t1", "e1", "R-1")
        async with units() as uow:
            uow.teams.add(a_team("t1"))
            uow.expenses.add(first)
            uow.expenses.add(an_expense("t1", "e2", "R-1", payee="Schulz KG"))
        async with units() as uow:
            await uow.expenses.get("e1", lock=True)
            uow.expenses.put(replace(first, status=expenses.REJECTED))
        async with units() as uow:
            uow.expenses.add(an_expense("t1", "e3", "r-1"))
        async with units() as uow:
            standing = await uow.expenses.standing_with_receipt("c1", "R-1", "müller gmbh")
            assert [e.id for e in standing] == ["e3"]

    async def test_committed_money_is_summed_per_line_with_this_units_expenses(
        self, units: Units
    ) -> None:
        first = an_expense("t1", "e1", "R-1")
        async with units() as uow:
            uow.teams.add(a_team("t1"))
            uow.teams.add(a_team("t2"))
            uow.expenses.add(first)
            uow.expenses.add(replace(an_expense("t1", "e2", "R-2"), position="travel"))
            uow.expenses.add(an_expense("t2", "e3", "R-1"))
        async with units() as uow:
            await uow.expenses.get("e1", lock=True)
            uow.expenses.put(replace(first, status=expenses.REJECTED))
            uow.expenses.add(an_expense("t1", "e4", "R-4"))
            assert await uow.expenses.committed_by_position("t1") == {
                "material": 119,
                "travel": 119,
            }
            assert await uow.expenses.committed_by_position("nobody") == {}

    async def test_cost_plan_versions_are_kept_in_order_and_changed_in_place(
        self, units: Units
    ) -> None:
        first = a_cost_plan("t1", 1, status=cost_plans.IN_FORCE)
        async with units() as uow:
            uow.teams.add(a_team("t1"))
            uow.cost_plans.add(first)
        async with units() as uow:
            history = await uow.cost_plans.of_team("t1", lock=True)
            assert history == [first]
            uow.cost_plans.put(replace(first, status=cost_plans.SUPERSEDED))
            uow.cost_plans.add(a_cost_plan("t1", 2, status=cost_plans.IN_FORCE))
        async with units() as uow:
            history = await uow.cost_plans.of_team("t1")
            assert await uow.cost_plans.of_team("t2") == []
        assert [(p.version, p.status) for p in history] == [(1, "superseded"), (2, "in_force")]
        assert history[1].lines == (("personnel", 600_00), ("travel", 400_00))

    async def test_a_cost_plan_version_exists_once(self, units: Units) -> None:
        async with units() as uow:
            uow.teams.add(a_team("t1"))
            uow.cost_plans.add(a_cost_plan("t1", 1))
        with pytest.raises((IntegrityError, ValueError)):
            async with units() as uow:
                uow.cost_plans.add(a_cost_plan("t1", 1))

    async def test_a_bank_account_is_added_then_replaced(self, units: Units) -> None:
        account = payouts.bank_account(
            "t1", account_holder="A", iban="DE02120300000000202051", bic=None, by="s", now=AT
        )
        async with units() as uow:
            uow.teams.add(a_team("t1"))
            await uow.bank_accounts.put(account)
        async with units() as uow:
            assert await uow.bank_accounts.get("t1") == account
            await uow.bank_accounts.put(replace(account, account_holder="B"))
        async with units() as uow:
            assert await uow.bank_accounts.of_teams(["t1", "t2"]) == {
                "t1": replace(account, account_holder="B")
            }

    async def test_payment_requests_round_trip_and_are_found_by_status(self, units: Units) -> None:
        first = a_payment("p1", AT)
        async with units() as uow:
            uow.teams.add(a_team("t1"))
            uow.payment_requests.add(first)
            uow.payment_requests.add(a_payment("p2", AT - timedelta(hours=1)))
            uow.payment_runs.add(
                payouts.PaymentRun("r1", date(2024, 10, 2), ("p1",), 119, "fiona", AT)
            )
        async with units() as uow:
            assert await uow.payment_requests.get("p1", lock=True) == first
            uow.payment_requests.put(replace(first, status="approved", approved_by="frank"))
            run = await uow.payment_runs.get("r1")
        assert run is not None
        assert run.request_ids == ("p1",)
        async with units() as uow:
            approved = await uow.payment_requests.with_status("approved")
            waiting = await uow.payment_requests.with_status("requested")
        assert [p.id for p in approved] == ["p1"]
        assert approved[0].positions == (("material", 119),)
        assert [p.id for p in waiting] == ["p2"]

    async def test_approved_expenses_in_no_request_are_the_ones_to_pay(self, units: Units) -> None:
        async with units() as uow:
            uow.teams.add(a_team("t1"))
            uow.expenses.add(replace(an_expense("t1", "e1", "R-1"), status="approved"))
            uow.expenses.add(an_expense("t1", "e2", "R-2"))
            uow.expenses.add(
                replace(an_expense("t1", "e3", "R-3"), status="approved", payment_request_id="p")
            )
        async with units() as uow:
            unpaid = await uow.expenses.approved_unrequested("t1")
            await uow.expenses.load(["e3", "e9"], lock=True)
            held = await uow.expenses.get("e3")
        assert [e.id for e in unpaid] == ["e1"]
        assert held is not None
        assert held.payment_request_id == "p"

    async def test_a_failed_unit_leaves_nothing_behind(self, units: Units) -> None:
        pot, funded = a_pot()

        async def fail_in_the_middle() -> None:
            async with units() as uow:
                uow.pots.add(pot, opened_at=AT)
                uow.ledger.book([funded], at=AT, cause="open")
                await uow.early_completions.note("t1", "final")
                await uow.emit(CLOSED)
                raise RuntimeError("failed in the middle")

        with pytest.raises(RuntimeError, match="in the middle"):
            await fail_in_the_middle()
        async with units() as uow:
            assert await uow.pots.get("c1") is None
            assert await uow.ledger.balance(ledger.pot("c1")) == 0
            assert await uow.early_completions.take("t1") == frozenset()
        assert await self.published(units) == []

    async def test_emitted_events_and_audit_entries_commit_with_the_change(
        self, units: Units
    ) -> None:
        async with units() as uow:
            await uow.audit("budget.closed", "team_budget", "t1", before=None, after={"a": 1})
            await uow.emit(CLOSED)
        assert await self.published(units) == [BudgetClosedV1.TYPE]
        assert await self.audited(units) == ["budget.closed"]

    async def published(self, units: Units) -> list[str]:
        raise NotImplementedError

    async def audited(self, units: Units) -> list[str]:
        raise NotImplementedError


class TestBudgetRepositoriesInMemory(BudgetRepositoryContract):
    @pytest.fixture
    def memory(self) -> MemoryBudgetUnitOfWork:
        return MemoryBudgetUnitOfWork(clock=ManualClock(AT))

    @pytest.fixture
    def units(self, memory: MemoryBudgetUnitOfWork) -> Units:
        return lambda: memory  # type: ignore[return-value]

    async def published(self, units: Units) -> list[str]:
        return [e.type for e in units().committed_events]  # type: ignore[attr-defined]

    async def audited(self, units: Units) -> list[str]:
        return [e.action for e in units().audit_log]  # type: ignore[attr-defined]


class OnBudgetDatabase(DatabaseContract):
    service = "budget"

    @pytest.fixture
    def units(self, db: Database) -> Units:
        self.database = db
        return lambda: SqlBudgetUnitOfWork(  # type: ignore[return-value]
            db, chassis, clock=ManualClock(AT), source="cimis/budget", cause=Cause("test", "c")
        )

    async def published(self, units: Units) -> list[str]:
        async with self.database.sessions() as session:
            rows = await session.execute(
                select(chassis.outbox.c.event_type).order_by(chassis.outbox.c.position)
            )
            return list(rows.scalars())

    async def audited(self, units: Units) -> list[str]:
        async with self.database.sessions() as session:
            rows = await session.execute(select(chassis.audit_log.c.action))
            return list(rows.scalars())


class TestBudgetRepositoriesOnSqlite(OnSqlite, OnBudgetDatabase, BudgetRepositoryContract):
    pass


class TestBudgetRepositoriesOnPostgres(OnPostgres, OnBudgetDatabase, BudgetRepositoryContract):
    pass
