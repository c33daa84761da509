"""In-memory fakes of the weekly digest's read model and records: the SQL ones' contract."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from cimis_chassis.memory import MemoryRepository
from services.notify.adapters.memory import MemoryAgents, MemoryTeams
from services.notify.domain.agents import Agent
from services.notify.domain.alerts import TeamContact
from services.notify.domain.digest import TeamBudget, TrackedMilestone, WaitingExpense


class MemoryDigestFacts(MemoryRepository):
    """Reads the agents' teams from the unit's teams fake, as the SQL one reads its table."""

    LINKS = frozenset({"_teams"})

    def __init__(self, teams: MemoryTeams) -> None:
        self._teams = teams
        self.budget_rows: dict[str, TeamBudget] = {}
        self.expense_rows: dict[str, WaitingExpense] = {}
        self.milestone_rows: dict[str, TrackedMilestone] = {}

    def _budget(self, team_id: str) -> TeamBudget:
        return self.budget_rows.get(team_id, TeamBudget(team_id))

    async def allocate(self, team_id: str, allocated_cents: int) -> None:
        self.budget_rows[team_id] = replace(self._budget(team_id), allocated_cents=allocated_cents)

    async def approve_total(self, team_id: str, approved_cents: int) -> None:
        self.budget_rows[team_id] = replace(self._budget(team_id), approved_cents=approved_cents)

    async def close_budget(self, team_id: str) -> None:
        self.budget_rows[team_id] = replace(self._budget(team_id), closed=True)

    async def withdraw_team(self, team_id: str) -> None:
        self.budget_rows[team_id] = replace(self._budget(team_id), withdrawn=True)

    async def expense_waiting(self, expense: WaitingExpense) -> None:
        self.expense_rows[expense.expense_id] = expense

    async def expense_decided(self, expense_id: str) -> None:
        self.expense_rows.pop(expense_id, None)

    async def plan(self, milestones: Sequence[TrackedMilestone]) -> None:
        self.milestone_rows.update({m.milestone_id: m for m in milestones})

    async def reschedule(self, milestone_id: str, due_date: date) -> None:
        if milestone_id in self.milestone_rows:
            m = self.milestone_rows[milestone_id]
            self.milestone_rows[milestone_id] = replace(m, due_date=due_date)

    async def set_status(self, milestone_id: str, status: str) -> None:
        if milestone_id in self.milestone_rows:
            m = self.milestone_rows[milestone_id]
            self.milestone_rows[milestone_id] = replace(m, status=status)

    async def cancel_plan(self, team_id: str) -> None:
        kept = {k: m for k, m in self.milestone_rows.items() if m.team_id != team_id}
        self.milestone_rows = kept

    async def teams_of(self, agent_id: str) -> list[TeamContact]:
        return [team for team, _ in self._teams.rows.values() if team.agent_id == agent_id]

    async def budgets(self, team_ids: Sequence[str]) -> dict[str, TeamBudget]:
        return {t: self.budget_rows[t] for t in team_ids if t in self.budget_rows}

    async def milestones(self, team_ids: Sequence[str]) -> list[TrackedMilestone]:
        return [m for m in self.milestone_rows.values() if m.team_id in team_ids]

    async def waiting(self, team_ids: Sequence[str]) -> list[WaitingExpense]:
        return [e for e in self.expense_rows.values() if e.team_id in team_ids]


class MemoryDigests(MemoryRepository):
    LINKS = frozenset({"_agents"})

    def __init__(self, agents: MemoryAgents) -> None:
        self._agents = agents
        # (agent id, week) -> (outcome, notification id, decided at)
        self.rows: dict[tuple[str, str], tuple[str, str | None, datetime]] = {}

    async def undecided(self, week: str) -> list[Agent]:
        return [
            a
            for a in sorted(self._agents.rows.values(), key=lambda a: a.id)
            if not a.retired and a.digest is not None and (a.id, week) not in self.rows
        ]

    async def claim(
        self, agent_id: str, week: str, *, outcome: str, notification_id: str | None, now: datetime
    ) -> bool:
        if (agent_id, week) in self.rows:
            return False
        self.rows[(agent_id, week)] = (outcome, notification_id, now)
        return True
