"""What the milestones handlers need from storage: one protocol per repository, and the unit.

Every repository reads by key through the unit's identity map and holds its writes until the
unit flushes. ``load`` methods read what a whole batch of events will ask for in one query;
a handler works the same without them, only with more round trips.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from cimis_chassis.unit_of_work import Cause, UnitOfWorkPort
from services.milestones.domain.funding import Funding
from services.milestones.domain.payouts import TeamPayouts
from services.milestones.domain.plans import AcceptedTeam, Milestone, PhaseStep, Plan


@dataclass(frozen=True)
class MilestoneView:
    """A milestone with the plan facts needed to show it outside its plan."""

    milestone: Milestone
    call_id: str
    agent_id: str
    team_title: str
    plan_status: str


@dataclass(frozen=True)
class Alert:
    milestone_id: str
    due_date: date
    event_id: str


class CallPlans(Protocol):
    """Each call's phase template as call-opened announced it; the first announcement holds."""

    async def lock(self, call_ids: Iterable[str]) -> None:
        """Hold these calls until the unit ends, before reading their templates or waiting
        teams: a call opened and one of its teams accepted by two instances at once would
        otherwise each miss the other, and the team would wait for a plan that never comes."""
        ...

    async def load(self, call_ids: Iterable[str]) -> None: ...

    async def add(
        self,
        call_id: str,
        steps: Sequence[PhaseStep],
        received_at: datetime,
        escalation_days: int = ...,
    ) -> bool:
        """Keep a call's template; False when it was known already."""
        ...

    async def get(self, call_id: str) -> tuple[PhaseStep, ...] | None: ...

    async def escalation_days(self, call_id: str) -> int:
        """The call's escalation period (the programme default for a call not known)."""
        ...


class AwaitingTeams(Protocol):
    """Teams accepted before their call's plan arrived here."""

    async def load_calls(self, call_ids: Iterable[str]) -> None: ...

    async def add(self, team: AcceptedTeam, received_at: datetime) -> None:
        """Keep ``team`` waiting; a team waiting already stays as it was."""
        ...

    async def take(self, call_id: str) -> list[AcceptedTeam]:
        """The call's waiting teams in acceptance order, no longer waiting."""
        ...

    async def remove(self, team_ids: Iterable[str]) -> None: ...

    async def reassign(self, team_id: str, agent_id: str) -> None:
        """The waiting team now has ``agent_id``; a team not waiting is left alone."""
        ...


class Withdrawals(Protocol):
    """Teams that withdrew, remembered so that a late acceptance plans nothing."""

    async def load(self, team_ids: Iterable[str]) -> None: ...

    async def record(self, team_id: str, call_id: str, at: datetime) -> None: ...

    async def is_withdrawn(self, team_id: str) -> bool: ...


class Fundings(Protocol):
    """Budget's latest word on each team, one row per team that either side announced.

    A plan's creation writes the team's row too (pending, if budget has said nothing yet), so
    that it and a budget event for the same team, applied at once by two instances, always
    meet on that row: one waits for the other's lock or fails on its insert and is read again.
    """

    async def load(self, team_ids: Iterable[str], *, lock: bool = False) -> None: ...

    async def get(self, team_id: str, *, lock: bool = False) -> Funding | None: ...

    async def put(self, funding: Funding) -> None:
        """Keep ``funding`` as its team's: a new row, or the new state of the row read."""
        ...


class Payouts(Protocol):
    """Budget's released tranches and payments of each team that budget released money to."""

    async def load(self, team_ids: Iterable[str], *, lock: bool = False) -> None: ...

    async def get(self, team_id: str, *, lock: bool = False) -> TeamPayouts | None: ...

    async def put(self, payouts: TeamPayouts) -> None:
        """Keep ``payouts`` as its team's: a new row, or the new state of the row read."""
        ...


class Plans(Protocol):
    """Team plans with their milestones; ``lock`` serialises changes to one team's plan."""

    async def load(self, team_ids: Iterable[str], *, lock: bool = False) -> None: ...

    async def get(self, team_id: str, *, lock: bool = False) -> Plan | None: ...

    async def of_milestone(self, milestone_id: str, *, lock: bool = False) -> Plan | None: ...

    async def add(self, plan: Plan) -> None:
        """A new plan; ValueError if the team has one."""
        ...

    async def save(self, plan: Plan) -> None:
        """The new state of a plan read in this unit (its milestones' ids and keys unchanged)."""
        ...


class OverdueAlerts(Protocol):
    """The claims that make an overdue alert go out once per milestone and due date."""

    async def candidates(self, *, today: date, limit: int) -> list[MilestoneView]:
        """Overdue milestones not yet alerted for their current due date, oldest first."""
        ...

    async def claim(self, alerts: Sequence[Alert], detected_at: datetime) -> set[str]:
        """Record alerts; returns the milestone ids claimed now (an earlier claim wins)."""
        ...

    async def alerted_due_dates(self, milestone_id: str) -> list[date]: ...

    async def rearm(self, milestone_id: str, due_date: date) -> None:
        """Forget the milestone's overdue and escalation claims for ``due_date``: reopened,
        it is open again, and alerts the agent (and later the office) again as if new."""
        ...

    async def escalation_candidates(self, *, today: date, limit: int) -> list[MilestoneView]:
        """Milestones still open past their due date plus their plan's escalation period, not
        yet escalated for that due date, oldest first."""
        ...

    async def claim_escalations(self, alerts: Sequence[Alert], detected_at: datetime) -> set[str]:
        """Record escalations; returns the milestone ids claimed now (an earlier claim wins)."""
        ...


class MilestoneCounts(Protocol):
    async def count_overdue(self, *, today: date) -> int: ...


class MilestonesUnitOfWork(UnitOfWorkPort, Protocol):
    """The unit of work the milestones handlers run in."""

    @property
    def plans(self) -> Plans: ...

    @property
    def call_plans(self) -> CallPlans: ...

    @property
    def awaiting(self) -> AwaitingTeams: ...

    @property
    def withdrawals(self) -> Withdrawals: ...

    @property
    def funding(self) -> Fundings: ...

    @property
    def payouts(self) -> Payouts: ...

    @property
    def overdue(self) -> OverdueAlerts: ...

    async def flush(self) -> None: ...


# A new unit attributed to a cause; entering it begins the transaction.
UnitFactory = Callable[[Cause], AbstractAsyncContextManager[MilestonesUnitOfWork]]
