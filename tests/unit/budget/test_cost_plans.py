"""The cost plan (Kostenplan): adding up to the allocation, shifts within the call's tolerance
in force at once, larger ones only with a second person, and expenses held to their line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.budget.domain import cost_plans
from services.budget.domain.budgets import ALLOCATED, CLOSED, WAITING, TeamBudget
from services.budget.domain.cost_plans import IN_FORCE, PENDING_APPROVAL, CostPlan
from services.budget.domain.errors import (
    BudgetRuleViolation,
    BudgetStateConflict,
    FourEyesViolation,
)
from tests.unit.budget.test_budgets import a_team

AT = datetime(2024, 10, 1, 9, 0, tzinfo=UTC)
TEAM = replace(a_team(), status=ALLOCATED, allocated_cents=40_000_00, reserved_cents=40_000_00)
FIRST = {"personnel": 20_000_00, "external_services": 15_000_00, "travel": 5_000_00}


def propose(
    history: list[CostPlan],
    lines: Mapping[str, int],
    *,
    by: str = "sabine",
    team: TeamBudget = TEAM,
    committed: Mapping[str, int] | None = None,
    tolerance: int = 20,
    at: datetime = AT,
) -> list[CostPlan]:
    """The history after the proposal, as the repository would hold it."""
    decision = cost_plans.propose(
        history, team, lines=lines, reason="Plan", by=by, now=at,
        tolerance_percent=tolerance, committed=committed or {},
    )  # fmt: skip
    return merged(history, decision)


def merged(history: list[CostPlan], decision: cost_plans.Decision) -> list[CostPlan]:
    by_version = {p.version: p for p in history} | {p.version: p for p in decision.changed}
    return [by_version[v] for v in sorted(by_version)]


class TestSettingThePlan:
    def test_the_first_plan_is_in_force_at_once(self) -> None:
        [plan] = propose([], FIRST)
        assert plan.status == IN_FORCE
        assert plan.decided_by == "sabine"
        assert plan.planned("external_services") == 15_000_00
        assert plan.planned("material") == 0

    def test_lines_must_add_up_to_the_allocation_to_the_cent(self) -> None:
        with pytest.raises(BudgetRuleViolation) as refused:
            propose([], FIRST | {"travel": 5_000_01})
        assert refused.value.code == "cost-plan-mismatch"
        assert "40000.01" in str(refused.value)
        assert "40000.00" in str(refused.value)

    @pytest.mark.parametrize(
        ("status", "code"), [(WAITING, "budget-not-allocated"), (CLOSED, "budget-closed")]
    )
    def test_only_an_allocated_budget_has_a_plan(self, status: str, code: str) -> None:
        with pytest.raises(BudgetStateConflict) as refused:
            propose([], FIRST, team=replace(TEAM, status=status))
        assert refused.value.code == code

    def test_a_line_cannot_be_planned_below_what_it_already_carries(self) -> None:
        with pytest.raises(BudgetRuleViolation) as refused:
            propose([], FIRST, committed={"material": 1_00})
        assert refused.value.code == "cost-plan-below-spending"

    def test_a_reason_is_required(self) -> None:
        with pytest.raises(BudgetRuleViolation):
            cost_plans.propose(
                [], TEAM, lines=FIRST, reason="  ", by="sabine", now=AT,
                tolerance_percent=20, committed={},
            )  # fmt: skip


class TestShifts:
    def test_a_shift_within_the_tolerance_of_every_line_is_in_force_at_once(self) -> None:
        # 3,000 EUR is 15 % of personnel's 20,000 EUR and exactly 20 % of the 15,000 EUR
        # planned for external services.
        history = propose([], FIRST)
        history = propose(
            history,
            {"personnel": 17_000_00, "external_services": 18_000_00, "travel": 5_000_00},
            by="otto",
        )
        assert [(p.version, p.status) for p in history] == [(1, "superseded"), (2, "in_force")]
        assert cost_plans.in_force(history) == history[1]

    def test_a_larger_shift_waits_for_a_second_person_and_the_old_plan_stays(self) -> None:
        history = propose([], FIRST)
        shifted = {"personnel": 15_000_00, "external_services": 20_000_00, "travel": 5_000_00}
        history = propose(history, shifted, by="otto")
        assert [p.status for p in history] == [IN_FORCE, PENDING_APPROVAL]
        assert cost_plans.in_force(history) == history[0]
        with pytest.raises(FourEyesViolation):
            cost_plans.approve(history, by="otto", now=AT, committed={})
        decision = cost_plans.approve(
            history, by="sabine", now=AT + timedelta(hours=1), committed={}
        )
        history = merged(history, decision)
        assert [p.status for p in history] == ["superseded", IN_FORCE]
        assert decision.shifts == {"personnel": -5_000_00, "external_services": 5_000_00}
        assert history[1].decided_by == "sabine"

    def test_a_proposal_that_expenses_outgrew_meanwhile_cannot_come_into_force(self) -> None:
        history = propose([], FIRST)
        history = propose(history, FIRST | {"personnel": 10_000_00, "travel": 15_000_00})
        with pytest.raises(BudgetRuleViolation) as refused:
            cost_plans.approve(history, by="otto", now=AT, committed={"personnel": 12_000_00})
        assert refused.value.code == "cost-plan-below-spending"

    def test_money_moved_to_a_line_that_had_none_always_needs_approval(self) -> None:
        history = propose([], FIRST)
        history = propose(history, FIRST | {"travel": 4_999_00, "material": 1_00})
        assert history[-1].status == PENDING_APPROVAL

    def test_a_newer_proposal_replaces_one_nobody_approved(self) -> None:
        history = propose([], FIRST)
        history = propose(history, FIRST | {"personnel": 10_000_00, "travel": 15_000_00})
        history = propose(history, FIRST | {"personnel": 12_000_00, "travel": 13_000_00})
        assert [p.status for p in history] == [IN_FORCE, "replaced", PENDING_APPROVAL]
        assert cost_plans.pending(history) == history[2]

    def test_nothing_to_approve_is_a_conflict(self) -> None:
        with pytest.raises(BudgetStateConflict) as refused:
            cost_plans.approve(propose([], FIRST), by="otto", now=AT, committed={})
        assert refused.value.code == "no-pending-cost-plan"

    def test_the_plan_in_force_on_a_past_day_is_found_again(self) -> None:
        history = propose([], FIRST)
        later = AT + timedelta(days=30)
        history = propose(
            history, FIRST | {"personnel": 18_000_00, "travel": 7_000_00}, by="otto", at=later
        )
        assert history[-1].status == PENDING_APPROVAL
        history = merged(history, cost_plans.approve(history, by="sabine", now=later, committed={}))
        assert cost_plans.in_force_on(history, AT - timedelta(days=1)) is None
        assert cost_plans.in_force_on(history, AT + timedelta(days=1)) == history[0]
        assert cost_plans.in_force_on(history, later) == history[1]


class TestExpensesAgainstTheirLine:
    def test_a_line_takes_its_planned_amount_plus_the_tolerance_and_no_cent_more(self) -> None:
        [plan] = propose([], FIRST)
        # travel: 5,000 EUR planned, 20 % tolerance: 6,000 EUR in all.
        cost_plans.check_expense(
            plan, position="travel", fundable_cents=1_000_00, committed_cents=5_000_00,
            tolerance_percent=20,
        )  # fmt: skip
        with pytest.raises(BudgetRuleViolation) as refused:
            cost_plans.check_expense(
                plan, position="travel", fundable_cents=1_000_01, committed_cents=5_000_00,
                tolerance_percent=20,
            )  # fmt: skip
        assert refused.value.code == "cost-plan-exceeded"
        assert "6000.00" in str(refused.value)

    def test_an_unplanned_line_takes_nothing(self) -> None:
        [plan] = propose([], FIRST)
        with pytest.raises(BudgetRuleViolation):
            cost_plans.check_expense(
                plan, position="material", fundable_cents=1, committed_cents=0,
                tolerance_percent=20,
            )  # fmt: skip

    def test_without_a_plan_only_the_released_money_limits(self) -> None:
        cost_plans.check_expense(
            None, position="material", fundable_cents=10**9, committed_cents=0,
            tolerance_percent=20,
        )  # fmt: skip
