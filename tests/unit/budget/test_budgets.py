"""Allocation, tranches and closure: money moves only by balanced, once-only transfers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.budget.domain import budgets, ledger
from services.budget.domain.budgets import Pot, TeamBudget
from services.budget.domain.ledger import Books
from services.budget.domain.tranches import (
    ACCEPTANCE,
    DEFAULT_PLAN,
    TrancheRule,
    due,
    plan_in_order,
    tranche_amounts,
)

AT = datetime(2024, 10, 1, 9, 0, tzinfo=UTC)


def a_pot(total: int = 100_000_00, max_team: int = 50_000_00) -> tuple[Pot, Books]:
    pot, funded = budgets.open_pot(
        call_id="c1",
        title="CIMIS II",
        total_cents=total,
        max_team_cents=max_team,
        plan=DEFAULT_PLAN,
    )
    books = Books()
    books.post(funded)
    return pot, books


def a_team(team_id: str = "t1", requested: int = 45_000_00, **kw: Any) -> TeamBudget:
    fields: dict[str, Any] = {
        "team_id": team_id,
        "call_id": "c1",
        "agent_id": "agent-anna",
        "title": "Konfigurator",
        "input_vat_deductible": False,
        "requested_cents": requested,
        "accepted_at": AT,
    }
    return TeamBudget(**(fields | kw))


def post_all(books: Books, outcome: budgets.Outcome) -> None:
    for transfer in outcome.transfers:
        assert books.post(transfer)


class TestTrancheAmounts:
    def test_default_plan_splits_40_40_20(self) -> None:
        assert tranche_amounts(45_000_00, DEFAULT_PLAN) == {
            "acceptance": 18_000_00,
            "prototype": 18_000_00,
            "final": 9_000_00,
        }

    @pytest.mark.parametrize("allocated", [1, 2, 3, 99, 100_01, 33_333_33])
    def test_amounts_add_up_to_the_cent(self, allocated: int) -> None:
        assert sum(tranche_amounts(allocated, DEFAULT_PLAN).values()) == allocated

    def test_a_plan_must_add_up_to_100(self) -> None:
        with pytest.raises(ValueError, match="100"):
            tranche_amounts(100, (TrancheRule("acceptance", 50),))


class TestAllocation:
    def test_reserves_from_the_pot_and_releases_the_first_tranche(self) -> None:
        pot, books = a_pot()
        outcome = budgets.allocate(a_team(), pot)
        post_all(books, outcome)
        team = outcome.team
        assert team.status == "allocated"
        assert (team.allocated_cents, team.available_cents, team.reserved_cents) == (
            45_000_00,
            18_000_00,
            27_000_00,
        )
        assert outcome.pot is not None
        assert outcome.pot.available_cents == 55_000_00
        assert books.balance(ledger.pot("c1")) == 55_000_00
        assert books.balance(ledger.released("t1")) == 18_000_00
        assert books.total() == 0
        assert [r.trigger for r in outcome.releases] == ["acceptance"]

    def test_a_team_the_pot_cannot_cover_waits(self) -> None:
        pot, _ = a_pot(total=40_000_00, max_team=50_000_00)
        outcome = budgets.allocate(a_team(), pot)
        assert outcome.team.status == budgets.WAITING
        assert outcome.team.refusal_code == "pot-exhausted"
        assert "40000.00" in (outcome.team.refusal_reason or "")
        assert outcome.transfers == ()
        assert outcome.pot == replace(pot, waiting_teams=1)

    def test_refuses_above_the_per_team_maximum(self) -> None:
        pot, _ = a_pot(max_team=30_000_00)
        assert budgets.allocate(a_team(), pot).team.refusal_code == "above-team-maximum"

    def test_allocating_twice_changes_nothing(self) -> None:
        pot, _ = a_pot()
        first = budgets.allocate(a_team(), pot)
        assert first.pot is not None
        again = budgets.allocate(first.team, first.pot)
        assert not again.changed

    def test_milestones_completed_before_allocation_are_released_with_it(self) -> None:
        pot, books = a_pot()
        early = budgets.complete_milestone(a_team(), None, "prototype").team
        outcome = budgets.allocate(early, pot)
        post_all(books, outcome)
        assert outcome.team.available_cents == 36_000_00
        assert sorted(outcome.team.released_triggers) == ["acceptance", "prototype"]


class TestMilestoneTranches:
    def test_each_tranche_is_released_once_whatever_the_order(self) -> None:
        pot, books = a_pot()
        allocated = budgets.allocate(a_team(), pot)
        post_all(books, allocated)
        team = allocated.team
        for key in ("final", "prototype", "final", "prototype", "workshop"):
            step = budgets.complete_milestone(team, allocated.pot, key)
            post_all(books, step)
            team = step.team
        assert team.released_cents == team.allocated_cents == 45_000_00
        assert team.reserved_cents == 0
        assert books.total() == 0

    def test_the_final_tranche_waits_for_the_prototype_and_follows_it_at_once(self) -> None:
        pot, books = a_pot()
        allocated = budgets.allocate(a_team(), pot)
        post_all(books, allocated)

        early = budgets.complete_milestone(allocated.team, allocated.pot, "final")
        assert early.releases == ()
        assert early.transfers == ()
        assert early.team.released_cents == 18_000_00

        step = budgets.complete_milestone(early.team, allocated.pot, "prototype")
        post_all(books, step)
        assert [(r.trigger, r.amount_cents) for r in step.releases] == [
            ("prototype", 18_000_00),
            ("final", 9_000_00),
        ]
        assert step.team.released_cents == 45_000_00
        assert books.total() == 0

    def test_a_tranche_waits_for_every_earlier_milestone_of_the_phase_plan(self) -> None:
        plan = plan_in_order(
            ((ACCEPTANCE, 40), ("prototype", 40), ("final", 20)),
            phase_plan=["kickoff", "workshop", "prototype", "test", "final"],
        )
        assert [sorted(rule.requires) for rule in plan] == [
            [],
            ["kickoff", "prototype", "workshop"],
            ["final", "kickoff", "prototype", "test", "workshop"],
        ]
        team = a_team(completed_milestones=frozenset({"prototype", "workshop"}))
        assert due(plan, team.completed_milestones) == [ACCEPTANCE]
        assert due(plan, team.completed_milestones | {"kickoff"}) == [ACCEPTANCE, "prototype"]

    def test_a_milestone_outside_the_plan_releases_nothing(self) -> None:
        pot, _ = a_pot()
        allocated = budgets.allocate(a_team(), pot)
        step = budgets.complete_milestone(allocated.team, allocated.pot, "kickoff")
        assert step.transfers == ()
        assert step.team.released_cents == 18_000_00


class TestClosure:
    def test_returns_reserved_and_available_money_but_keeps_pending(self) -> None:
        pot, books = a_pot()
        allocated = budgets.allocate(a_team(), pot)
        post_all(books, allocated)
        team = replace(
            allocated.team,
            available_cents=allocated.team.available_cents - 5_000_00,
            pending_cents=3_000_00,
            approved_cents=2_000_00,
        )
        closed = budgets.close(team, allocated.pot, AT)
        assert closed.team.status == "closed"
        assert closed.team.pending_cents == 3_000_00
        assert closed.notes["returned_cents"] == 27_000_00 + 13_000_00
        assert closed.pot is not None
        assert closed.pot.available_cents == 55_000_00 + 40_000_00

    def test_closing_twice_changes_nothing(self) -> None:
        pot, _ = a_pot()
        allocated = budgets.allocate(a_team(), pot)
        closed = budgets.close(allocated.team, allocated.pot, AT)
        assert not budgets.close(closed.team, closed.pot, AT).changed

    def test_a_refused_team_closes_without_money(self) -> None:
        pot, _ = a_pot(total=1_00)
        refused = budgets.allocate(a_team(), pot)
        closed = budgets.close(refused.team, pot, AT)
        assert closed.team.status == "closed"
        assert closed.transfers == ()


def test_a_team_whose_money_does_not_add_up_cannot_exist() -> None:
    with pytest.raises(AssertionError, match="does not add up"):
        a_team(allocated_cents=100, reserved_cents=50)


class TestFundingPeriod:
    def test_it_starts_on_the_day_of_acceptance_in_saxony(self) -> None:
        # 23:30 UTC on 1 June is 01:30 on 2 June in Dresden.
        team = a_team(accepted_at=datetime(2024, 6, 1, 23, 30, tzinfo=UTC))
        period = budgets.funding_period(team, None)
        assert period == budgets.FundingPeriod(date(2024, 6, 2), None)
        assert not period.covers(date(2024, 6, 1))
        assert period.covers(date(2030, 1, 1))  # no plan heard of yet: open at the end

    def test_it_ends_with_the_plan_and_the_calls_settlement_days(self) -> None:
        pot = replace(a_pot()[0], settlement_days=30)
        team = a_team(accepted_at=AT, plan_ends_on=date(2025, 3, 31))
        period = budgets.funding_period(team, pot)
        assert period.ends_on == date(2025, 4, 30)
        assert period.covers(date(2025, 4, 30))
        assert not period.covers(date(2025, 5, 1))
