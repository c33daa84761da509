"""The final statement from ledger bookings: what counts by the end of a day in Saxony, the
tolerance on overspending, and payouts the bank returned."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from services.budget.domain.budgets import ALLOCATED
from services.budget.domain.cost_plans import IN_FORCE, CostPlan
from services.budget.domain.final_statement import (
    Booking,
    FinalStatement,
    StatementLine,
    end_of_day,
    statement,
)
from tests.unit.budget.test_budgets import a_team

TEAM = replace(a_team(), status=ALLOCATED)
PLAN = CostPlan(
    team_id="t1", call_id="c1", version=1, lines=(("travel", 1_000_00), ("other", 9_000_00)),
    reason="Plan", proposed_by="s", proposed_at=datetime(2024, 9, 1, tzinfo=UTC),
    status=IN_FORCE, decided_by="s", decided_at=datetime(2024, 9, 1, tzinfo=UTC),
)  # fmt: skip


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2024, 10, day, hour, tzinfo=UTC)


BOOKINGS = [
    Booking("allocate:t1", "allocated", 10_000_00, at(1)),
    Booking("release:t1:acceptance", "tranche_released", 4_000_00, at(1)),
    Booking("expense-approved:e1", "expense_approved", 1_200_00, at(2), "travel"),
    Booking("expense-approved:e2", "expense_approved", 300_00, at(2), "other"),
    Booking("expense-reversed:e2", "expense_reversed", 300_00, at(3), "other"),
    Booking("payment-paid:p1", "payment_paid", 1_200_00, at(4)),
    Booking("payment-returned:p1", "payment_returned", 1_200_00, at(5)),
    # 23:30 UTC on the 5th is already the 6th in Saxony.
    Booking("release:t1:prototype", "tranche_released", 4_000_00, at(5, 23)),
]


def on(day: int) -> FinalStatement:
    return statement(
        TEAM, as_of=date(2024, 10, day), bookings=BOOKINGS, plans=[PLAN], tolerance_percent=20
    )


def test_a_day_ends_at_midnight_in_saxony() -> None:
    assert end_of_day(date(2024, 10, 5)) == datetime(2024, 10, 5, 21, 59, 59, 999999, tzinfo=UTC)


def test_each_day_shows_what_was_booked_by_its_end() -> None:
    second, fourth, fifth, sixth = on(2), on(4), on(5), on(6)
    assert second.approved_cents == 1_500_00
    assert fourth.approved_cents == 1_200_00
    assert fourth.paid_cents == 1_200_00
    assert fifth.paid_cents == 0
    assert fifth.tranches_received_cents == 4_000_00
    assert sixth.tranches_received_cents == 8_000_00
    assert sixth.unspent_cents == 8_800_00


def test_overspending_a_line_by_more_than_the_tolerance_is_flagged() -> None:
    travel = StatementLine("travel", 1_000_00, 1_200_00, 20)
    assert (travel.deviation_cents, travel.within_tolerance) == (200_00, True)
    assert StatementLine("travel", 1_000_00, 1_200_01, 20).within_tolerance is False
    assert StatementLine("other", 9_000_00, 0, 20).within_tolerance is True


def test_no_plan_in_force_yet_leaves_the_plan_columns_empty() -> None:
    early = statement(
        TEAM, as_of=date(2024, 8, 31), bookings=BOOKINGS, plans=[PLAN], tolerance_percent=20
    )
    assert early.plan is None
    assert early.lines == ()
