"""What the platform must show after a run, computed from the workload alone."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from cimis_devtools.chaos.books import ACCEPTANCE, TeamBook
from cimis_devtools.chaos.workload import (
    Complete,
    Spend,
    TeamPlan,
    Withdraw,
    Workload,
    apply_decisions,
)

# The milestones service's clock is moved this far at the end, so that exactly the open
# kick-off (14 days) and workshop (42 days) milestones of running plans are overdue (a due
# date moves at most 4 days to the next Saxon working day, Easter's). Every
# team is allocated on acceptance (the pots have room to spare), so every plan runs from
# then, on its call's dates; a withdrawn team's plan is closed.
OVERDUE_OFFSET_DAYS = 50
OVERDUE_KEYS = ("kickoff", "workshop")
# Alerts the programme office gets, not the team's agent (to its mailbox, never a webhook).
STAFF_ALERTS = frozenset({"milestone_reported", "milestone_escalated"})
# Of the overdue ones, these are still open longer than the escalation period (14 days) when
# the clock has moved on: the kick-off, due after 14 days, not the workshop, due after 42.
ESCALATED_KEYS = ("kickoff",)
EXPENSE_STATUS = {
    "approve": "approved",
    "reject": "rejected",
    "reverse": "reversed",
    "pending": "submitted",
}


@dataclass(frozen=True)
class TeamExpectation:
    ref: str
    status: str
    allocated_cents: int
    released_cents: int
    pending_cents: int
    approved_cents: int
    available_cents: int
    returned_cents: int
    expenses: Counter[str]
    completed: frozenset[str]
    plan_status: str
    alerts: Counter[str]


@dataclass(frozen=True)
class CallExpectation:
    ref: str
    total_cents: int
    allocated_cents: int
    available_cents: int
    spent_cents: int
    pending_cents: int
    teams: Counter[str]
    applications: int


@dataclass(frozen=True)
class Expectation:
    teams: dict[str, TeamExpectation]
    calls: dict[str, CallExpectation]

    def alerts(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for team in self.teams.values():
            total.update(team.alerts)
        return total


def expect(workload: Workload) -> Expectation:
    teams = {team.ref: _team(team) for team in workload.teams}
    calls = {}
    for index, call in enumerate(workload.calls):
        members = [t for t in workload.teams if t.call == index]
        expected = [teams[t.ref] for t in members]
        allocated = sum(t.allocated_cents - t.returned_cents for t in expected)
        calls[call.ref] = CallExpectation(
            ref=call.ref,
            total_cents=call.total_cents,
            allocated_cents=allocated,
            available_cents=call.total_cents - allocated,
            spent_cents=sum(t.approved_cents for t in expected),
            pending_cents=sum(t.pending_cents for t in expected),
            teams=Counter(t.status for t in expected),
            applications=sum(1 + t.creatives for t in members),
        )
    return Expectation(teams, calls)


def _team(team: TeamPlan) -> TeamExpectation:
    book = TeamBook(team.budget_cents)
    book.release(ACCEPTANCE)
    expenses: Counter[str] = Counter()
    completed: set[str] = set()
    alerts: Counter[str] = Counter({"team_assigned": 1})
    withdrawn = False
    for step in team.steps:
        if isinstance(step, Spend):
            for expense in step.expenses:
                book.submit(expense.fundable_cents)
                expenses[EXPENSE_STATUS[expense.decision]] += 1
                alerts["expense_rejected"] += expense.decision == "reject"
            apply_decisions(book, step)
        elif isinstance(step, Complete):
            completed.add(step.key)
            book.complete(step.key)
            # Reported, then confirmed by a second person: the office hears of the report.
            alerts["milestone_reported"] += 1
        elif isinstance(step, Withdraw):
            withdrawn = True
            book.close()
    alerts["threshold_crossed"] = len(book.thresholds_crossed)
    if "final" in completed:
        plan_status = "completed"
        alerts["plan_completed"] = 1
    elif withdrawn:
        plan_status = "closed"
    else:
        plan_status = "active"
        alerts["milestone_overdue"] = sum(1 for key in OVERDUE_KEYS if key not in completed)
        alerts["milestone_escalated"] = sum(1 for key in ESCALATED_KEYS if key not in completed)
    return TeamExpectation(
        ref=team.ref,
        status="closed" if withdrawn else "allocated",
        allocated_cents=book.allocated_cents,
        released_cents=book.released_cents,
        pending_cents=book.pending_cents,
        approved_cents=book.approved_cents,
        available_cents=book.available_cents,
        returned_cents=book.returned_cents,
        expenses=expenses,
        completed=frozenset(completed),
        plan_status=plan_status,
        alerts=+alerts,
    )
