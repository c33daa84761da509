"""What outcomes' handlers need from storage, and the unit of work holding it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from cimis_chassis.unit_of_work import UnitOfWorkPort
from services.outcomes.domain.blueprints import Blueprint
from services.outcomes.domain.report import AppliedFact, MilestoneStep, ReportFact
from services.outcomes.domain.teams import TeamRecord

if TYPE_CHECKING:
    from services.outcomes.adapters.forecast_store import Watched
    from services.outcomes.domain.forecast import Milestone, Tranche


class Teams(Protocol):
    async def get(self, team_id: str) -> TeamRecord | None: ...

    async def add(self, team: TeamRecord) -> bool:
        """Keep an accepted team; False when it was known already."""
        ...

    async def reassign(self, team_id: str, agent_id: str) -> None: ...

    async def withdraw(self, team_id: str, at: datetime) -> None: ...

    async def set_plan_status(self, team_id: str, status: str) -> None:
        """Milestones' latest word on the team's plan, whether or not the team is known yet."""
        ...


class Costs(Protocol):
    async def add(self, team_id: str, position: str, cents: int) -> None:
        """Add (or, negative, take back) approved fundable cents on a budget line."""
        ...

    async def of(self, team_ids: Sequence[str]) -> dict[str, dict[str, int]]: ...


class Blueprints(Protocol):
    async def of_team(self, team_id: str, *, lock: bool = False) -> Blueprint | None: ...

    async def get(self, blueprint_id: str, *, lock: bool = False) -> Blueprint | None: ...

    async def add(self, blueprint: Blueprint) -> None: ...

    async def put(self, blueprint: Blueprint) -> None: ...

    async def happened(self, blueprint: Blueprint, step: str, at: datetime) -> None:
        """Append a step into or out of the public catalogue (published, withdrawn) to the
        blueprint's history, which the funder's report counts."""
        ...


class ReportFacts(Protocol):
    """The funder's report's facts, appended as the platform's events arrive."""

    async def open_call(
        self,
        call_id: str,
        title: str,
        districts: list[str],
        at: datetime,
        burn_rate_tolerance_percent: int,
    ) -> bool:
        """Keep a call; False when it was known already."""
        ...

    async def applied(self, fact: AppliedFact) -> None: ...

    async def record(self, *facts: ReportFact) -> None: ...

    async def milestone_steps(self, *steps: MilestoneStep) -> None: ...


class ForecastStates(Protocol):
    async def watched(self, until: datetime) -> list[Watched]:
        """Every accepted team whose plan runs, with its call's tolerance and last status."""
        ...

    async def change(
        self, team_id: str, *, was: str | None, now_is: str, as_of: date, at: datetime
    ) -> bool:
        """Record the new status if the last one is still ``was``; True if this call did."""
        ...


class ForecastPlans(Protocol):
    """What a team's burn-rate curve follows, kept as the platform's events arrive."""

    async def call_plan(
        self, call_id: str, tranches: Sequence[Tranche], settlement_days: int
    ) -> None: ...

    async def milestones(self, team_id: str, planned: Sequence[tuple[str, Milestone]]) -> None:
        """A team's plan: ``(milestone_id, milestone)`` in plan order."""
        ...

    async def reschedule(self, team_id: str, milestone_id: str, due_on: date) -> None: ...

    async def waive(self, team_id: str, milestone_id: str, *, waived: bool) -> None:
        """Staff waived the milestone (``waived``), or reopened it (not ``waived``)."""
        ...

    async def cost_plan(self, team_id: str, version: int, lines: dict[str, int]) -> None:
        """The version in force, unless a later one is already."""
        ...


class OutcomesUnitOfWork(UnitOfWorkPort, Protocol):
    @property
    def teams(self) -> Teams: ...

    @property
    def costs(self) -> Costs: ...

    @property
    def blueprints(self) -> Blueprints: ...

    @property
    def report(self) -> ReportFacts: ...

    @property
    def forecasts(self) -> ForecastStates: ...

    @property
    def forecast_plans(self) -> ForecastPlans: ...
