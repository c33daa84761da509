"""The weekly digest's content: per running team, budget use, milestones due soon or
overdue, and expenses waiting for finance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.notify.domain.alerts import TeamContact

WEEKLY_DIGEST = "weekly_digest"
# "Due soon" is today and the 14 days after it.
DUE_WINDOW_DAYS = 14

# What the digest's read model knows of a milestone: open (the agent's to act on), reported
# (waiting for the programme office's confirmation, so neither due nor overdue for the agent)
# or done (completed or waived).
OPEN, REPORTED, DONE = "open", "reported", "done"


@dataclass(frozen=True)
class TeamBudget:
    team_id: str
    allocated_cents: int = 0
    approved_cents: int = 0
    closed: bool = False  # the budget was closed: the team's funding is over
    withdrawn: bool = False  # the team left the programme

    @property
    def running(self) -> bool:
        return not (self.closed or self.withdrawn)


@dataclass(frozen=True)
class WaitingExpense:
    """A submitted expense that finance has neither approved nor rejected yet."""

    expense_id: str
    team_id: str
    fundable_cents: int
    submitted_at: datetime


@dataclass(frozen=True)
class TrackedMilestone:
    milestone_id: str
    team_id: str
    key: str
    title: str
    due_date: date
    status: str  # OPEN, REPORTED or DONE


@dataclass(frozen=True)
class TeamDigest:
    team_id: str
    title: str
    allocated_cents: int
    approved_cents: int
    due: tuple[TrackedMilestone, ...]
    overdue: tuple[TrackedMilestone, ...]
    waiting_count: int
    waiting_cents: int

    @property
    def percent(self) -> int | None:
        """Share of the allocation approved as fundable, rounded down; None before allocation."""
        if self.allocated_cents <= 0:
            return None
        return self.approved_cents * 100 // self.allocated_cents

    @property
    def has_news(self) -> bool:
        return bool(self.due or self.overdue or self.waiting_count)


@dataclass(frozen=True)
class Digest:
    week: str
    as_of: date
    teams: tuple[TeamDigest, ...]

    @property
    def has_news(self) -> bool:
        """Budget use alone changes slowly and is in every alert on thresholds: a week with
        nothing due, overdue or waiting is skipped."""
        return any(team.has_news for team in self.teams)

    @property
    def window_end(self) -> date:
        return self.as_of + timedelta(days=DUE_WINDOW_DAYS)

    def facts(self) -> dict[str, object]:
        year, week = self.week.split("-W")
        return {
            "week": int(week),
            "year": int(year),
            "as_of": self.as_of,
            "window_end": self.window_end,
            "teams": self.teams,
        }


def build_digest(
    *,
    week: str,
    today: date,
    teams: Sequence[TeamContact],
    budgets: Mapping[str, TeamBudget],
    milestones: Sequence[TrackedMilestone],
    expenses: Sequence[WaitingExpense],
) -> Digest:
    """The digest of the agent's running teams as of ``today`` (Berlin), by team title."""
    window_end = today + timedelta(days=DUE_WINDOW_DAYS)
    parts = []
    for team in sorted(teams, key=lambda t: (t.title, t.team_id)):
        budget = budgets.get(team.team_id, TeamBudget(team.team_id))
        if not budget.running:
            continue
        open_ones = sorted(
            (m for m in milestones if m.team_id == team.team_id and m.status == OPEN),
            key=lambda m: (m.due_date, m.title),
        )
        waiting = [e for e in expenses if e.team_id == team.team_id]
        parts.append(
            TeamDigest(
                team_id=team.team_id,
                title=team.title,
                allocated_cents=budget.allocated_cents,
                approved_cents=budget.approved_cents,
                due=tuple(m for m in open_ones if today <= m.due_date <= window_end),
                overdue=tuple(m for m in open_ones if m.due_date < today),
                waiting_count=len(waiting),
                waiting_cents=sum(e.fundable_cents for e in waiting),
            )
        )
    return Digest(week=week, as_of=today, teams=tuple(parts))
