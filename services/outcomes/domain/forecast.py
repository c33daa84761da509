"""How a team's spending runs against its plan, and what will likely be left at its end.

The expected curve follows the money. Budget releases a call's tranches in plan order (40 %
on acceptance, 40 % on the prototype, 20 % on the final milestone by default), and spending
can be approved only against released money, so each tranche is expected to be spent evenly
from the day it is due to be released until the next tranche is due: the acceptance tranche
from the start of the plan (the allocation's day) to the next money milestone's due day, a
milestone's tranche from its due day to the next one's, the last tranche to the plan's end
(its last milestone's due day) or, when it is released at the plan's end, over the call's
settlement period after it (costs count until then). Due days are the latest reschedules';
a stretch whose end came before its start (a milestone rescheduled before an earlier one) is
expected at once. The curve is a sum of such stretches, piecewise linear.

A milestone waived by staff is done for the tranches after it but releases nothing of its own
(budget's rule: a tranche whose trigger is a waived milestone's key is never released, until a
reopen makes the milestone count again). Its tranche is not expected to be spent: it leaves the
curve (the tranche before it runs on until the next tranche not waived) and the total expected
(its amount is budget's: the call's cumulative percentages of the total, floored, in the call's
order), while the forecast counts its money as unspent at the end, since it goes back.

The total is the team's cost plan in force (its lines sum to the allocation), else the
allocation, less what waived milestones' tranches hold back; each cost plan line follows the
same curve for its planned amount, less its waived share likewise. The forecast
carries the team's pace against its curve to the end: a team that has spent 80 % of what was
expected by now is expected to spend 80 % of its money. Shares are exact fractions, amounts
whole cents (floored), days whole days: no floating point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from services.outcomes.domain.costs import line_order

ON_TRACK, AHEAD, BEHIND = "on_track", "ahead", "behind"
# How far spending may stray from the expected curve, as a share of what is expected by now,
# before a team counts as ahead of or behind its plan.
DEFAULT_TOLERANCE_PERCENT = 25
# The call's costs count this many days after the plan's end (intake's default).
DEFAULT_SETTLEMENT_DAYS = 90


@dataclass(frozen=True)
class Tranche:
    milestone: str | None  # None: released on acceptance
    percent: int


# The programme's default tranche plan, for calls known before outcomes kept theirs.
DEFAULT_TRANCHES = (Tranche(None, 40), Tranche("prototype", 40), Tranche("final", 20))


@dataclass(frozen=True)
class Milestone:
    key: str
    due_on: date


@dataclass(frozen=True)
class Stretch:
    """A share of the money (``percent``) expected to be spent evenly between two days."""

    percent: int
    starts_on: date
    ends_on: date

    def elapsed(self, today: date) -> Fraction:
        if today >= self.ends_on:
            return Fraction(1)
        if today <= self.starts_on:
            return Fraction(0)
        return Fraction((today - self.starts_on).days, (self.ends_on - self.starts_on).days)


@dataclass(frozen=True)
class Curve:
    stretches: tuple[Stretch, ...]
    plan_ends_on: date
    # The call's tranche plan in its order and the keys of the milestones waived: their
    # tranches are not on the curve, and their money is not expected to be spent.
    tranches: tuple[Tranche, ...] = ()
    waived: frozenset[str] = frozenset()

    @property
    def starts_on(self) -> date:
        return min(s.starts_on for s in self.stretches)

    @property
    def ends_on(self) -> date:
        return max(s.ends_on for s in self.stretches)

    def share(self, today: date) -> Fraction:
        """The part of the money expected to be spent by the end of ``today``, 0 to 1."""
        total = sum(s.percent for s in self.stretches)
        if not total:
            return Fraction(1)  # every tranche waived: nothing is expected, now or later
        return sum((s.percent * s.elapsed(today) for s in self.stretches), Fraction(0)) / total

    def waived_cents(self, total_cents: int) -> int:
        """What the waived milestones' tranches hold back of ``total_cents``, as budget
        counts a tranche: cumulative percentages of the call's plan, floored, in its order."""
        held_back, cumulative_percent, so_far = 0, 0, 0
        for tranche in self.tranches:
            cumulative_percent += tranche.percent
            cumulative = total_cents * cumulative_percent // 100
            if tranche.milestone is not None and tranche.milestone in self.waived:
                held_back += cumulative - so_far
            so_far = cumulative
        return held_back


def expected_curve(
    tranches: Sequence[Tranche],
    milestones: Sequence[Milestone],
    *,
    starts_on: date,
    settlement_days: int = DEFAULT_SETTLEMENT_DAYS,
    waived: frozenset[str] = frozenset(),
) -> Curve:
    """The curve of a plan starting ``starts_on`` with ``milestones`` in plan order, without
    the tranches of the milestones ``waived`` (their keys)."""
    assert milestones, "a plan has at least its final milestone"
    assert tranches, "a call releases its money in at least one tranche"
    kept = [t for t in tranches if t.milestone is None or t.milestone not in waived]
    order = [m.key for m in milestones]
    due = {m.key: m.due_on for m in milestones}
    plan_ends_on = max(due.values())

    def released(tranche: Tranche) -> tuple[int, date]:
        if tranche.milestone is None:
            return -1, starts_on
        if tranche.milestone in due:
            return order.index(tranche.milestone), due[tranche.milestone]
        return len(order), plan_ends_on  # a milestone the plan lacks: with the plan's end

    in_order = sorted(kept, key=released)
    stretches = []
    for n, tranche in enumerate(in_order):
        _, day = released(tranche)
        if n + 1 < len(in_order):
            until = released(in_order[n + 1])[1]
        elif day < plan_ends_on:
            until = plan_ends_on
        else:
            until = day + timedelta(days=settlement_days)
        stretches.append(Stretch(tranche.percent, day, max(day, until)))
    if not stretches:  # every tranche waived: nothing to spend from the start to the end
        stretches.append(Stretch(0, starts_on, max(starts_on, plan_ends_on)))
    return Curve(tuple(stretches), plan_ends_on, tuple(tranches), frozenset(waived))


@dataclass(frozen=True)
class LineForecast:
    position: str
    planned_cents: int
    spent_cents: int
    expected_by_now_cents: int
    forecast_unspent_at_end_cents: int


@dataclass(frozen=True)
class Forecast:
    as_of: date
    starts_on: date
    ends_on: date  # the curve's end: the plan's end, or the settlement period's
    plan_ends_on: date
    allocated_cents: int
    planned_cents: int  # what the curve is drawn for: the cost plan's total, or the allocation
    # Of it, what waived milestones' tranches hold back: not expected, unspent at the end.
    waived_cents: int
    spent_cents: int
    expected_by_now_cents: int
    forecast_unspent_at_end_cents: int
    status: str
    lines: tuple[LineForecast, ...]


def forecast(
    curve: Curve,
    *,
    allocated_cents: int,
    cost_plan: Mapping[str, int] | None,
    spent_by_line: Mapping[str, int],
    today: date,
    tolerance_percent: int = DEFAULT_TOLERANCE_PERCENT,
) -> Forecast:
    """Where the team's spending stands against ``curve`` on ``today``; per cost plan line
    too (a line spent on but not planned shows with nothing planned), no lines without one.
    What waived milestones' tranches hold back is neither expected nor forecast to be spent:
    it is unspent at the end, whatever the pace."""
    share = curve.share(today)
    spent = sum(spent_by_line.values())
    planned = sum(cost_plan.values()) if cost_plan is not None else allocated_cents
    waived = curve.waived_cents(planned)
    expected = _expected(planned - waived, share)
    lines: list[LineForecast] = []
    if cost_plan is not None:
        positions = set(cost_plan) | {p for p, c in spent_by_line.items() if c}
        for position in sorted(positions, key=line_order):
            line_planned = cost_plan.get(position, 0)
            line_waived = curve.waived_cents(line_planned)
            line_spent = spent_by_line.get(position, 0)
            lines.append(
                LineForecast(
                    position=position,
                    planned_cents=line_planned,
                    spent_cents=line_spent,
                    expected_by_now_cents=_expected(line_planned - line_waived, share),
                    forecast_unspent_at_end_cents=line_waived
                    + _unspent(line_planned - line_waived, line_spent, share),
                )
            )
    return Forecast(
        as_of=today,
        starts_on=curve.starts_on,
        ends_on=curve.ends_on,
        plan_ends_on=curve.plan_ends_on,
        allocated_cents=allocated_cents,
        planned_cents=planned,
        waived_cents=waived,
        spent_cents=spent,
        expected_by_now_cents=expected,
        forecast_unspent_at_end_cents=waived + _unspent(planned - waived, spent, share),
        status=_status(spent, expected, tolerance_percent),
        lines=tuple(lines),
    )


def _expected(planned_cents: int, share: Fraction) -> int:
    return planned_cents * share.numerator // share.denominator


def _unspent(planned_cents: int, spent_cents: int, share: Fraction) -> int:
    if share == 0:
        likely_spent = planned_cents  # no pace to go by yet: the plan stands
    elif share == 1:
        likely_spent = spent_cents  # the curve has ended: what was spent is final
    else:
        likely_spent = spent_cents * share.denominator // share.numerator
    return max(planned_cents - likely_spent, 0)


def _status(spent: int, expected: int, tolerance_percent: int) -> str:
    if expected == 0:
        return ON_TRACK
    # spent/expected beyond 1 ± tolerance, compared in integers.
    if spent * 100 > expected * (100 + tolerance_percent):
        return AHEAD
    if spent * 100 < expected * (100 - tolerance_percent):
        return BEHIND
    return ON_TRACK
