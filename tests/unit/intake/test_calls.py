"""Rules for opening a call: districts, window, budgets, tranche and phase plans."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.intake.domain.calls import (
    DEFAULT_PHASE_PLAN,
    DEFAULT_TRANCHES,
    PhaseStep,
    TrancheRule,
)
from services.intake.domain.errors import IntakeRuleViolation
from tests.unit.intake.builders import NOW, a_call


class TestOpenCall:
    def test_fills_in_the_programme_defaults(self) -> None:
        call = a_call()
        assert call.tranches == DEFAULT_TRANCHES
        assert [t.percent for t in call.tranches] == [40, 40, 20]
        assert [(s.key, s.days_after_acceptance) for s in call.phase_plan] == [
            ("kickoff", 14),
            ("workshop", 42),
            ("prototype", 120),
            ("test", 150),
            ("final", 180),
        ]
        assert call.phase_plan == DEFAULT_PHASE_PLAN

    def test_refuses_a_district_outside_saxony(self) -> None:
        with pytest.raises(IntakeRuleViolation) as err:
            a_call(districts=["Erzgebirgskreis", "Berlin"])
        assert err.value.code == "unknown-district"
        assert "Berlin" in err.value.message

    def test_refuses_a_deadline_before_opening(self) -> None:
        with pytest.raises(IntakeRuleViolation, match="after the opening"):
            a_call(opens_at=NOW, closes_at=NOW - timedelta(seconds=1))

    def test_refuses_a_team_maximum_above_the_pot(self) -> None:
        with pytest.raises(IntakeRuleViolation, match="per-team maximum"):
            a_call(total_budget_cents=10_000_00, max_team_budget_cents=10_000_01)

    def test_tranches_must_add_up_to_100_percent(self) -> None:
        with pytest.raises(IntakeRuleViolation) as err:
            a_call(tranches=[TrancheRule(None, 50), TrancheRule("final", 40)])
        assert err.value.code == "invalid-tranches"

    def test_a_tranche_must_name_a_milestone_of_the_plan(self) -> None:
        plan = [PhaseStep("kickoff", "Kick-off", 10), PhaseStep("final", "Ende", 90)]
        with pytest.raises(IntakeRuleViolation, match="prototype"):
            a_call(
                phase_plan=plan,
                tranches=[TrancheRule(None, 60), TrancheRule("prototype", 40)],
            )

    def test_accepts_a_custom_plan_and_tranches(self) -> None:
        plan = [PhaseStep("kickoff", "Kick-off", 10), PhaseStep("final", "Ende", 90)]
        call = a_call(phase_plan=plan, tranches=[TrancheRule(None, 70), TrancheRule("final", 30)])
        assert call.phase_plan == tuple(plan)

    def test_phase_plan_days_must_increase(self) -> None:
        plan = [PhaseStep("kickoff", "Kick-off", 50), PhaseStep("final", "Ende", 20)]
        with pytest.raises(IntakeRuleViolation) as err:
            a_call(phase_plan=plan, tranches=[TrancheRule(None, 100)])
        assert err.value.code == "invalid-phase-plan"


class TestCallWindow:
    def test_is_open_until_the_deadline_inclusive(self) -> None:
        call = a_call()
        assert call.window_state(call.closes_at) == "open"
        assert call.window_state(call.closes_at + timedelta(microseconds=1)) == "closed"
        assert call.window_state(call.opens_at - timedelta(seconds=1)) == "not-open"
