"""Tranches (Mittelabruf): how much of an allocation each trigger releases.

Amounts follow the cumulative percentages of the call's plan with integer flooring, so they add
up to the allocation to the cent whatever order the triggers arrive in.

Money is released in plan order: a milestone's tranche waits until that milestone and every
milestone before it in the call's phase plan are complete (a team that reports "final" first
gets nothing for it until the prototype and the rest are done), and is released as soon as
the last of them arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ACCEPTANCE = "acceptance"


@dataclass(frozen=True)
class TrancheRule:
    trigger: str  # "acceptance" or a milestone key
    percent: int
    # Every milestone that must be complete before this tranche is released (its own among
    # them); empty for the acceptance tranche.
    requires: frozenset[str] = frozenset()


def plan_in_order(
    tranches: Iterable[tuple[str, int]], phase_plan: Sequence[str]
) -> tuple[TrancheRule, ...]:
    """The tranche rules of ``(trigger, percent)`` pairs, each milestone tranche requiring its
    milestone and every one before it in ``phase_plan`` (the milestone keys in order).

    A trigger the phase plan lacks requires the milestone triggers before it in the tranche
    plan instead: the order of the money is kept either way.
    """
    rules: list[TrancheRule] = []
    earlier: set[str] = set()
    for trigger, percent in tranches:
        if trigger == ACCEPTANCE:
            rules.append(TrancheRule(trigger, percent))
            continue
        if trigger in phase_plan:
            requires = set(phase_plan[: phase_plan.index(trigger) + 1])
        else:
            requires = earlier | {trigger}
        # Never less than what an earlier tranche waits for.
        requires |= earlier
        earlier = requires
        rules.append(TrancheRule(trigger, percent, frozenset(requires)))
    return tuple(rules)


def due(plan: tuple[TrancheRule, ...], completed: frozenset[str]) -> list[str]:
    """The triggers of ``plan`` whose milestones are all in ``completed``, in plan order."""
    return [rule.trigger for rule in plan if rule.requires <= completed]


DEFAULT_PLAN: tuple[TrancheRule, ...] = plan_in_order(
    ((ACCEPTANCE, 40), ("prototype", 40), ("final", 20)), phase_plan=()
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
