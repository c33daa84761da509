"""In-memory repositories for handler tests: the same contract as the SQL ones, in dictionaries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from cimis_chassis.memory import MemoryRepository
from services.milestones.app.ports import Alert, MilestoneView
from services.milestones.domain.funding import Funding
from services.milestones.domain.payouts import TeamPayouts
from services.milestones.domain.plans import (
    ACTIVE,
    DEFAULT_ESCALATION_DAYS,
    OPEN,
    AcceptedTeam,
    PhaseStep,
    Plan,
)


class MemoryCallPlans(MemoryRepository):
    def __init__(self) -> None:
        self.templates: dict[str, tuple[PhaseStep, ...]] = {}
        self.escalations: dict[str, int] = {}

    async def lock(self, call_ids: Iterable[str]) -> None:
        """One unit at a time runs in memory."""

    async def load(self, call_ids: Iterable[str]) -> None:
        """Everything is loaded already."""

    async def add(
        self,
        call_id: str,
        steps: Sequence[PhaseStep],
        received_at: datetime,
        escalation_days: int = DEFAULT_ESCALATION_DAYS,
    ) -> bool:
        if call_id in self.templates:
            return False
        self.templates[call_id] = tuple(steps)
        self.escalations[call_id] = escalation_days
        return True

    async def get(self, call_id: str) -> tuple[PhaseStep, ...] | None:
        return self.templates.get(call_id)

    async def escalation_days(self, call_id: str) -> int:
        return self.escalations.get(call_id, DEFAULT_ESCALATION_DAYS)


class MemoryAwaitingTeams(MemoryRepository):
    def __init__(self) -> None:
        self.waiting: dict[str, AcceptedTeam] = {}

    async def load_calls(self, call_ids: Iterable[str]) -> None:
        """Everything is loaded already."""

    async def add(self, team: AcceptedTeam, received_at: datetime) -> None:
        self.waiting.setdefault(team.team_id, team)

    async def take(self, call_id: str) -> list[AcceptedTeam]:
        teams = sorted(
            (t for t in self.waiting.values() if t.call_id == call_id),
            key=lambda t: (t.accepted_at, t.team_id),
        )
        await self.remove(t.team_id for t in teams)
        return teams

    async def remove(self, team_ids: Iterable[str]) -> None:
        for team_id in team_ids:
            self.waiting.pop(team_id, None)

    async def reassign(self, team_id: str, agent_id: str) -> None:
        if team_id in self.waiting:
            self.waiting[team_id] = replace(self.waiting[team_id], agent_id=agent_id)


class MemoryWithdrawals(MemoryRepository):
    def __init__(self) -> None:
        self.withdrawn: dict[str, datetime] = {}

    async def load(self, team_ids: Iterable[str]) -> None:
        """Everything is loaded already."""

    async def record(self, team_id: str, call_id: str, at: datetime) -> None:
        self.withdrawn.setdefault(team_id, at)

    async def is_withdrawn(self, team_id: str) -> bool:
        return team_id in self.withdrawn


class MemoryFundings(MemoryRepository):
    def __init__(self) -> None:
        self.fundings: dict[str, Funding] = {}

    async def load(self, team_ids: Iterable[str], *, lock: bool = False) -> None:
        """Everything is loaded already, and one unit runs at a time."""

    async def get(self, team_id: str, *, lock: bool = False) -> Funding | None:
        return self.fundings.get(team_id)

    async def put(self, funding: Funding) -> None:
        self.fundings[funding.team_id] = funding


class MemoryPayouts(MemoryRepository):
    def __init__(self) -> None:
        self.payouts: dict[str, TeamPayouts] = {}

    async def load(self, team_ids: Iterable[str], *, lock: bool = False) -> None:
        """Everything is loaded already, and one unit runs at a time."""

    async def get(self, team_id: str, *, lock: bool = False) -> TeamPayouts | None:
        return self.payouts.get(team_id)

    async def put(self, payouts: TeamPayouts) -> None:
        self.payouts[payouts.team_id] = payouts


class MemoryPlans(MemoryRepository):
    def __init__(self) -> None:
        self.plans: dict[str, Plan] = {}

    async def load(self, team_ids: Iterable[str], *, lock: bool = False) -> None:
        """Everything is loaded already, and one unit runs at a time."""

    async def get(self, team_id: str, *, lock: bool = False) -> Plan | None:
        return self.plans.get(team_id)

    async def of_milestone(self, milestone_id: str, *, lock: bool = False) -> Plan | None:
        for plan in self.plans.values():
            if any(m.id == milestone_id for m in plan.milestones):
                return plan
        return None

    async def add(self, plan: Plan) -> None:
        if plan.team_id in self.plans:
            raise ValueError(f"team {plan.team_id} has a plan already")
        self.plans[plan.team_id] = plan

    async def save(self, plan: Plan) -> None:
        known = self.plans.get(plan.team_id)
        if known is None:
            raise KeyError(f"team {plan.team_id} has no plan to save")
        assert [m.id for m in plan.milestones] == [m.id for m in known.milestones]
        self.plans[plan.team_id] = plan

    def overdue(self, today: date) -> list[MilestoneView]:
        """Every milestone shown overdue on ``today`` (a Berlin day), earliest due first."""
        views = [
            MilestoneView(m, p.call_id, p.agent_id, p.team_title, p.status)
            for p in self.plans.values()
            for m in p.milestones
            if m.status == OPEN and p.status == ACTIVE and m.due_date < today
        ]
        return sorted(views, key=lambda v: (v.milestone.due_date, v.milestone.id))

    async def count_overdue(self, *, today: date) -> int:
        return len(self.overdue(today))


class MemoryOverdueAlerts(MemoryRepository):
    # The plans are their own repository, snapshot on their own: this one only refers to it.
    LINKS = frozenset({"plans"})

    def __init__(self, plans: MemoryPlans) -> None:
        self.plans = plans
        self.claims: dict[tuple[str, date], str] = {}  # (milestone id, due date) -> event id
        self.escalated: dict[tuple[str, date], str] = {}

    async def candidates(self, *, today: date, limit: int) -> list[MilestoneView]:
        fresh = [
            v
            for v in self.plans.overdue(today)
            if (v.milestone.id, v.milestone.due_date) not in self.claims
        ]
        return fresh[:limit]

    async def claim(self, alerts: Sequence[Alert], detected_at: datetime) -> set[str]:
        return _claim(self.claims, alerts)

    async def alerted_due_dates(self, milestone_id: str) -> list[date]:
        return sorted(due for m, due in self.claims if m == milestone_id)

    async def rearm(self, milestone_id: str, due_date: date) -> None:
        self.claims.pop((milestone_id, due_date), None)
        self.escalated.pop((milestone_id, due_date), None)

    async def escalation_candidates(self, *, today: date, limit: int) -> list[MilestoneView]:
        days = {p.team_id: p.escalation_days for p in self.plans.plans.values()}
        fresh = [
            v
            for v in self.plans.overdue(today)
            if v.milestone.due_date + timedelta(days=days[v.milestone.team_id]) < today
            and (v.milestone.id, v.milestone.due_date) not in self.escalated
        ]
        return fresh[:limit]

    async def claim_escalations(self, alerts: Sequence[Alert], detected_at: datetime) -> set[str]:
        return _claim(self.escalated, alerts)


def _claim(claims: dict[tuple[str, date], str], alerts: Sequence[Alert]) -> set[str]:
    """Claim each (milestone, due date) not claimed yet; the milestone ids claimed now."""
    claimed = set()
    for alert in alerts:
        if (alert.milestone_id, alert.due_date) not in claims:
            claims[(alert.milestone_id, alert.due_date)] = alert.event_id
            claimed.add(alert.milestone_id)
    return claimed
