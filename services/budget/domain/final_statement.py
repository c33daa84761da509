"""The final statement (zahlenmäßiger Verwendungsnachweis) of a team, as of a day.

Every figure comes from the ledger's transfers booked up to the end of that day (in Saxony)
and from the cost plan then in force, so the statement of a past day reads the same however
often, and whenever, it is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from services.budget.domain.budgets import TeamBudget
from services.budget.domain.calendar import BERLIN
from services.budget.domain.cost_plans import CostPlan, in_force_on
from services.budget.domain.expenses import POSITIONS


@dataclass(frozen=True)
class Booking:
    """One ledger transfer of the team, with the budget line of its expense if it has one."""

    transfer_id: str
    kind: str
    amount_cents: int
    booked_at: datetime
    position: str | None = None


@dataclass(frozen=True)
class StatementLine:
    position: str
    planned_cents: int | None  # None: no cost plan was in force
    approved_cents: int
    tolerance_percent: int

    @property
    def deviation_cents(self) -> int | None:
        return None if self.planned_cents is None else self.approved_cents - self.planned_cents

    @property
    def within_tolerance(self) -> bool | None:
        """Spending beyond the planned amount by at most the call's tolerance; spending less
        is always within (the unspent money goes back)."""
        if self.planned_cents is None:
            return None
        over = self.approved_cents - self.planned_cents
        return over * 100 <= self.planned_cents * self.tolerance_percent


@dataclass(frozen=True)
class Tranche:
    trigger: str
    amount_cents: int
    released_on: date


@dataclass(frozen=True)
class Payout:
    request_id: str
    amount_cents: int
    paid_on: date  # the day finance booked it; the bank's value date is on the request


@dataclass(frozen=True)
class FinalStatement:
    team: TeamBudget
    as_of: date
    plan: CostPlan | None
    lines: tuple[StatementLine, ...]
    allocated_cents: int
    tranches: tuple[Tranche, ...]
    payouts: tuple[Payout, ...]

    @property
    def approved_cents(self) -> int:
        return sum(line.approved_cents for line in self.lines)

    @property
    def tranches_received_cents(self) -> int:
        return sum(t.amount_cents for t in self.tranches)

    @property
    def paid_cents(self) -> int:
        return sum(p.amount_cents for p in self.payouts)

    @property
    def unspent_cents(self) -> int:
        """Of the allocation, what no approved expense used: it goes back to the call's pot."""
        return self.allocated_cents - self.approved_cents

    @property
    def approved_unpaid_cents(self) -> int:
        """Approved but not yet paid out: still owed to the team."""
        return self.approved_cents - self.paid_cents


def end_of_day(day: date) -> datetime:
    """The last moment of ``day`` in Saxony: what was booked by then counts."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=BERLIN) - timedelta(
        microseconds=1
    )


def statement(
    team: TeamBudget,
    *,
    as_of: date,
    bookings: Sequence[Booking],
    plans: Sequence[CostPlan],
    tolerance_percent: int,
) -> FinalStatement:
    cutoff = end_of_day(as_of)
    booked = [b for b in bookings if b.booked_at <= cutoff]
    approved = dict.fromkeys(POSITIONS, 0)
    allocated = 0
    tranches: list[Tranche] = []
    paid: dict[str, Payout] = {}
    for b in booked:
        day = b.booked_at.astimezone(BERLIN).date()
        if b.kind == "allocated":
            allocated += b.amount_cents
        elif b.kind == "tranche_released":
            tranches.append(Tranche(b.transfer_id.rsplit(":", 1)[-1], b.amount_cents, day))
        elif b.kind == "expense_approved" and b.position:
            approved[b.position] += b.amount_cents
        elif b.kind == "expense_reversed" and b.position:
            approved[b.position] -= b.amount_cents
        elif b.kind == "payment_paid":
            request_id = b.transfer_id.split(":", 1)[1]
            paid[request_id] = Payout(request_id, b.amount_cents, day)
        elif b.kind == "payment_returned":
            paid.pop(b.transfer_id.split(":", 1)[1], None)
    plan = in_force_on(plans, cutoff)
    lines = tuple(
        StatementLine(
            position,
            None if plan is None else plan.planned(position),
            approved[position],
            tolerance_percent,
        )
        for position in POSITIONS
        if approved[position] or (plan is not None and plan.planned(position))
    )
    return FinalStatement(
        team=team,
        as_of=as_of,
        plan=plan,
        lines=lines,
        allocated_cents=allocated,
        tranches=tuple(tranches),
        payouts=tuple(paid.values()),
    )
