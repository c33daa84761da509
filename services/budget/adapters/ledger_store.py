"""The append-only ledger on the database: bookings with their balances, and reconciliation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.bulk import insert_rows
from services.budget.adapters.tables import (
    ledger_accounts,
    ledger_entries,
    ledger_transfers,
    pots,
    team_budgets,
)
from services.budget.domain import ledger
from services.budget.domain.ledger import Transfer


@dataclass(frozen=True)
class _Booking:
    transfer: Transfer
    at: datetime
    cause: str


class SqlLedger:
    """The ledger in a unit of work: bookings are written together when the unit flushes."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._pending: dict[str, _Booking] = {}

    def book(self, transfers: Sequence[Transfer], *, at: datetime, cause: str) -> None:
        for transfer in transfers:
            self._pending.setdefault(transfer.id, _Booking(transfer, at, cause[:200]))

    async def balance(self, account: str) -> int:
        await self.flush()
        stored = await self._session.execute(
            select(ledger_accounts.c.balance_cents).where(ledger_accounts.c.account == account)
        )
        return int(stored.scalar_one_or_none() or 0)

    async def transfer_ids(self, call_id: str) -> list[str]:
        await self.flush()
        t = ledger_transfers
        rows = await self._session.execute(
            select(t.c.transfer_id).where(t.c.call_id == call_id).order_by(t.c.position)
        )
        return list(rows.scalars())

    async def flush(self) -> None:
        """Three statements however many transfers: the transfers not booked before (the id's
        unique index decides, returning their positions), their entries, and one balance
        update per touched account."""
        bookings, self._pending = list(self._pending.values()), {}
        if not bookings:
            return
        inserted = await insert_rows(
            self._session,
            ledger_transfers,
            [_transfer_row(b) for b in bookings],
            skip_conflicts_on=["transfer_id"],
            returning=["transfer_id", "position"],
        )
        assert inserted is not None
        positions: dict[str, int] = dict(inserted.tuples().all())
        new = [b.transfer for b in bookings if b.transfer.id in positions]
        if not new:
            return
        await insert_rows(
            self._session,
            ledger_entries,
            [
                {"transfer_position": positions[t.id], "account": account, "amount_cents": amount}
                for t in new
                for account, amount in t.entries()
            ],
        )
        deltas: dict[str, tuple[str, int]] = {}
        for t in new:
            for account, amount in t.entries():
                _, so_far = deltas.get(account, (t.call_id, 0))
                deltas[account] = (t.call_id, so_far + amount)
        await _add_to_balances(self._session, deltas)


def _transfer_row(booking: _Booking) -> dict[str, Any]:
    t = booking.transfer
    return {
        "transfer_id": t.id,
        "kind": t.kind,
        "call_id": t.call_id,
        "team_id": t.team_id,
        "expense_id": t.expense_id,
        "from_account": t.from_account,
        "to_account": t.to_account,
        "amount_cents": t.amount_cents,
        "booked_at": booking.at,
        "cause": booking.cause,
    }


async def _add_to_balances(session: AsyncSession, deltas: dict[str, tuple[str, int]]) -> None:
    # Sorted: every writer locks the balance rows it touches in the same order.
    await insert_rows(
        session,
        ledger_accounts,
        [
            {"account": account, "call_id": call_id, "balance_cents": amount}
            for account, (call_id, amount) in sorted(deltas.items())
        ],
        add_on_conflict=("account", ["balance_cents"]),
    )


@dataclass(frozen=True)
class Reconciliation:
    """The result of checking the books; ``problems`` is empty when they are in order."""

    accounts: int
    transfers: int
    imbalance_cents: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


async def reconcile(session: AsyncSession) -> Reconciliation:
    """Every balance equals the sum of its entries, every transfer nets to zero, the books
    balance to zero, and the teams' and pots' figures agree with their accounts.

    Given a fresh session, it reads from one snapshot on PostgreSQL (REPEATABLE READ): under
    READ COMMITTED each statement would see other commits, and books that balance at rest
    would look off while expenses are being booked.
    """
    if session.bind.dialect.name == "postgresql" and not session.in_transaction():
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    problems: list[str] = []
    entry_sums = await session.execute(
        select(ledger_entries.c.account, func.sum(ledger_entries.c.amount_cents)).group_by(
            ledger_entries.c.account
        )
    )
    sums: dict[str, Any] = {account: total for account, total in entry_sums.all()}
    stored = await session.execute(
        select(ledger_accounts.c.account, ledger_accounts.c.balance_cents)
    )
    balances: dict[str, Any] = {account: balance for account, balance in stored.all()}
    for account in sorted(set(sums) | set(balances)):
        if int(sums.get(account) or 0) != int(balances.get(account) or 0):
            problems.append(
                f"account {account}: balance {balances.get(account)} != entries {sums.get(account)}"
            )
    unbalanced = (
        (
            await session.execute(
                select(ledger_entries.c.transfer_position)
                .group_by(ledger_entries.c.transfer_position)
                .having(func.sum(ledger_entries.c.amount_cents) != 0)
            )
        )
        .scalars()
        .all()
    )
    problems.extend(f"transfer at position {p} does not net to zero" for p in unbalanced)
    imbalance = int(sum(int(v) for v in balances.values()))
    if imbalance:
        problems.append(f"the books are off by {imbalance} cents")
    problems.extend(await _figures_match_accounts(session, balances))
    transfers = (
        await session.execute(select(func.count()).select_from(ledger_transfers))
    ).scalar_one()
    return Reconciliation(len(balances), int(transfers), imbalance, tuple(problems))


async def _figures_match_accounts(session: AsyncSession, balances: dict[str, Any]) -> list[str]:
    problems = []
    for row in (await session.execute(select(team_budgets))).all():
        if row.status not in ("allocated", "closed"):
            continue
        expected = {
            ledger.reserved(row.team_id): row.reserved_cents,
            ledger.released(row.team_id): row.available_cents,
            ledger.pending(row.team_id): row.pending_cents,
            ledger.spent(row.team_id): row.approved_cents - row.paid_cents,
            ledger.paid(row.team_id): row.paid_cents,
        }
        for account, figure in expected.items():
            if int(balances.get(account) or 0) != figure:
                problems.append(
                    f"team {row.team_id}: {account} is {balances.get(account) or 0}, "
                    f"the team's figure says {figure}"
                )
    for row in (await session.execute(select(pots))).all():
        if int(balances.get(ledger.pot(row.call_id)) or 0) != row.available_cents:
            problems.append(f"call {row.call_id}: pot account disagrees with available")
    return problems
