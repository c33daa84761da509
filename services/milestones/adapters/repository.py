"""Loads and stores plans, milestones, call plans, waiting teams and overdue claims in a session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, not_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from cimis_chassis.keyset import Page, keyset_page
from cimis_chassis.upsert import conflict_insert
from services.milestones.adapters.tables import (
    awaiting_teams,
    call_plans,
    milestones,
    overdue_alerts,
    plans,
    withdrawn_teams,
)
from services.milestones.domain.plans import (
    ACTIVE,
    OPEN,
    OVERDUE,
    AcceptedTeam,
    Milestone,
    PhaseStep,
    Plan,
)


@dataclass(frozen=True)
class MilestoneFilter:
    status: str | None = None  # a shown status: open, overdue, completed or cancelled
    team_id: str | None = None
    call_id: str | None = None
    key: str | None = None
    agent_id: str | None = None


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


class MilestonesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # call templates and withdrawals

    async def add_call_plan(
        self, call_id: str, steps: Sequence[PhaseStep], received_at: datetime
    ) -> bool:
        """Keep a call's template; False when it was known already (a call's plan is fixed)."""
        stmt = (
            conflict_insert(self.session, call_plans)
            .values(
                call_id=call_id,
                phase_plan=[
                    {
                        "key": s.key,
                        "title": s.title,
                        "days_after_acceptance": s.days_after_acceptance,
                    }
                    for s in steps
                ],
                received_at=received_at,
            )
            .on_conflict_do_nothing()
            .returning(call_plans.c.call_id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def get_call_plan(self, call_id: str) -> tuple[PhaseStep, ...] | None:
        row = (
            await self.session.execute(
                select(call_plans.c.phase_plan).where(call_plans.c.call_id == call_id)
            )
        ).first()
        if row is None:
            return None
        return tuple(
            PhaseStep(s["key"], s["title"], s["days_after_acceptance"]) for s in row.phase_plan
        )

    async def await_call(self, team: AcceptedTeam, received_at: datetime) -> None:
        """Keep an accepted team until its call's plan arrives (a redelivery changes nothing)."""
        await self.session.execute(
            conflict_insert(self.session, awaiting_teams)
            .values(
                team_id=team.team_id,
                call_id=team.call_id,
                agent_id=team.agent_id,
                team_title=team.title,
                accepted_at=team.accepted_at,
                received_at=received_at,
            )
            .on_conflict_do_nothing()
        )

    async def take_awaiting(self, call_id: str) -> list[AcceptedTeam]:
        """The call's teams that awaited its plan, in acceptance order, no longer awaiting."""
        rows = (
            await self.session.execute(
                select(awaiting_teams)
                .where(awaiting_teams.c.call_id == call_id)
                .order_by(awaiting_teams.c.accepted_at, awaiting_teams.c.team_id)
            )
        ).all()
        if rows:
            await self.stop_awaiting(*[r.team_id for r in rows])
        return [
            AcceptedTeam(
                team_id=r.team_id,
                call_id=r.call_id,
                agent_id=r.agent_id,
                title=r.team_title,
                accepted_at=r.accepted_at,
            )
            for r in rows
        ]

    async def stop_awaiting(self, *team_ids: str) -> None:
        await self.session.execute(
            delete(awaiting_teams).where(awaiting_teams.c.team_id.in_(team_ids))
        )

    async def record_withdrawal(self, team_id: str, call_id: str, at: datetime) -> None:
        await self.session.execute(
            conflict_insert(self.session, withdrawn_teams)
            .values(team_id=team_id, call_id=call_id, withdrawn_at=at)
            .on_conflict_do_nothing()
        )

    async def is_withdrawn(self, team_id: str) -> bool:
        query = select(withdrawn_teams.c.team_id).where(withdrawn_teams.c.team_id == team_id)
        return (await self.session.execute(query)).first() is not None

    # plans

    async def add_plan(self, plan: Plan) -> None:
        await self.session.execute(insert(plans).values(**_plan_values(plan)))
        await self.session.execute(
            insert(milestones), [_milestone_values(m) for m in plan.milestones]
        )

    async def get_plan(self, team_id: str, *, for_update: bool = False) -> Plan | None:
        query = select(plans).where(plans.c.team_id == team_id)
        if for_update:
            # Locking the plan row serialises changes to one team's milestones.
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        rows = (
            await self.session.execute(
                select(milestones)
                .where(milestones.c.team_id == team_id)
                .order_by(milestones.c.position)
            )
        ).all()
        return _plan(row, [_milestone(r) for r in rows])

    async def plan_of_milestone(
        self, milestone_id: str, *, for_update: bool = False
    ) -> Plan | None:
        team_id = (
            await self.session.execute(
                select(milestones.c.team_id).where(milestones.c.id == milestone_id)
            )
        ).scalar_one_or_none()
        if team_id is None:
            return None
        return await self.get_plan(team_id, for_update=for_update)

    async def save(self, plan: Plan, changed: Sequence[Milestone] = ()) -> None:
        """Store the plan's state and the milestones that changed (ids and keys never change)."""
        values = _plan_values(plan)
        del values["team_id"]
        await self.session.execute(
            update(plans).where(plans.c.team_id == plan.team_id).values(**values)
        )
        for milestone in changed:
            values = _milestone_values(milestone)
            del values["id"]
            await self.session.execute(
                update(milestones).where(milestones.c.id == milestone.id).values(**values)
            )

    # listings

    async def list_milestones(
        self, where: MilestoneFilter, page: Page[date], *, today: date
    ) -> list[MilestoneView]:
        query = _joined()
        if where.status is not None:
            query = query.where(_shown_status_is(where.status, today))
        for column, value in (
            (milestones.c.team_id, where.team_id),
            (plans.c.call_id, where.call_id),
            (milestones.c.key, where.key),
            (plans.c.agent_id, where.agent_id),
        ):
            if value is not None:
                query = query.where(column == value)
        # The page starts after the (due date, milestone id) of the last item seen.
        query = keyset_page(query, milestones.c.due_date, milestones.c.id, page)
        return [_view(r) for r in (await self.session.execute(query)).all()]

    # overdue detection

    async def overdue_candidates(self, *, today: date, limit: int) -> list[MilestoneView]:
        """Overdue milestones not yet alerted for their current due date, oldest first.

        On PostgreSQL the rows are locked with SKIP LOCKED: a concurrent scan passes over them
        instead of queueing, and a completion or reschedule waits until this scan committed,
        so an alert is never raised for a milestone completed in between. SQLite needs
        neither: its writers already run one at a time (BEGIN IMMEDIATE).
        """
        alerted = exists().where(
            and_(
                overdue_alerts.c.milestone_id == milestones.c.id,
                overdue_alerts.c.due_date == milestones.c.due_date,
            )
        )
        query = (
            _joined()
            .where(_shown_status_is(OVERDUE, today), not_(alerted))
            .order_by(milestones.c.due_date, milestones.c.id)
            .limit(limit)
            .with_for_update(of=milestones, skip_locked=True)
        )
        return [_view(r) for r in (await self.session.execute(query)).all()]

    async def claim_alerts(self, alerts: Sequence[Alert], detected_at: datetime) -> set[str]:
        """Record alerts; returns the milestone ids claimed now (a concurrent claim loses).

        ON CONFLICT DO NOTHING rather than catching an IntegrityError, which would abort the
        whole PostgreSQL transaction; RETURNING because rowcount is unreliable on psycopg.
        """
        if not alerts:
            return set()
        stmt = (
            conflict_insert(self.session, overdue_alerts)
            .values(
                [
                    {
                        "milestone_id": a.milestone_id,
                        "due_date": a.due_date,
                        "detected_at": detected_at,
                        "event_id": a.event_id,
                    }
                    for a in alerts
                ]
            )
            .on_conflict_do_nothing()
            .returning(overdue_alerts.c.milestone_id)
        )
        return set((await self.session.execute(stmt)).scalars())

    async def alerts_of(self, milestone_id: str) -> list[date]:
        query = (
            select(overdue_alerts.c.due_date)
            .where(overdue_alerts.c.milestone_id == milestone_id)
            .order_by(overdue_alerts.c.due_date)
        )
        return list((await self.session.execute(query)).scalars())

    async def count_overdue(self, *, today: date) -> int:
        query = (
            select(func.count())
            .select_from(milestones.join(plans, plans.c.team_id == milestones.c.team_id))
            .where(_shown_status_is(OVERDUE, today))
        )
        return int((await self.session.execute(query)).scalar_one())


def _joined() -> Any:
    return select(
        milestones,
        plans.c.call_id,
        plans.c.agent_id,
        plans.c.team_title,
        plans.c.status.label("plan_status"),
    ).select_from(milestones.join(plans, plans.c.team_id == milestones.c.team_id))


def _shown_status_is(status: str, today: date) -> ColumnElement[bool]:
    # The SQL form of domain.plans.is_overdue, so the database can use ix_milestones_due.
    overdue = and_(
        milestones.c.status == OPEN, plans.c.status == ACTIVE, milestones.c.due_date < today
    )
    if status == OVERDUE:
        return overdue
    if status == OPEN:
        return and_(milestones.c.status == OPEN, not_(overdue))
    return milestones.c.status == status


def _plan_values(plan: Plan) -> dict[str, Any]:
    return {
        "team_id": plan.team_id,
        "call_id": plan.call_id,
        "agent_id": plan.agent_id,
        "team_title": plan.team_title,
        "template": plan.template,
        "status": plan.status,
        "accepted_at": plan.accepted_at,
        "created_at": plan.created_at,
        "completed_at": plan.completed_at,
        "cancelled_at": plan.cancelled_at,
    }


def _milestone_values(m: Milestone) -> dict[str, Any]:
    return {
        "id": m.id,
        "team_id": m.team_id,
        "key": m.key,
        "title": m.title,
        "position": m.position,
        "due_date": m.due_date,
        "status": m.status,
        "completed_at": m.completed_at,
        "completed_by": m.completed_by,
        "note": m.note,
        "evidence_url": m.evidence_url,
    }


def _plan(r: Row[Any], items: list[Milestone]) -> Plan:
    return Plan(
        team_id=r.team_id,
        call_id=r.call_id,
        agent_id=r.agent_id,
        team_title=r.team_title,
        template=r.template,
        accepted_at=r.accepted_at,
        created_at=r.created_at,
        milestones=tuple(items),
        status=r.status,
        completed_at=r.completed_at,
        cancelled_at=r.cancelled_at,
    )


def _milestone(r: Row[Any]) -> Milestone:
    return Milestone(
        id=r.id,
        team_id=r.team_id,
        key=r.key,
        title=r.title,
        position=r.position,
        due_date=r.due_date,
        status=r.status,
        completed_at=r.completed_at,
        completed_by=r.completed_by,
        note=r.note,
        evidence_url=r.evidence_url,
    )


def _view(r: Row[Any]) -> MilestoneView:
    return MilestoneView(
        milestone=_milestone(r),
        call_id=r.call_id,
        agent_id=r.agent_id,
        team_title=r.team_title,
        plan_status=r.plan_status,
    )
