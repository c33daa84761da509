"""A team's burn rate: spending against the curve of its tranche and phase plans, per cost plan
line, and what its pace leaves unspent."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.outcomes.domain.forecast import (
    AHEAD,
    BEHIND,
    DEFAULT_TRANCHES,
    ON_TRACK,
    Curve,
    Milestone,
    Stretch,
    Tranche,
    expected_curve,
    forecast,
)

START = date(2025, 1, 1)
END = START + timedelta(days=200)
ALL_AT_ONCE = (Tranche(None, 100),)


def day(n: int) -> date:
    return START + timedelta(days=n)


def one_stretch() -> Curve:
    """All the money on acceptance, one milestone: a straight line to its due day."""
    return expected_curve(ALL_AT_ONCE, [Milestone("final", END)], starts_on=START)


# The programme default: 40 % on acceptance, 40 % on the prototype, 20 % on the final one.
DEFAULT_PLAN = [
    Milestone("kickoff", day(14)),
    Milestone("workshop", day(42)),
    Milestone("prototype", day(120)),
    Milestone("test", day(150)),
    Milestone("final", day(180)),
]


def at(n: int, spent: int, allocated: int = 40_000_00) -> tuple[int, int, str]:
    f = forecast(
        one_stretch(),
        allocated_cents=allocated,
        cost_plan=None,
        spent_by_line={"personnel": spent},
        today=day(n),
    )
    return f.expected_by_now_cents, f.forecast_unspent_at_end_cents, f.status


@pytest.mark.parametrize(
    ("n", "spent", "expected"),
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
def test_one_tranche_is_a_straight_line(n: int, spent: int, expected: tuple[int, int, str]) -> None:
    assert at(n, spent) == expected


def test_a_tighter_tolerance_flags_sooner() -> None:
    f = forecast(
        one_stretch(),
        allocated_cents=10_000_00,
        cost_plan=None,
        spent_by_line={"personnel": 4_500_00},
        today=day(100),
        tolerance_percent=5,
    )
    assert f.status == BEHIND


class TestTheCurveFollowsTheMoney:
    def test_each_tranche_is_spent_until_the_next_one_and_the_last_in_settlement(self) -> None:
        curve = expected_curve(DEFAULT_TRANCHES, DEFAULT_PLAN, starts_on=START, settlement_days=90)

        assert curve.stretches == (
            Stretch(40, START, day(120)),  # acceptance until the prototype's tranche
            Stretch(40, day(120), day(180)),  # prototype until the final one's
            Stretch(20, day(180), day(270)),  # released at the plan's end: settlement
        )
        assert (curve.starts_on, curve.plan_ends_on, curve.ends_on) == (START, day(180), day(270))

    @pytest.mark.parametrize(
        ("n", "expected_cents"),
        [
            (0, 0),
            (60, 20_000_00),  # half of the first 40 %
            (120, 40_000_00),
            (150, 60_000_00),  # half of the second 40 %
            (180, 80_000_00),
            (225, 90_000_00),
            (270, 100_000_00),
            (400, 100_000_00),
        ],
    )
    def test_expected_by_now_is_piecewise_linear(self, n: int, expected_cents: int) -> None:
        curve = expected_curve(DEFAULT_TRANCHES, DEFAULT_PLAN, starts_on=START, settlement_days=90)
        f = forecast(
            curve, allocated_cents=100_000_00, cost_plan=None, spent_by_line={}, today=day(n)
        )
        assert f.expected_by_now_cents == expected_cents

    def test_a_rescheduled_milestone_moves_its_stretches(self) -> None:
        later = [
            m if m.key != "prototype" else Milestone("prototype", day(160)) for m in DEFAULT_PLAN
        ]
        curve = expected_curve(DEFAULT_TRANCHES, later, starts_on=START, settlement_days=90)

        assert curve.stretches[:2] == (
            Stretch(40, START, day(160)),
            Stretch(40, day(160), day(180)),
        )
        f = forecast(
            curve,
            allocated_cents=100_000_00,
            cost_plan=None,
            spent_by_line={"material": 30_000_00},
            today=day(120),
        )
        # 40 % x 120/160 = 30 % by now: a team that spent 30 % is on track again.
        assert (f.expected_by_now_cents, f.status) == (30_000_00, ON_TRACK)

    def test_a_milestone_rescheduled_before_an_earlier_one_is_expected_at_once(self) -> None:
        tranches = (Tranche(None, 50), Tranche("test", 30), Tranche("final", 20))
        plan = [Milestone("test", day(100)), Milestone("final", day(80))]

        curve = expected_curve(tranches, plan, starts_on=START, settlement_days=0)

        assert curve.stretches == (
            Stretch(50, START, day(100)),
            Stretch(30, day(100), day(100)),  # the next tranche is due before: at once
            Stretch(20, day(80), day(100)),  # before the plan's end (its latest day): to it
        )
        assert curve.share(day(99)) < 1
        assert curve.share(day(100)) == 1

    def test_without_settlement_days_the_last_tranche_is_expected_on_the_last_due_day(
        self,
    ) -> None:
        curve = expected_curve(DEFAULT_TRANCHES, DEFAULT_PLAN, starts_on=START, settlement_days=0)
        assert curve.stretches[-1] == Stretch(20, day(180), day(180))
        assert curve.ends_on == day(180)

    def test_a_last_tranche_before_the_plans_end_runs_to_its_end(self) -> None:
        tranches = (Tranche(None, 60), Tranche("prototype", 40))
        curve = expected_curve(tranches, DEFAULT_PLAN, starts_on=START, settlement_days=90)
        assert curve.stretches == (Stretch(60, START, day(120)), Stretch(40, day(120), day(180)))


class TestTheForecast:
    curve = expected_curve(DEFAULT_TRANCHES, DEFAULT_PLAN, starts_on=START, settlement_days=90)

    def test_cost_plan_lines_follow_the_curve_in_whole_cents(self) -> None:
        f = forecast(
            self.curve,
            allocated_cents=100_000_00,
            cost_plan={"travel": 1_000_01, "personnel": 60_000_00, "material": 38_999_99},
            spent_by_line={"personnel": 10_000_00, "travel": 333_33},
            today=day(60),  # 20 % expected
        )

        assert f.planned_cents == 100_000_00
        assert [
            (x.position, x.planned_cents, x.spent_cents, x.expected_by_now_cents) for x in f.lines
        ] == [
            ("personnel", 60_000_00, 10_000_00, 12_000_00),
            ("material", 38_999_99, 0, 7_799_99),
            ("travel", 1_000_01, 333_33, 200_00),
        ]
        # Each line's pace carried to the end: 5 times what it spent by a fifth of the curve.
        assert [x.forecast_unspent_at_end_cents for x in f.lines] == [10_000_00, 38_999_99, 0]
        assert all(isinstance(x.forecast_unspent_at_end_cents, int) for x in f.lines)
        # The team's figure is its total's pace: a line ahead does not fill another's gap less.
        assert f.spent_cents == 10_333_33
        assert f.forecast_unspent_at_end_cents == 100_000_00 - 10_333_33 * 5

    def test_the_cost_plan_is_the_total(self) -> None:
        f = forecast(
            self.curve,
            allocated_cents=100_000_00,
            cost_plan={"personnel": 80_000_00},
            spent_by_line={},
            today=day(120),
        )
        assert (f.allocated_cents, f.planned_cents, f.expected_by_now_cents) == (
            100_000_00,
            80_000_00,
            32_000_00,
        )

    def test_without_a_cost_plan_the_allocation_is_the_total_and_there_are_no_lines(
        self,
    ) -> None:
        f = forecast(
            self.curve,
            allocated_cents=50_000_00,
            cost_plan=None,
            spent_by_line={"personnel": 10_000_00},
            today=day(120),
        )
        assert (f.planned_cents, f.expected_by_now_cents, f.lines) == (50_000_00, 20_000_00, ())
        assert (f.forecast_unspent_at_end_cents, f.status) == (25_000_00, BEHIND)

    def test_a_line_spent_on_but_not_planned_shows_with_nothing_planned(self) -> None:
        f = forecast(
            self.curve,
            allocated_cents=10_000_00,
            cost_plan={"personnel": 10_000_00},
            spent_by_line={"other": 500_00},
            today=day(120),
        )
        assert [
            (x.position, x.planned_cents, x.forecast_unspent_at_end_cents) for x in f.lines
        ] == [
            ("personnel", 10_000_00, 10_000_00),
            ("other", 0, 0),
        ]

    def test_nothing_spent_leaves_everything_unspent(self) -> None:
        f = forecast(
            self.curve,
            allocated_cents=100_000_00,
            cost_plan={"personnel": 100_000_00},
            spent_by_line={},
            today=day(30),
        )
        assert (f.spent_cents, f.expected_by_now_cents, f.status) == (0, 10_000_00, BEHIND)
        assert f.forecast_unspent_at_end_cents == 100_000_00
        assert f.lines[0].forecast_unspent_at_end_cents == 100_000_00

    def test_after_the_curve_ended_what_was_spent_is_final(self) -> None:
        f = forecast(
            self.curve,
            allocated_cents=100_000_00,
            cost_plan={"personnel": 70_000_00, "material": 30_000_00},
            spent_by_line={"personnel": 71_000_00, "material": 10_000_00},
            today=day(300),
        )
        assert (f.expected_by_now_cents, f.forecast_unspent_at_end_cents, f.status) == (
            100_000_00,
            19_000_00,
            ON_TRACK,
        )
        assert [x.forecast_unspent_at_end_cents for x in f.lines] == [0, 20_000_00]

    def test_on_the_first_day_the_plan_stands(self) -> None:
        f = forecast(
            self.curve,
            allocated_cents=100_000_00,
            cost_plan={"personnel": 100_000_00},
            spent_by_line={},
            today=START,
        )
        assert (f.expected_by_now_cents, f.forecast_unspent_at_end_cents, f.status) == (
            0,
            0,
            ON_TRACK,
        )


class TestAWaivedMilestone:
    """Budget never releases a waived milestone's tranche: it is not expected to be spent, and
    its money is unspent at the end."""

    def test_its_tranche_leaves_the_curve_and_the_one_before_runs_on(self) -> None:
        curve = expected_curve(
            DEFAULT_TRANCHES, DEFAULT_PLAN, starts_on=START, waived=frozenset({"prototype"})
        )

        assert curve.stretches == (
            Stretch(40, START, day(180)),  # acceptance until the next money: the final one's
            Stretch(20, day(180), day(270)),
        )
        assert (curve.starts_on, curve.plan_ends_on, curve.ends_on) == (START, day(180), day(270))

    def test_a_waived_last_tranche_leaves_the_one_before_to_run_to_the_plans_end(self) -> None:
        curve = expected_curve(
            DEFAULT_TRANCHES, DEFAULT_PLAN, starts_on=START, waived=frozenset({"final"})
        )

        assert curve.stretches == (Stretch(40, START, day(120)), Stretch(40, day(120), day(180)))
        assert curve.ends_on == day(180)  # no settlement period: nothing comes at the end

    def test_its_money_is_not_expected_but_unspent_at_the_end(self) -> None:
        curve = expected_curve(
            DEFAULT_TRANCHES, DEFAULT_PLAN, starts_on=START, waived=frozenset({"prototype"})
        )

        f = forecast(
            curve,
            allocated_cents=100_000_00,
            cost_plan=None,
            spent_by_line={"personnel": 18_000_00},
            today=day(90),
        )

        # 60,000.00 EUR expected in all; a third of it by now (40 of 60 % over 180 days, half).
        assert (f.planned_cents, f.waived_cents) == (100_000_00, 40_000_00)
        assert (f.expected_by_now_cents, f.status) == (20_000_00, ON_TRACK)
        # Its pace spends 54,000.00 EUR of the 60,000.00; the waived 40,000.00 go back too.
        assert f.forecast_unspent_at_end_cents == 40_000_00 + 6_000_00

    def test_a_team_on_its_reduced_plan_is_behind_while_the_milestone_counts(self) -> None:
        f = forecast(
            expected_curve(DEFAULT_TRANCHES, DEFAULT_PLAN, starts_on=START),
            allocated_cents=100_000_00,
            cost_plan=None,
            spent_by_line={"personnel": 18_000_00},
            today=day(90),
        )
        # Reopened (or never waived): its tranche is expected again.
        assert (f.waived_cents, f.expected_by_now_cents, f.status) == (0, 30_000_00, BEHIND)

    def test_its_amount_is_budgets_cumulative_and_floored(self) -> None:
        for waived, cents in (("prototype", 40_000), ("final", 20_001)):
            curve = expected_curve(
                DEFAULT_TRANCHES, DEFAULT_PLAN, starts_on=START, waived=frozenset({waived})
            )
            # Budget: 40 % of 100,001 cents floored, 80 % floored less that, the rest.
            assert curve.waived_cents(100_001) == cents

    def test_each_cost_plan_line_holds_back_its_share(self) -> None:
        curve = expected_curve(
            DEFAULT_TRANCHES, DEFAULT_PLAN, starts_on=START, waived=frozenset({"prototype"})
        )

        f = forecast(
            curve,
            allocated_cents=100_000_00,
            cost_plan={"personnel": 60_000_00, "material": 40_000_00},
            spent_by_line={"personnel": 9_000_00, "material": 3_000_00},
            today=day(60),  # 2/9 of the 60 % expected
        )

        assert [
            (x.position, x.expected_by_now_cents, x.forecast_unspent_at_end_cents) for x in f.lines
        ] == [
            ("personnel", 8_000_00, 24_000_00),  # its pace spends the 36,000.00 not waived
            ("material", 5_333_33, 16_000_00 + 10_500_00),
        ]

    def test_with_every_tranche_waived_nothing_is_expected_and_all_is_left(self) -> None:
        tranches = (Tranche("prototype", 50), Tranche("final", 50))
        curve = expected_curve(
            tranches, DEFAULT_PLAN, starts_on=START, waived=frozenset({"prototype", "final"})
        )

        f = forecast(
            curve, allocated_cents=10_000_00, cost_plan=None, spent_by_line={}, today=day(30)
        )

        assert (f.expected_by_now_cents, f.status) == (0, ON_TRACK)
        assert f.forecast_unspent_at_end_cents == 10_000_00
        assert (f.starts_on, f.ends_on) == (START, day(180))

    def test_a_waived_milestone_without_a_tranche_changes_nothing(self) -> None:
        plain = expected_curve(DEFAULT_TRANCHES, DEFAULT_PLAN, starts_on=START)
        waived = expected_curve(
            DEFAULT_TRANCHES, DEFAULT_PLAN, starts_on=START, waived=frozenset({"workshop"})
        )
        assert waived.stretches == plain.stretches
        assert waived.waived_cents(100_000_00) == 0
