"""The weekly digest's read model and its per-week records in the database.

Unlike notify's other repositories these write at once, one statement per event: the facts
are upserts and deletes by key, few per batch, and a digest's claim must be answered before
the notification is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cimis_chassis.upsert import conflict_insert
from services.notify.adapters.rows import agent_of, team_of
from services.notify.adapters.tables import (
    agents,
    digests,
    team_budgets,
    team_milestones,
    teams,
    waiting_expenses,
)
from services.notify.domain.agents import Agent
from services.notify.domain.alerts import TeamContact
from services.notify.domain.digest import TeamBudget, TrackedMilestone, WaitingExpense

_NEW_BUDGET = {"allocated_cents": 0, "approved_cents": 0, "closed": False, "withdrawn": False}


class SqlDigestFacts:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _budget(self, team_id: str, **values: Any) -> None:
        stmt = conflict_insert(self._session, team_budgets).values(
            team_id=team_id, **(_NEW_BUDGET | values)
        )
        await self._session.execute(
            stmt.on_conflict_do_update(index_elements=[team_budgets.c.team_id], set_=values)
        )

    async def allocate(self, team_id: str, allocated_cents: int) -> None:
        await self._budget(team_id, allocated_cents=allocated_cents)

    async def approve_total(self, team_id: str, approved_cents: int) -> None:
        await self._budget(team_id, approved_cents=approved_cents)

    async def close_budget(self, team_id: str) -> None:
        await self._budget(team_id, closed=True)

    async def withdraw_team(self, team_id: str) -> None:
        await self._budget(team_id, withdrawn=True)

    async def expense_waiting(self, expense: WaitingExpense) -> None:
        values = {
            "team_id": expense.team_id,
            "fundable_cents": expense.fundable_cents,
            "submitted_at": expense.submitted_at,
        }
        stmt = conflict_insert(self._session, waiting_expenses).values(
            expense_id=expense.expense_id, **values
        )
        await self._session.execute(
            stmt.on_conflict_do_update(index_elements=[waiting_expenses.c.expense_id], set_=values)
        )

    async def expense_decided(self, expense_id: str) -> None:
        await self._session.execute(
            delete(waiting_expenses).where(waiting_expenses.c.expense_id == expense_id)
        )

    async def plan(self, milestones: Sequence[TrackedMilestone]) -> None:
        if not milestones:
            return
        stmt = conflict_insert(self._session, team_milestones)
        stmt = stmt.on_conflict_do_update(
            index_elements=[team_milestones.c.milestone_id],
            set_={c: stmt.excluded[c] for c in ("team_id", "key", "title", "due_date", "status")},
        )
        await self._session.execute(stmt, [_milestone_values(m) for m in milestones])

    async def reschedule(self, milestone_id: str, due_date: date) -> None:
        await self._session.execute(
            update(team_milestones)
            .where(team_milestones.c.milestone_id == milestone_id)
            .values(due_date=due_date)
        )

    async def set_status(self, milestone_id: str, status: str) -> None:
        await self._session.execute(
            update(team_milestones)
            .where(team_milestones.c.milestone_id == milestone_id)
            .values(status=status)
        )

    async def cancel_plan(self, team_id: str) -> None:
        await self._session.execute(
            delete(team_milestones).where(team_milestones.c.team_id == team_id)
        )

    async def teams_of(self, agent_id: str) -> list[TeamContact]:
        rows = await self._session.execute(select(teams).where(teams.c.agent_id == agent_id))
        return [team_of(r) for r in rows.all()]

    async def budgets(self, team_ids: Sequence[str]) -> dict[str, TeamBudget]:
        query = select(team_budgets).where(team_budgets.c.team_id.in_(team_ids))
        rows = (await self._session.execute(query)).all()
        return {
            r.team_id: TeamBudget(
                team_id=r.team_id,
                allocated_cents=r.allocated_cents,
                approved_cents=r.approved_cents,
                closed=r.closed,
                withdrawn=r.withdrawn,
            )
            for r in rows
        }

    async def milestones(self, team_ids: Sequence[str]) -> list[TrackedMilestone]:
        query = select(team_milestones).where(team_milestones.c.team_id.in_(team_ids))
        return [
            TrackedMilestone(
                milestone_id=r.milestone_id,
                team_id=r.team_id,
                key=r.key,
                title=r.title,
                due_date=r.due_date,
                status=r.status,
            )
            for r in (await self._session.execute(query)).all()
        ]

    async def waiting(self, team_ids: Sequence[str]) -> list[WaitingExpense]:
        query = select(waiting_expenses).where(waiting_expenses.c.team_id.in_(team_ids))
        return [
            WaitingExpense(
                expense_id=r.expense_id,
                team_id=r.team_id,
                fundable_cents=r.fundable_cents,
                submitted_at=r.submitted_at,
            )
            for r in (await self._session.execute(query)).all()
        ]


def _milestone_values(m: TrackedMilestone) -> dict[str, Any]:
    return {
        "milestone_id": m.milestone_id,
        "team_id": m.team_id,
        "key": m.key,
        "title": m.title,
        "due_date": m.due_date,
        "status": m.status,
    }


class SqlDigests:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def undecided(self, week: str) -> list[Agent]:
        decided = and_(digests.c.agent_id == agents.c.id, digests.c.week == week)
        query = (
            select(agents)
            .select_from(agents.outerjoin(digests, decided))
            .where(
                agents.c.retired_at.is_(None),
                agents.c.digest_weekday.is_not(None),
                digests.c.agent_id.is_(None),
            )
            .order_by(agents.c.id)
        )
        return [agent_of(r) for r in (await self._session.execute(query)).all()]

    async def claim(
        self, agent_id: str, week: str, *, outcome: str, notification_id: str | None, now: datetime
    ) -> bool:
        stmt = (
            conflict_insert(self._session, digests)
            .values(
                agent_id=agent_id,
                week=week,
                outcome=outcome,
                notification_id=notification_id,
                decided_at=now,
            )
            .on_conflict_do_nothing(index_elements=[digests.c.agent_id, digests.c.week])
            .returning(digests.c.agent_id)
        )
        return (await self._session.execute(stmt)).first() is not None
