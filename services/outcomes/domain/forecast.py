"""How a team's spending runs against its plan, and what will likely be left at its end.

The expected curve is linear from the team's acceptance to the due day of its last milestone:
by the plan's half, half the allocated money is expected to be approved. The forecast carries
the team's own pace so far to the plan's end. All in whole cents and days: no float.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ON_TRACK, AHEAD, BEHIND = "on_track", "ahead", "behind"
# How far spending may stray from the expected curve, as a share of what is expected by now,
# before a team counts as ahead of or behind its plan.
DEFAULT_TOLERANCE_PERCENT = 25


@dataclass(frozen=True)
class Forecast:
    as_of: date
    starts_on: date
    ends_on: date
    allocated_cents: int
    spent_cents: int
    expected_by_now_cents: int
    forecast_unspent_at_end_cents: int
    status: str


def forecast(
    *,
    allocated_cents: int,
    spent_cents: int,
    starts_on: date,
    ends_on: date,
    today: date,
    tolerance_percent: int = DEFAULT_TOLERANCE_PERCENT,
) -> Forecast:
    total_days = max((ends_on - starts_on).days, 1)
    elapsed = min(max((today - starts_on).days, 0), total_days)
    expected = allocated_cents * elapsed // total_days
    if elapsed == 0:
        likely_spent = allocated_cents  # no pace to go by yet: the plan stands
    elif elapsed == total_days:
        likely_spent = spent_cents
    else:
        likely_spent = spent_cents * total_days // elapsed
    unspent = max(allocated_cents - min(likely_spent, allocated_cents), 0)
    return Forecast(
        as_of=today,
        starts_on=starts_on,
        ends_on=ends_on,
        allocated_cents=allocated_cents,
        spent_cents=spent_cents,
        expected_by_now_cents=expected,
        forecast_unspent_at_end_cents=unspent,
        status=_status(spent_cents, expected, tolerance_percent),
    )


def _status(spent: int, expected: int, tolerance_percent: int) -> str:
    if expected == 0:
        return ON_TRACK
    # spent/expected beyond 1 ± tolerance, compared in integers.
    if spent * 100 > expected * (100 + tolerance_percent):
        return AHEAD
    if spent * 100 < expected * (100 - tolerance_percent):
        return BEHIND
    return ON_TRACK
