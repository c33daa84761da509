"""Pot rows written before tranches waited for earlier milestones still read in plan order."""

from __future__ import annotations

from services.budget.adapters.rows import plan_from_row
from services.budget.domain.tranches import ACCEPTANCE, TrancheRule


def test_a_plan_row_keeps_what_each_tranche_requires() -> None:
    row = [
        {"trigger": ACCEPTANCE, "percent": 40, "requires": []},
        {"trigger": "prototype", "percent": 60, "requires": ["kickoff", "prototype"]},
    ]
    assert plan_from_row(row) == (
        TrancheRule(ACCEPTANCE, 40),
        TrancheRule("prototype", 60, frozenset({"kickoff", "prototype"})),
    )


def test_an_older_plan_row_waits_for_the_tranches_before_it() -> None:
    row = [
        {"trigger": ACCEPTANCE, "percent": 40},
        {"trigger": "prototype", "percent": 40},
        {"trigger": "final", "percent": 20},
    ]
    assert [rule.requires for rule in plan_from_row(row)] == [
        frozenset(),
        frozenset({"prototype"}),
        frozenset({"prototype", "final"}),
    ]
