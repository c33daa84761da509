"""A team's cost plan (Kostenplan): its allocation split over the budget lines.

Staff set it at or after allocation; it must add up to the allocation to the cent. Later
versions may move money between lines: up to the call's tolerance (a share of each line's
planned amount) a change is in force at once, above it a second staff member approves it
first. Every version is kept, so the plan in force on any day can be shown again. While a
plan is in force, no line may carry more approved and submitted expenses than its planned
amount plus the tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from cimis_chassis.money import format_eur
from cimis_chassis.text import same_ident
from services.budget.domain.budgets import ALLOCATED, CLOSED, TeamBudget
from services.budget.domain.errors import (
    BudgetRuleViolation,
    BudgetStateConflict,
    FourEyesViolation,
)
from services.budget.domain.expenses import POSITIONS

IN_FORCE, PENDING_APPROVAL = "in_force", "pending_approval"
# No longer in force, because a later version is; or never in force, because a later
# proposal took its place before anyone approved it.
SUPERSEDED, REPLACED = "superseded", "replaced"
DEFAULT_TOLERANCE_PERCENT = 20


@dataclass(frozen=True)
class CostPlan:
    team_id: str
    call_id: str
    version: int
    # Planned cents per budget line, in the order of POSITIONS; lines without money omitted.
    lines: tuple[tuple[str, int], ...]
    reason: str
    proposed_by: str
    proposed_at: datetime
    status: str
    # Who put the version in force and when: its proposer at once when within the
    # tolerance, or the second person who approved it.
    decided_by: str | None = None
    decided_at: datetime | None = None

    @property
    def id(self) -> str:
        return f"{self.team_id}:{self.version}"

    def planned(self, position: str) -> int:
        return dict(self.lines).get(position, 0)

    def limit(self, position: str, tolerance_percent: int) -> int:
        """What the line may carry: its planned amount plus the tolerance (whole cents)."""
        planned = self.planned(position)
        return planned + planned * tolerance_percent // 100


@dataclass(frozen=True)
class Decision:
    """What a step changed: the versions to store (new or changed) and the shifts it made."""

    changed: tuple[CostPlan, ...]
    plan: CostPlan
    # Per line, new planned minus old: what moved compared with the plan in force.
    shifts: Mapping[str, int]


def in_force(history: Sequence[CostPlan]) -> CostPlan | None:
    return next((p for p in reversed(history) if p.status == IN_FORCE), None)


def pending(history: Sequence[CostPlan]) -> CostPlan | None:
    return next((p for p in reversed(history) if p.status == PENDING_APPROVAL), None)


def in_force_on(history: Sequence[CostPlan], moment: datetime) -> CostPlan | None:
    """The version that was in force at ``moment`` (for statements as of a past date)."""
    decided = [
        p
        for p in history
        if p.decided_at is not None and p.decided_at <= moment and p.status != REPLACED
    ]
    return max(decided, key=lambda p: p.version, default=None)


def propose(
    history: Sequence[CostPlan],
    team: TeamBudget,
    *,
    lines: Sequence[tuple[str, int]] | Mapping[str, int],
    reason: str,
    by: str,
    now: datetime,
    tolerance_percent: int,
    committed: Mapping[str, int],
) -> Decision:
    """A new version: in force at once when it is the first or stays within the tolerance,
    else waiting for a second person. ``committed`` is what each line already carries."""
    if team.status == CLOSED:
        raise BudgetStateConflict("budget-closed", "The team was withdrawn; its budget is closed.")
    if team.status != ALLOCATED:
        raise BudgetStateConflict(
            "budget-not-allocated",
            "A cost plan divides an allocated budget; the team has none yet.",
        )
    if not reason.strip():
        raise BudgetRuleViolation("reason-missing", "Give a reason for the cost plan.")
    lines = _each_line_once(lines)
    unknown = sorted(set(lines) - set(POSITIONS))
    if unknown:
        raise BudgetRuleViolation(
            "invalid-position", f"Unknown budget line(s): {', '.join(unknown)}."
        )
    if any(cents < 0 for cents in lines.values()):
        raise BudgetRuleViolation("invalid-amount", "Planned amounts must not be negative.")
    total = sum(lines.values())
    if total != team.allocated_cents:
        raise BudgetRuleViolation(
            "cost-plan-mismatch",
            f"The lines add up to {format_eur(total)} EUR; they must add up to the team's "
            f"allocation of {format_eur(team.allocated_cents)} EUR.",
        )
    _not_below_spending(lines, committed)
    current = in_force(history)
    planned = tuple((p, lines[p]) for p in POSITIONS if lines.get(p, 0) > 0)
    shifts = _shifts(lines, current)
    version = max((p.version for p in history), default=0) + 1
    proposal = CostPlan(
        team_id=team.team_id,
        call_id=team.call_id,
        version=version,
        lines=planned,
        reason=reason.strip(),
        proposed_by=by,
        proposed_at=now,
        status=PENDING_APPROVAL,
    )
    # A newer proposal takes the place of one nobody approved yet.
    changed = [replace(p, status=REPLACED) for p in history if p.status == PENDING_APPROVAL]
    if current is None or within_tolerance(current, shifts, tolerance_percent):
        proposal = replace(proposal, status=IN_FORCE, decided_by=by, decided_at=now)
        if current is not None:
            changed.append(replace(current, status=SUPERSEDED))
    return Decision((*changed, proposal), proposal, shifts)


def _not_below_spending(lines: Mapping[str, int], committed: Mapping[str, int]) -> None:
    below = [p for p in POSITIONS if lines.get(p, 0) < committed.get(p, 0)]
    if below:
        raise BudgetRuleViolation(
            "cost-plan-below-spending",
            "A line cannot be planned below what its submitted and approved expenses already "
            "carry: "
            + ", ".join(f"{p} {format_eur(committed.get(p, 0))} EUR" for p in below)
            + ".",
        )


def _each_line_once(lines: Sequence[tuple[str, int]] | Mapping[str, int]) -> dict[str, int]:
    pairs = list(lines.items()) if isinstance(lines, Mapping) else list(lines)
    twice = sorted({p for p, _ in pairs if sum(1 for q, _ in pairs if q == p) > 1})
    if twice:
        raise BudgetRuleViolation(
            "invalid-cost-plan", f"Each budget line once: {', '.join(twice)} is named twice."
        )
    return dict(pairs)


def _shifts(lines: Mapping[str, int], current: CostPlan | None) -> dict[str, int]:
    before = dict(current.lines) if current else {}
    return {
        p: lines.get(p, 0) - before.get(p, 0)
        for p in POSITIONS
        if lines.get(p, 0) != before.get(p, 0)
    }


def within_tolerance(current: CostPlan, shifts: Mapping[str, int], tolerance_percent: int) -> bool:
    """Every line moves by at most the tolerance's share of what it had planned (so money
    moved onto a line that had none always needs the second person)."""
    return all(
        abs(moved) * 100 <= current.planned(position) * tolerance_percent
        for position, moved in shifts.items()
    )


def approve(
    history: Sequence[CostPlan], *, by: str, now: datetime, committed: Mapping[str, int]
) -> Decision:
    """Four eyes: the waiting version comes into force when someone other than its proposer
    approves it, unless expenses submitted meanwhile already need more than it plans."""
    proposal = pending(history)
    if proposal is None:
        raise BudgetStateConflict(
            "no-pending-cost-plan", "No change of the cost plan waits for approval."
        )
    if same_ident(by, proposal.proposed_by):
        raise FourEyesViolation(
            "four-eyes", "Four eyes: the cost plan change must be approved by someone else."
        )
    _not_below_spending(dict(proposal.lines), committed)
    current = in_force(history)
    approved = replace(proposal, status=IN_FORCE, decided_by=by, decided_at=now)
    changed: tuple[CostPlan, ...] = (approved,)
    if current is not None:
        changed = (replace(current, status=SUPERSEDED), approved)
    return Decision(changed, approved, _shifts(dict(proposal.lines), current))


def check_expense(
    plan: CostPlan | None,
    *,
    position: str,
    fundable_cents: int,
    committed_cents: int,
    tolerance_percent: int,
) -> None:
    """An expense fits its line: what the line carries with it stays within planned plus
    tolerance. Without a plan in force, only the released money limits expenses."""
    if plan is None:
        return
    limit = plan.limit(position, tolerance_percent)
    if committed_cents + fundable_cents > limit:
        raise BudgetRuleViolation(
            "cost-plan-exceeded",
            f"The line {position} would carry {format_eur(committed_cents + fundable_cents)} "
            f"EUR; the cost plan allows {format_eur(limit)} EUR ("
            f"{format_eur(plan.planned(position))} EUR planned plus {tolerance_percent} %). "
            "Shift money between lines in the cost plan first.",
        )
