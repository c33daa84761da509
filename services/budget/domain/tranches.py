"""Tranches (Mittelabruf): how much of an allocation each trigger releases.

Amounts follow the cumulative percentages of the call's plan with integer flooring, so they add
up to the allocation to the cent whatever order the triggers arrive in.
"""

from __future__ import annotations

from dataclasses import dataclass

ACCEPTANCE = "acceptance"


@dataclass(frozen=True)
class TrancheRule:
    trigger: str  # "acceptance" or a milestone key
    percent: int


DEFAULT_PLAN: tuple[TrancheRule, ...] = (
    TrancheRule(ACCEPTANCE, 40),
    TrancheRule("prototype", 40),
    TrancheRule("final", 20),
)


def tranche_amounts(allocated_cents: int, plan: tuple[TrancheRule, ...]) -> dict[str, int]:
    """Cents released by each trigger of ``plan`` for an allocation of ``allocated_cents``."""
    if sum(rule.percent for rule in plan) != 100:
        raise ValueError("a tranche plan must add up to 100 %")
    amounts: dict[str, int] = {}
    cumulative_percent = 0
    released_so_far = 0
    for rule in plan:
        cumulative_percent += rule.percent
        cumulative = allocated_cents * cumulative_percent // 100
        amounts[rule.trigger] = cumulative - released_so_far
        released_so_far = cumulative
    return amounts


def percent_of(plan: tuple[TrancheRule, ...], trigger: str) -> int | None:
    return next((rule.percent for rule in plan if rule.trigger == trigger), None)
