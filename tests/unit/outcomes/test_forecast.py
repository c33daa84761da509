"""A team's burn rate: spending against the linear plan curve, and what its pace leaves."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.outcomes.domain.forecast import AHEAD, BEHIND, ON_TRACK, forecast

START = date(2025, 1, 1)
END = START + timedelta(days=200)


def at(day: int, spent: int, allocated: int = 40_000_00) -> tuple[int, int, str]:
    f = forecast(
        allocated_cents=allocated,
        spent_cents=spent,
        starts_on=START,
        ends_on=END,
        today=START + timedelta(days=day),
    )
    return f.expected_by_now_cents, f.forecast_unspent_at_end_cents, f.status


@pytest.mark.parametrize(
    ("day", "spent", "expected"),
    [
        (0, 0, (0, 0, ON_TRACK)),  # no pace yet: the plan stands
        (100, 20_000_00, (20_000_00, 0, ON_TRACK)),
        (100, 15_000_01, (20_000_00, 9_999_98, ON_TRACK)),  # just within 25 %
        (100, 14_999_99, (20_000_00, 10_000_02, BEHIND)),
        (100, 25_000_01, (20_000_00, 0, AHEAD)),  # its pace would spend it all before the end
        (50, 2_000_00, (10_000_00, 32_000_00, BEHIND)),
        (250, 31_000_00, (40_000_00, 9_000_00, ON_TRACK)),  # over: what was spent is final
        (-5, 0, (0, 0, ON_TRACK)),  # before the start
    ],
)
def test_expected_forecast_and_status(day: int, spent: int, expected: tuple[int, int, str]) -> None:
    assert at(day, spent) == expected


def test_a_tighter_tolerance_flags_sooner() -> None:
    f = forecast(
        allocated_cents=10_000_00,
        spent_cents=4_500_00,
        starts_on=START,
        ends_on=END,
        today=START + timedelta(days=100),
        tolerance_percent=5,
    )
    assert f.status == BEHIND
