"""The burn-rate forecast on the database: what each team's curve is drawn from (its call's
tranche plan, its milestones and which of them were waived, its cost plan in force, its
money), the teams watched and each one's last announced status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.upsert import conflict_insert
from services.outcomes.adapters.tables import (
    calls,
    forecast_calls,
    forecast_cost_plans,
    forecast_milestones,
    forecast_states,
    plan_states,
    report_facts,
    teams,
)
from services.outcomes.domain.forecast import (
    DEFAULT_SETTLEMENT_DAYS,
    DEFAULT_TOLERANCE_PERCENT,
    DEFAULT_TRANCHES,
    Forecast,
    Milestone,
    Tranche,
    expected_curve,
    forecast,
)
from services.outcomes.domain.report import ALLOCATED, APPROVED, BERLIN
from services.outcomes.domain.teams import RUNNING


@dataclass
class SqlForecastPlans:
    """The plans a forecast follows, kept as the platform's events arrive."""

    session: AsyncSession

    async def call_plan(
        self, call_id: str, tranches: Sequence[Tranche], settlement_days: int
    ) -> None:
        stmt = conflict_insert(self.session, forecast_calls).values(
            call_id=call_id,
            tranches=[{"milestone": t.milestone, "percent": t.percent} for t in tranches],
            settlement_days=settlement_days,
        )
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def milestones(self, team_id: str, planned: Sequence[tuple[str, Milestone]]) -> None:
        """A team's plan: ``(milestone_id, milestone)`` in plan order."""
        for rank, (milestone_id, milestone) in enumerate(planned):
            stmt = conflict_insert(self.session, forecast_milestones).values(
                team_id=team_id,
                milestone_id=milestone_id,
                key=milestone.key,
                rank=rank,
                due_date=milestone.due_on,
            )
            await self.session.execute(stmt.on_conflict_do_nothing())

    async def reschedule(self, team_id: str, milestone_id: str, due_on: date) -> None:
        await self.session.execute(
            update(forecast_milestones)
            .where(forecast_milestones.c.team_id == team_id)
            .where(forecast_milestones.c.milestone_id == milestone_id)
            .values(due_date=due_on)
        )

    async def waive(self, team_id: str, milestone_id: str, *, waived: bool) -> None:
        await self.session.execute(
            update(forecast_milestones)
            .where(forecast_milestones.c.team_id == team_id)
            .where(forecast_milestones.c.milestone_id == milestone_id)
            .values(waived=waived)
        )

    async def cost_plan(self, team_id: str, version: int, lines: dict[str, int]) -> None:
        """The version in force, unless a later one is already."""
        values = {"version": version, "lines": lines}
        stmt = conflict_insert(self.session, forecast_cost_plans).values(team_id=team_id, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[forecast_cost_plans.c.team_id],
                set_=values,
                where=forecast_cost_plans.c.version < version,
            )
        )

    async def flush(self) -> None:
        """Written as they happen."""


@dataclass(frozen=True)
class TeamProgress:
    """What a team's forecast is drawn from."""

    team_id: str
    call_id: str
    agent_id: str
    starts_on: date
    tolerance_percent: int
    tranches: tuple[Tranche, ...]
    settlement_days: int
    milestones: tuple[Milestone, ...]  # in plan order, with their latest due days
    waived: frozenset[str]  # the keys of the milestones staff waived (and did not reopen)
    allocated_cents: int
    cost_plan: dict[str, int] | None
    spent_by_line: dict[str, int]

    @property
    def plan_ends_on(self) -> date | None:
        return max((m.due_on for m in self.milestones), default=None)

    def forecast(self, today: date) -> Forecast:
        """Where the team's spending stands against its plan (which must be known)."""
        curve = expected_curve(
            self.tranches,
            self.milestones,
            starts_on=self.starts_on,
            settlement_days=self.settlement_days,
            waived=self.waived,
        )
        return forecast(
            curve,
            allocated_cents=self.allocated_cents,
            cost_plan=self.cost_plan,
            spent_by_line=self.spent_by_line,
            today=today,
            tolerance_percent=self.tolerance_percent,
        )


async def team_progress(
    session: AsyncSession, team_id: str, until: datetime
) -> TeamProgress | None:
    query = (
        select(
            teams,
            calls.c.burn_rate_tolerance_percent,
            forecast_calls.c.tranches,
            forecast_calls.c.settlement_days,
        )
        .outerjoin(calls, calls.c.id == teams.c.call_id)
        .outerjoin(forecast_calls, forecast_calls.c.call_id == teams.c.call_id)
        .where(teams.c.id == team_id)
    )
    team = (await session.execute(query)).first()
    if team is None:
        return None
    money = await session.execute(
        select(
            report_facts.c.fact,
            report_facts.c.position,
            func.sum(report_facts.c.cents),
            func.min(report_facts.c.at),
        )
        .where(report_facts.c.team_id == team_id)
        .where(report_facts.c.fact.in_([ALLOCATED, APPROVED]))
        .where(report_facts.c.at <= until)
        .group_by(report_facts.c.fact, report_facts.c.position)
    )
    allocated, allocated_at, spent_by_line = 0, None, {}
    for fact, position, total, first_at in money.all():
        if fact == ALLOCATED:
            allocated, allocated_at = int(total or 0), first_at
        else:
            spent_by_line[position] = int(total or 0)
    planned = await session.execute(
        select(
            forecast_milestones.c.key, forecast_milestones.c.due_date, forecast_milestones.c.waived
        )
        .where(forecast_milestones.c.team_id == team_id)
        .order_by(forecast_milestones.c.rank)
    )
    milestones = planned.all()
    plan = await session.execute(
        select(forecast_cost_plans.c.lines).where(forecast_cost_plans.c.team_id == team_id)
    )
    lines = plan.scalar_one_or_none()
    # The plan runs from the allocation (a team funded from the waiting list starts late).
    started_at = allocated_at or team.accepted_at
    return TeamProgress(
        team_id=team.id,
        call_id=team.call_id,
        agent_id=team.agent_id,
        starts_on=started_at.astimezone(BERLIN).date(),
        # A team known before its call (another topic): the programme default meanwhile.
        tolerance_percent=team.burn_rate_tolerance_percent or DEFAULT_TOLERANCE_PERCENT,
        tranches=tuple(Tranche(t["milestone"], t["percent"]) for t in team.tranches)
        if team.tranches
        else DEFAULT_TRANCHES,
        settlement_days=DEFAULT_SETTLEMENT_DAYS
        if team.settlement_days is None
        else team.settlement_days,
        milestones=tuple(Milestone(key, due) for key, due, _ in milestones),
        waived=frozenset(key for key, _, waived in milestones if waived),
        allocated_cents=allocated,
        cost_plan=None if lines is None else {p: int(c) for p, c in lines.items()},
        spent_by_line=spent_by_line,
    )


@dataclass(frozen=True)
class Watched:
    progress: TeamProgress
    last_status: str | None


@dataclass
class SqlForecastStates:
    session: AsyncSession

    async def watched(self, until: datetime) -> list[Watched]:
        """Every accepted team whose plan runs, with its progress and its last status."""
        query = (
            select(teams.c.id, forecast_states.c.status)
            .outerjoin(plan_states, plan_states.c.team_id == teams.c.id)
            .outerjoin(forecast_states, forecast_states.c.team_id == teams.c.id)
            .where(teams.c.withdrawn_at.is_(None))
            .where((plan_states.c.status.is_(None)) | (plan_states.c.status == RUNNING))
            .order_by(teams.c.id)
        )
        found = []
        for team_id, last in (await self.session.execute(query)).all():
            progress = await team_progress(self.session, team_id, until)
            if progress is not None and progress.plan_ends_on is not None:
                found.append(Watched(progress, last))
        return found

    async def change(
        self, team_id: str, *, was: str | None, now_is: str, as_of: date, at: datetime
    ) -> bool:
        """Record the new status if the last one is still ``was``: True for the one scan that
        wins, so that a change is announced once, however many instances scan."""
        if was is None:
            stmt = conflict_insert(self.session, forecast_states).values(
                team_id=team_id, status=now_is, as_of=as_of, updated_at=at
            )
            added = await self.session.execute(
                stmt.on_conflict_do_nothing().returning(forecast_states.c.team_id)
            )
            return added.first() is not None
        result = cast(
            CursorResult[Any],
            await self.session.execute(
                update(forecast_states)
                .where(forecast_states.c.team_id == team_id)
                .where(forecast_states.c.status == was)
                .values(status=now_is, as_of=as_of, updated_at=at)
            ),
        )
        return bool(result.rowcount)

    async def flush(self) -> None:
        """Written as they happen."""
