"""Read-only queries for the API and the overdue gauge, each in its own short session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from cimis_chassis.database import Database
from cimis_chassis.keyset import Page, keyset_page
from services.milestones.adapters.rows import joined, shown_status_is, view_of
from services.milestones.adapters.sql_plans import SqlPlans
from services.milestones.adapters.tables import milestones, plans
from services.milestones.app.ports import MilestoneView
from services.milestones.domain.plans import OVERDUE, Plan


@dataclass(frozen=True)
class MilestoneFilter:
    status: str | None = None  # a shown status: open, overdue, completed or cancelled
    team_id: str | None = None
    call_id: str | None = None
    key: str | None = None
    agent_id: str | None = None


class MilestoneQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def plan(self, team_id: str) -> Plan | None:
        async with self._db.sessions() as session:
            return await SqlPlans(session).get(team_id)

    async def plan_of_milestone(self, milestone_id: str) -> Plan | None:
        async with self._db.sessions() as session:
            return await SqlPlans(session).of_milestone(milestone_id)

    async def list_milestones(
        self, where: MilestoneFilter, page: Page[date], *, today: date
    ) -> list[MilestoneView]:
        query = joined()
        if where.status is not None:
            query = query.where(shown_status_is(where.status, today))
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
        async with self._db.sessions() as session:
            return [view_of(r) for r in (await session.execute(query)).all()]

    async def count_overdue(self, *, today: date) -> int:
        query = (
            select(func.count())
            .select_from(milestones.join(plans, plans.c.team_id == milestones.c.team_id))
            .where(shown_status_is(OVERDUE, today))
        )
        async with self._db.sessions() as session:
            return int((await session.execute(query)).scalar_one())
