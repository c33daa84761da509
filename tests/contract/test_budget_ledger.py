"""Budget's ledger store and repository behave alike on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from cimis_chassis.clock import ManualClock
from cimis_chassis.database import Database
from cimis_chassis.unit_of_work import Cause
from services.budget.adapters.ledger_store import reconcile
from services.budget.adapters.queries import BudgetQueries
from services.budget.adapters.tables import chassis, ledger_accounts, metadata
from services.budget.adapters.unit_of_work import SqlBudgetUnitOfWork
from services.budget.domain import budgets, expenses, ledger
from services.budget.domain.tranches import DEFAULT_PLAN
from tests.contract.databases import OnPostgres, OnSqlite, ServiceSchemaContract
from tests.unit.budget.test_budgets import a_team

AT = datetime(2024, 10, 1, 9, 0, tzinfo=UTC)


def unit(db: Database) -> SqlBudgetUnitOfWork:
    return SqlBudgetUnitOfWork(
        db, chassis, clock=ManualClock(AT), source="cimis/budget", cause=Cause("test", "c")
    )


class BudgetLedgerContract(ServiceSchemaContract):
    metadata = metadata
    service = "budget"

    async def allocated_team(self, db: Database) -> budgets.TeamBudget:
        pot, funded = budgets.open_pot(
            call_id="c1",
            title="CIMIS",
            total_cents=100_000_00,
            max_team_cents=50_000_00,
            plan=DEFAULT_PLAN,
        )
        outcome = budgets.allocate(a_team(), pot)
        async with unit(db) as uow:
            uow.pots.add(pot, opened_at=AT)
            uow.teams.add(a_team())
            assert outcome.pot is not None
            uow.pots.put(outcome.pot)
            uow.teams.put(outcome.team)
            uow.ledger.book([funded, *outcome.transfers], at=AT, cause="test")
        return outcome.team

    async def test_booked_transfers_reconcile_and_balance_to_zero(self, db: Database) -> None:
        await self.allocated_team(db)
        async with db.sessions() as session:
            report = await reconcile(session)
        assert report.ok, report.problems
        assert (report.transfers, report.accounts, report.imbalance_cents) == (3, 4, 0)

    async def test_a_transfer_is_booked_once_however_often_it_is_posted(self, db: Database) -> None:
        _, funded = budgets.open_pot(
            call_id="c9", title="x", total_cents=5_00, max_team_cents=5_00, plan=DEFAULT_PLAN
        )
        for _ in range(3):
            async with unit(db) as uow:
                uow.ledger.book([funded], at=AT, cause="replay")
        async with db.sessions() as session:
            repo = BudgetQueries(session)
            rows = await repo.transfers(
                team_id=None, call_id="c9", since=None, after_position=None, limit=10
            )
            report = await reconcile(session)
        assert len(rows) == 1
        assert report.ok

    async def test_reconciling_while_transfers_are_booked_finds_nothing_wrong(
        self, db: Database
    ) -> None:
        async def keep_booking() -> None:
            for n in range(60):
                _, funded = budgets.open_pot(
                    call_id=f"busy-{n}",
                    title="x",
                    total_cents=5_00,
                    max_team_cents=5_00,
                    plan=DEFAULT_PLAN,
                )
                async with unit(db) as uow:
                    uow.ledger.book([funded], at=AT, cause=f"busy-{n}")

        booking = asyncio.create_task(keep_booking())
        findings: list[str] = []
        rounds = 0
        while not booking.done():
            async with db.sessions() as session:
                findings.extend((await reconcile(session)).problems)
            rounds += 1
        await booking
        assert rounds > 1
        assert findings == []

    async def test_a_tampered_balance_is_found(self, db: Database) -> None:
        await self.allocated_team(db)
        async with db.transaction() as session:
            await session.execute(
                update(ledger_accounts)
                .where(ledger_accounts.c.account == ledger.pot("c1"))
                .values(balance_cents=ledger_accounts.c.balance_cents + 1)
            )
        async with db.sessions() as session:
            report = await reconcile(session)
        assert not report.ok
        assert report.imbalance_cents == 1
        assert any("call:c1:pot" in p for p in report.problems)

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE ledger_entries SET amount_cents = amount_cents + 1",
            "DELETE FROM ledger_entries",
            "UPDATE ledger_transfers SET amount_cents = 0",
            "DELETE FROM ledger_transfers",
        ],
    )
    async def test_the_database_refuses_to_change_or_remove_a_booking(
        self, db: Database, statement: str
    ) -> None:
        await self.allocated_team(db)
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.transaction() as session:
                await session.execute(text(statement))
        async with db.sessions() as session:
            report = await reconcile(session)
        assert report.ok, report.problems

    async def test_a_team_budget_round_trips(self, db: Database) -> None:
        team = await self.allocated_team(db)
        async with db.sessions() as session:
            stored = await BudgetQueries(session).get_team(team.team_id)
        assert stored == team

    async def test_a_standing_receipt_is_unique_per_team(self, db: Database) -> None:
        team = await self.allocated_team(db)
        expense, _, _ = expenses.submit(
            team,
            expense_id="e1",
            position="material",
            net_cents=100,
            vat_cents=19,
            receipt_number="R-1",
            receipt_date=date(2024, 9, 1),
            payee="p",
            purpose="x",
            submitted_by="anna",
            now=AT,
            today=date(2024, 10, 1),
            period=budgets.FundingPeriod(date(2024, 1, 1), None),
        )
        async with unit(db) as uow:
            uow.expenses.add(expense)
        with pytest.raises(IntegrityError):
            async with unit(db) as uow:
                uow.expenses.add(expenses.Expense(**{**expense.__dict__, "id": "e2"}))
        async with unit(db) as uow:
            assert await uow.expenses.standing_with_receipt(team.call_id, " R-1 ", "P") == [expense]
        async with db.sessions() as session:
            [stored] = await BudgetQueries(session).expenses_of_team(team.team_id)
        assert stored == expense


class TestBudgetLedgerOnSqlite(OnSqlite, BudgetLedgerContract):
    pass


class TestBudgetLedgerOnPostgres(OnPostgres, BudgetLedgerContract):
    pass
